"""Malformed input gets a 4xx page, never a 500/503 and never a traceback in the log: cookies that are not
UTF-8, forms in the wrong charset or with broken multipart bodies, numbers of 5,000 digits or in other scripts'
digits, control characters in the login's `next`, and JSON nested 100,000 deep on the webhook."""

from __future__ import annotations

import logging
from urllib.parse import quote

import pytest

from bot.app import Application
from tests.telegram.harness import WEBHOOK_SECRET
from tests.web.dashboard_support import PASSWORD, Client, add_accounts, csrf_of
from tests.web.raw_http import Headers, RawReply, cookie_value, errors_logged, send

FORM = b"application/x-www-form-urlencoded"
HUGE = "9" * 5000
OTHER_DIGITS = ["٧٠", "７０", "²", "-0"]  # Arabic-Indic, full-width, superscript (isdigit, int refuses), "-0"


@pytest.fixture(autouse=True)
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


async def citizen_form(app: Application, path: str = "/s/hn-2026/70") -> tuple[Headers, str]:
    """A new visitor's cookie header and the CSRF token of their first page."""
    page = await send(app.web_port, "GET", path.encode())
    assert page.status == 200, page.text[:300]
    cookie = cookie_value(page, "khaosat_r")
    assert cookie
    return [(b"Cookie", b"khaosat_r=" + cookie.encode())], csrf_of(page.text)


async def operator(app: Application) -> tuple[Headers, str]:
    """A logged-in operator's cookie header and a CSRF token."""
    await add_accounts(app.db)
    async with Client(app) as client:
        assert (await client.login("op")).status == 303
        session = client.cookie("khaosat_session")
        token = await client.csrf()
    return [(b"Cookie", f"khaosat_session={session}".encode())], token


def assert_bilingual_400(reply: RawReply) -> None:
    assert reply.status == 400, (reply.status, reply.text[:300])
    assert reply.headers["content-type"].startswith("text/html")
    assert "Yêu cầu không hợp lệ" in reply.text and "Bad request" in reply.text


async def test_cookies_that_are_not_utf8_make_a_new_visitor_or_no_session(
    web_app: Application, logs: pytest.LogCaptureFixture
) -> None:
    port = web_app.web_port
    bad = b"\xff\xfe\xc3("
    for name in (b"khaosat_r", b"khaosat_back"):
        reply = await send(port, "GET", b"/s/hn-2026/70", [(b"Cookie", name + b"=" + bad)])
        assert reply.status == 200 and "khaosat_r=" in " ".join(reply.set_cookies)  # a new visitor
    reply = await send(port, "GET", b"/dashboard/campaigns", [(b"Cookie", b"khaosat_session=" + bad)])
    assert reply.status == 303 and reply.headers["location"].startswith("/dashboard/login")
    reply = await send(
        port, "GET", b"/dashboard/login", [(b"Cookie", b"khaosat_login=" + bad + b"; khaosat_flash=\xff")]
    )
    assert reply.status == 200
    reply = await send(port, "POST", b"/dashboard/logout", [(b"Cookie", b"khaosat_session=" + bad)])
    assert reply.status == 403
    assert errors_logged(logs) == []


async def test_unreadable_forms_get_the_bilingual_400_page_on_every_form(
    web_app: Application, logs: pytest.LogCaptureFixture
) -> None:
    port = web_app.web_port
    visitor, csrf = await citizen_form(web_app)
    session, token = await operator(web_app)
    bodies: list[tuple[bytes, bytes]] = [
        (FORM + b"; charset=klingon", b"csrf=" + token.encode()),  # an unknown charset
        (FORM, b"csrf=x&text=\xff\xfe"),  # not UTF-8
        (FORM + b"; charset=utf-8", b"text=\xc3("),  # declared UTF-8, and it is not
        (b"multipart/form-data; boundary=zz", b"--zz\r\ngarbage"),  # a broken part
        (b"multipart/form-data; boundary=zz", b'--zz\r\nContent-Disposition: form-data; name="a"\r\n\r\nx'),
        (b"multipart/form-data", b"--\r\n"),  # no boundary
    ]
    posts = [
        ("/s/hn-2026/70", visitor),
        ("/s/hn-2026", visitor),
        ("/dashboard/login", []),
        ("/dashboard/logout", session),
        ("/dashboard/codes", session),
        ("/dashboard/digests/test", session),
        ("/dashboard/campaigns/hn-2026/launch", session),
        ("/dashboard/campaigns/hn-2026/close", session),
    ]
    for path, cookies in posts:
        for content_type, body in bodies:
            reply = await send(port, "POST", path.encode(), [*cookies, (b"Content-Type", content_type)], body)
            assert_bilingual_400(reply)
        if path.startswith("/dashboard/"):
            assert "Không đọc được yêu cầu này" in reply.text and "This request could not be read" in reply.text
    # the survey's page is in the visitor's language first, with a link back to the survey
    reply = await send(port, "POST", b"/s/hn-2026/70", [*visitor, (b"Content-Type", FORM)], b"csrf=\xff")
    assert 'href="/s/hn-2026"' in reply.text
    assert errors_logged(logs) == [], csrf


async def test_numbers_of_5000_digits_or_other_digits_are_refused_politely(
    web_app: Application, logs: pytest.LogCaptureFixture
) -> None:
    port = web_app.web_port
    session, token = await operator(web_app)
    visitor, csrf = await citizen_form(web_app)
    for value in [HUGE, *OTHER_DIGITS]:
        v = quote(value)
        for path in [
            f"/dashboard/campaigns/hn-2026?page={v}",
            f"/dashboard/campaigns/hn-2026?province={v}",
            f"/dashboard/campaigns/hn-2026/chart.png?ward={v}",
            f"/dashboard/oversight/audit?days={v}",
            f"/dashboard/digests?scope={v}",
            f"/dashboard/digests?scope=70,{v}",
            f"/dashboard/annual?year={v}",
            f"/dashboard/annual?dimension={v}",
            f"/dashboard/annual.html?year={v}",
        ]:
            reply = await send(port, "GET", path.encode(), session)
            assert reply.status < 500, (path, reply.status, reply.text[:300])
            if "dimension=" not in path:  # a dimension that is not one shows the first one
                assert reply.status in (400, 404), (path, reply.status)
        if value.isdigit() and len(value) < 10:
            for path in [
                f"/dashboard/campaigns/hn-2026/wards/{v}",
                f"/dashboard/campaigns/hn-2026/wards/{v}/trends.csv",
            ]:
                reply = await send(port, "GET", path.encode(), session)
                assert reply.status == 404, (path, reply.status)  # ٧٠ is not ward 70
        form = f"csrf={quote(token)}&chat={v}&scope={v}&days={v}&dimensions={v}&schedule=daily+08:00&language=vi"
        for path in ("/dashboard/codes", "/dashboard/digests/test"):
            reply = await send(port, "POST", path.encode(), [*session, (b"Content-Type", FORM)], form.encode())
            assert reply.status < 500, (path, value, reply.status, reply.text[:300])
            assert reply.status == 400 or (path.endswith("/test") and value == "-0"), (path, value, reply.status)
        body = f"csrf={quote(csrf)}&u=abcdefgh12345&r={v}&q=consent&action=next&value=1".encode()
        reply = await send(port, "POST", b"/s/hn-2026/70", [*visitor, (b"Content-Type", FORM)], body)
        assert reply.status < 500, (value, reply.status)
    assert errors_logged(logs) == []


@pytest.mark.parametrize("control", ["\r\nX-Injected: 1", "\x00", "\t", "\x7f", " ", "é"])
async def test_a_next_with_control_characters_still_logs_in_and_goes_home(
    web_app: Application, logs: pytest.LogCaptureFixture, control: str
) -> None:
    await add_accounts(web_app.db)
    async with Client(web_app) as client:
        page = await client.get("/dashboard/login?next=" + quote(f"/dashboard/campaigns/hn-2026{control}"))
        assert page.status == 200 and 'name="next" value="/dashboard/campaigns"' in page.text
        form = {"csrf": csrf_of(page.text), "name": "op", "password": PASSWORD}
        reply = await client.post("/dashboard/login", {**form, "next": f"/dashboard/campaigns/hn-2026{control}"})
        assert reply.status == 303 and reply.location == "/dashboard/campaigns"
        assert client.cookie("khaosat_session")
        assert (await client.get("/dashboard/campaigns")).status == 200
        # a plain next still works
        assert safe_next_of("/dashboard/campaigns/hn-2026?page=2") == "/dashboard/campaigns/hn-2026?page=2"
    assert errors_logged(logs) == []


def safe_next_of(value: str) -> str:
    from web.dashboard import safe_next

    return safe_next(value)


async def test_json_nested_100000_deep_on_the_webhook_is_a_400(
    webhook_app: Application, logs: pytest.LogCaptureFixture
) -> None:
    secret = [(b"X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET.encode()), (b"Content-Type", b"application/json")]
    for body in (
        b"[" * 100_000 + b"]" * 100_000,
        b'{"update_id": 1, "message": ' + b'{"a":' * 100_000 + b"1" + b"}" * 100_001,
        b'{"update_id": 1, "message": {"text": ' + b"[" * 900 + b"]" * 900 + b"}}",
    ):
        reply = await send(webhook_app.web_port, "POST", b"/telegram/webhook", secret, body)
        assert reply.status == 400, (reply.status, reply.text[:200])
    assert errors_logged(logs) == []


async def test_broken_http_is_answered_400_and_logged_in_one_line(
    web_app: Application, logs: pytest.LogCaptureFixture
) -> None:
    for target in ("/s/hn-2026/٧٠".encode(), b"/s/\xff", b"/dashboard/\x01"):
        reply = await send(web_app.web_port, "GET", target)
        assert reply.status == 400
    assert errors_logged(logs) == []
    assert any("answered 400" in r.getMessage() for r in logs.records if r.name == "aiohttp.server")
