"""The dashboard over real HTTP against the running application (SQLite and PostgreSQL): logins, sessions,
CSRF, throttling, who sees what, the figures' small-cell rules, and the operators' actions with their audit."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.app import Application
from storage.repo import audit, campaigns, chats, logins, users
from storage.repo.sql import subscription_code
from tests.web.conftest import base_url, web_settings
from tests.web.dashboard_support import (
    PASSWORD,
    Client,
    add_accounts,
    add_draft,
    add_responses,
    add_user,
    csrf_of,
)
from web.auth import LOGIN_COOKIE, SESSION_COOKIE, LoginThrottle


def flash_of(html: str) -> tuple[str, str]:
    """The flash message of a page, split into its Vietnamese and English halves."""
    match = re.search(r'<p class="flash \w+" role="status">(.*?)</p>', html, re.S)
    assert match, "no flash message"
    vi, _, en = unescape(match.group(1)).partition(" / ")
    return vi, en


async def audit_rows(app: Application) -> list[audit.AuditRecord]:
    async with app.db.read() as conn:
        return await audit.list_since(conn)


async def campaign(app: Application, code: str) -> Any:
    async with app.db.read() as conn:
        return await campaigns.get(conn, code)


# --- logging in and out --------------------------------------------------------------------------------------


async def test_login_session_and_logout(web_app: Application) -> None:
    await add_accounts(web_app.db)
    async with Client(web_app) as client:
        reply = await client.get("/dashboard/campaigns/hn-2026")
        assert reply.status == 303
        assert reply.location == "/dashboard/login?next=/dashboard/campaigns/hn-2026"

        reply = await client.login("op", "not the password", next_path="/dashboard/campaigns/hn-2026")
        assert reply.status == 401
        assert "Sai tên đăng nhập hoặc mật khẩu" in reply.text and "Wrong name or password" in reply.text
        assert client.cookie(SESSION_COOKIE) is None

        reply = await client.login("OP", next_path="/dashboard/campaigns/hn-2026")  # names ignore case
        assert reply.status == 303 and reply.location == "/dashboard/campaigns/hn-2026"
        assert "HttpOnly" in reply.headers["Set-Cookie"] and "SameSite=Lax" in reply.headers["Set-Cookie"]
        page = await client.get("/dashboard/campaigns")
        assert page.status == 200 and 'data-testid="user-name">op<' in page.text
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        assert page.headers["Cache-Control"] == "no-store"
        assert (await client.get("/dashboard/login")).status == 303  # already logged in

        stolen = client.cookie(SESSION_COOKIE)
        assert stolen
        assert (await client.post("/dashboard/logout")).status == 403  # no CSRF token
        reply = await client.post("/dashboard/logout", {"csrf": csrf_of(page.text)})
        assert reply.status == 303 and reply.location == "/dashboard/login"
        assert (await client.get("/dashboard/campaigns")).status == 303

        client.set_cookie(SESSION_COOKIE, stolen)  # the cookie from before the logout no longer works
        assert (await client.get("/dashboard/campaigns")).status == 303

    rows = [(r.actor, r.action, r.outcome) for r in await audit_rows(web_app)]
    assert ("web:op", "web.login", "denied") in rows
    assert ("web:op", "web.login", "ok") in rows
    assert ("web:op", "web.logout", "ok") in rows


async def test_login_refuses_a_missing_csrf_token_and_foreign_redirects(web_app: Application) -> None:
    await add_accounts(web_app.db)
    async with Client(web_app) as client:
        reply = await client.post("/dashboard/login", {"name": "op", "password": PASSWORD})
        assert reply.status == 403 and client.cookie(SESSION_COOKIE) is None
        await client.get("/dashboard/login")
        reply = await client.post("/dashboard/login", {"name": "op", "password": PASSWORD, "csrf": "forged"})
        assert reply.status == 403 and client.cookie(SESSION_COOKIE) is None
    for target in ("https://evil.example/", "//evil.example/dashboard/", "/dashboard/..\\evil"):
        async with Client(web_app) as client:
            reply = await client.login("op", next_path=target)
            assert reply.status == 303 and reply.location == "/dashboard/campaigns", target
    async with Client(web_app) as other:  # a login form token from someone else's form is refused
        page = await other.get("/dashboard/login")
        token = csrf_of(page.text)
    async with Client(web_app) as client:
        await client.get("/dashboard/login")
        reply = await client.post("/dashboard/login", {"name": "op", "password": PASSWORD, "csrf": token})
        assert reply.status == 403


async def test_tampered_or_foreign_cookies_are_refused(web_app: Application) -> None:
    await add_accounts(web_app.db)
    async with Client(web_app) as client:
        await client.login("hoankiem")
        token = await client.csrf()
        good = client.cookie(SESSION_COOKIE)
        assert good
        payload, _, rest = good.partition(".")
        for bad in (
            payload[:-2] + ("AA" if not payload.endswith("AA") else "BB") + "." + rest,  # payload changed
            good[:-3] + ("xyz" if not good.endswith("xyz") else "abc"),  # signature changed
            client.cookie(LOGIN_COOKIE) or "x.y.z",  # signed, but for another purpose
            "",
        ):
            client.set_cookie(SESSION_COOKIE, bad)
            reply = await client.get("/dashboard/campaigns")
            assert reply.status == 303 and reply.location.startswith("/dashboard/login"), bad
            reply = await client.post("/dashboard/logout", {"csrf": token})
            assert reply.status == 403, bad
        client.set_cookie(SESSION_COOKIE, good)
        assert (await client.get("/dashboard/campaigns")).status == 200


async def test_disabling_a_user_or_changing_the_password_ends_the_session(web_app: Application) -> None:
    await add_accounts(web_app.db)
    async with Client(web_app) as client:
        assert (await client.login("dongda")).status == 303
        assert (await client.get("/dashboard/campaigns")).status == 200
        async with web_app.db.write() as conn:
            await users.set_disabled(conn, "dongda", True)
        assert (await client.get("/dashboard/campaigns")).status == 303
        assert (await client.login("dongda")).status == 401
        async with web_app.db.write() as conn:
            await users.set_disabled(conn, "dongda", False)
        assert (await client.login("dongda")).status == 303
        from web.auth import hash_password

        async with web_app.db.write() as conn:
            await users.set_password(conn, "dongda", hash_password("a brand new password"))
        assert (await client.get("/dashboard/campaigns")).status == 303
        assert (await client.login("dongda", "a brand new password")).status == 303


async def test_failed_logins_are_throttled(web_app: Application) -> None:
    await add_accounts(web_app.db)
    auth = web_app.web_ctx.auth
    now = [1000.0]
    auth.throttle.clock = lambda: now[0]
    async with Client(web_app) as client:
        for _ in range(5):
            assert (await client.login("op", "wrong password")).status == 401
        reply = await client.login("op", "wrong password")  # the 6th failure starts a lock-out, and says so
        assert reply.status == 429 and int(reply.headers["Retry-After"]) == 61
        assert "Hãy thử lại sau 61 giây" in reply.text and "Try again in 61 seconds" in reply.text
        now[0] += 10
        reply = await client.login("op")  # the right password does not help while locked
        assert reply.status == 429
        assert 50 <= int(reply.headers["Retry-After"]) <= 51
        assert "Đăng nhập sai quá nhiều lần" in reply.text and "Too many failed logins" in reply.text
        assert client.cookie(SESSION_COOKIE) is None
        async with Client(web_app) as other:
            assert (await other.login("hoankiem")).status == 303  # other names are not locked
        now[0] += 51
        reply = await client.login("op", "wrong again")  # the next lock-out doubles
        assert reply.status == 429 and int(reply.headers["Retry-After"]) == 121
        reply = await client.login("op")
        assert reply.status == 429 and 110 <= int(reply.headers["Retry-After"]) <= 121
        now[0] += 121
        assert (await client.login("op")).status == 303
        assert (await client.get("/dashboard/campaigns")).status == 200

    logins = [(r.actor, r.outcome, r.arguments) for r in await audit_rows(web_app) if r.action == "web.login"]
    assert logins[:5] == [("web:op", "denied", {"name": "op"})] * 5
    assert logins[5:] == [
        ("web:op", "denied", {"name": "op", "locked": 61}),  # the failure that locks
        ("web:op", "denied", {"name": "op", "throttled": 51}),  # refused while locked, password unchecked
        ("web:hoankiem", "ok", {"name": "hoankiem"}),
        ("web:op", "denied", {"name": "op", "locked": 121}),
        ("web:op", "denied", {"name": "op", "throttled": 121}),
        ("web:op", "ok", {"name": "op"}),
    ]


@contextlib.asynccontextmanager
async def another_process(app: Application, tmp_path: Path) -> AsyncIterator[Application]:
    """A second application on the same database and secret, as a WEB_WORKERS process or a restart is."""
    other = Application(web_settings(app.settings.database_url, tmp_path))
    await other.start()
    try:
        yield other
    finally:
        await other.stop()


async def test_logging_out_ends_the_session_in_every_process(web_app: Application, tmp_path: Path) -> None:
    await add_accounts(web_app.db)
    async with another_process(web_app, tmp_path) as other, Client(web_app) as client:
        assert (await client.login("op")).status == 303
        kept = client.cookie(SESSION_COOKIE)
        assert kept
        client.base = base_url(other)
        page = await client.get("/dashboard/campaigns")  # one session, whichever process serves it
        assert page.status == 200, page.text[:300]
        assert (await client.post("/dashboard/logout", {"csrf": csrf_of(page.text)})).status == 303
        client.set_cookie(SESSION_COOKIE, kept)
        client.base = base_url(web_app)  # the process that did not see the logout refuses the cookie too
        assert (await client.get("/dashboard/campaigns")).status == 303
    async with another_process(web_app, tmp_path) as restarted, Client(restarted) as client:
        client.set_cookie(SESSION_COOKIE, kept)  # and so does a restarted one
        assert (await client.get("/dashboard/campaigns")).status == 303
        assert (await client.login("op")).status == 303  # a new login works
        assert (await client.get("/dashboard/campaigns")).status == 200


async def test_failed_logins_are_counted_by_every_process(web_app: Application, tmp_path: Path) -> None:
    await add_accounts(web_app.db)
    now = [5_000.0]
    async with another_process(web_app, tmp_path) as other:
        for app in (web_app, other):
            app.web_ctx.auth.throttle.clock = lambda: now[0]
        async with Client(web_app) as first, Client(other) as second:
            for client in (first, second, first, second, first):
                assert (await client.login("op", "wrong password")).status == 401
            reply = await second.login("op", "wrong password")  # the 6th failure of the pair, in any process
            assert reply.status == 429 and int(reply.headers["Retry-After"]) == 61
            assert (await first.login("op")).status == 429  # locked for the other process too
            now[0] += 61 + 900  # the lock-out ran out and 15 minutes passed without a failure
            assert (await first.login("op", "wrong password")).status == 401  # counting starts afresh
            assert (await second.login("op")).status == 303
    async with web_app.db.read() as conn:
        assert await logins.failures(conn, "op", "127.0.0.1") is None  # a success clears the count


async def test_simultaneous_attempts_get_no_more_password_checks(web_app: Application) -> None:
    await add_accounts(web_app.db)
    web_app.web_ctx.auth.throttle.clock = lambda: 9_000.0
    clients = [Client(web_app) for _ in range(12)]
    try:
        pages = [await c.get("/dashboard/login") for c in clients]  # each with its login form
        forms = [{"csrf": csrf_of(p.text), "name": "op", "password": "wrong", "next": ""} for p in pages]
        replies = await asyncio.gather(*(c.post("/dashboard/login", f) for c, f in zip(clients, forms, strict=True)))
    finally:
        for c in clients:
            await c.close()
    assert sorted(r.status for r in replies) == [401] * 5 + [429] * 7
    denied = [r.arguments for r in await audit_rows(web_app) if r.action == "web.login"]
    assert sum("locked" in a for a in denied) == 1  # the 6th attempt: checked, wrong, locks
    assert sum("throttled" in a for a in denied) == 6  # the rest: refused without checking


async def test_simultaneous_failures_of_stale_counts_all_get_their_answer(web_app: Application) -> None:
    """Each failure revives its own stale row while the old ones are pruned: on PostgreSQL, pruning in the
    same transaction deadlocked two such failures (one got a 500 and its count was lost)."""
    await add_accounts(web_app.db)
    now = [20_000.0]
    web_app.web_ctx.auth.throttle.clock = lambda: now[0]
    names = [f"user{i}" for i in range(8)]
    async with web_app.db.write() as conn:
        for name in names:
            await logins.attempt(conn, name, "127.0.0.1", datetime.fromtimestamp(now[0], UTC), timedelta(minutes=15))
    now[0] += 1000  # every count is stale now
    clients = [Client(web_app) for _ in names]
    try:
        pages = [await c.get("/dashboard/login") for c in clients]
        forms = [
            {"csrf": csrf_of(p.text), "name": n, "password": "x", "next": ""} for p, n in zip(pages, names, strict=True)
        ]
        replies = await asyncio.gather(*(c.post("/dashboard/login", f) for c, f in zip(clients, forms, strict=True)))
    finally:
        for c in clients:
            await c.close()
    assert [r.status for r in replies] == [401] * len(names)
    async with web_app.db.read() as conn:
        for name in names:
            counted = await logins.failures(conn, name, "127.0.0.1")
            assert counted is not None and counted.failures == 1  # started afresh, and kept


def test_lock_outs_stop_growing_at_their_ceiling() -> None:
    throttle = LoginThrottle()
    assert [throttle.lock_for(n) for n in (5, 6, 7, 8, 9, 10)] == [0, 60, 120, 240, 480, 900]
    assert throttle.lock_for(100_000) == 900  # no float overflow however long an attacker keeps at it


# --- who sees what -------------------------------------------------------------------------------------------


async def test_an_official_sees_only_their_wards(web_app: Application) -> None:
    await add_accounts(web_app.db)
    await add_responses(web_app.db)
    await add_draft(web_app.db, "hn-draft", [70])
    async with Client(web_app) as client:
        assert (await client.login("hoankiem")).status == 303
        page = await client.get("/dashboard/campaigns")
        assert page.status == 200
        assert 'data-campaign="hn-2026"' in page.text and "hn-draft" not in page.text  # drafts: operators only
        assert "Phường Hoàn Kiếm" in page.text and "export" not in page.text and "launch" not in page.text

        page = await client.get("/dashboard/campaigns/hn-2026")
        assert page.status == 200
        assert 'data-ward="70"' in page.text
        for other in (235, 4, 8, 73, 256):
            assert f'data-ward="{other}"' not in page.text
        assert "Phường Đống Đa" not in page.text
        assert 'data-testid="completed">35<' in page.text  # only ward 70's responses are counted
        assert 'data-testid="actions"' not in page.text

        assert (await client.get("/dashboard/campaigns/hn-2026/wards/70")).status == 200
        assert (await client.get("/dashboard/campaigns/hn-2026/wards/235")).status == 403
        assert (await client.get("/dashboard/campaigns/hn-2026/wards/999999")).status == 404
        assert (await client.get("/dashboard/campaigns/nope")).status == 404
        assert (await client.get("/dashboard/campaigns/hn-draft")).status == 403
        assert (await client.get("/dashboard/campaigns/hn-2026/chart.png?ward=235")).status == 403
        assert (await client.get("/dashboard/campaigns/hn-2026/chart.png?ward=70")).status == 200
        assert (await client.get("/dashboard/campaigns/hn-2026/export.csv")).status == 403
        assert (await client.get("/dashboard/codes")).status == 403
        token = await client.csrf()
        for path in ("/dashboard/campaigns/hn-draft/launch", "/dashboard/campaigns/hn-2026/close", "/dashboard/codes"):
            reply = await client.post(
                path, {"csrf": token, "confirm": "yes", "scope": "all", "schedule": "daily 08:00"}
            )
            assert reply.status == 403, path
    assert (await campaign(web_app, "hn-draft")).status == "draft"
    assert (await campaign(web_app, "hn-2026")).status == "active"
    denied = [(r.actor, r.action) for r in await audit_rows(web_app) if r.outcome == "denied"]
    assert ("web:hoankiem", "campaign.launch") in denied and ("web:hoankiem", "campaign.close") in denied
    assert ("web:hoankiem", "export") in denied and ("web:hoankiem", "chats.code") in denied

    async with Client(web_app) as client:  # another official: another ward, nothing of ward 70
        await client.login("dongda")
        page = await client.get("/dashboard/campaigns/hn-2026")
        assert 'data-ward="235"' in page.text and 'data-ward="70"' not in page.text
        assert "phường 235" in page.text and "phường 70" not in page.text  # ward 70's comments stay there
        assert (await client.get("/dashboard/campaigns/hn-2026/wards/70")).status == 403


async def test_figures_follow_the_small_cell_rules_and_escape_comments(web_app: Application) -> None:
    await add_accounts(web_app.db)
    await add_user(web_app.db, "city", "official", None)  # an official of every ward: the small-cell rules
    await add_responses(web_app.db)
    async with Client(web_app) as client:
        await client.login("op")  # an operator sees exact counts (they can export the raw data anyway)
        page = await client.get("/dashboard/campaigns/hn-2026")
        exact = {ward: page.text.split(f'data-ward="{ward}"')[1].split("</tr>")[0] for ward in (235, 4)}
        assert "9/12" in exact[235] and "&lt;10" not in exact[235]
        assert ">3<" in exact[4] and "&lt;10" not in exact[4].split("</a>")[1]
        assert "Lũy kế" in page.text  # the per-day table's running totals: exact counts only
        few = await client.get("/dashboard/campaigns/hn-2026/wards/4")
        assert "Góp ý số 0 của phường 4" in few.text and 'data-testid="comments-hidden"' not in few.text
        preview = await client.get("/dashboard/digests?scope=4")  # what officials will receive: their rules
        assert preview.status == 200 and "Hoàn thành trong kỳ" in preview.text
        assert "&lt;10" in preview.text
    async with Client(web_app) as client:
        await client.login("city")
        page = await client.get("/dashboard/campaigns/hn-2026")
        assert page.status == 200
        text = page.text
        assert "Lũy kế" not in text  # no running total beside days that may be "<10"
        rows = {ward: text.split(f'data-ward="{ward}"')[1].split("</tr>")[0] for ward in (70, 235, 4, 8)}
        # ward 70: 35 answers, 28 satisfied -> 80% with its Wilson interval, marked unstable
        assert "80% (64–90%) ⚠ ít phản hồi (n=35)" in rows[70]
        assert "#1" in rows[70]  # the only ward with 30+ answers is ranked
        # ward 235: 12 answers -> counts only (9 satisfied: a count below 10 too), no percentage, not ranked
        assert "&lt;10/12" in rows[235] and "%" not in rows[235].split("</a>")[1] and "#" not in rows[235]
        # ward 4: 3 answers -> "<10" only; ward 8: nothing -> "<10"
        assert "&lt;10" in rows[4] and "3" not in rows[4].split("</a>")[1].replace("&lt;10", "")
        assert "&lt;10" in rows[8]
        # all wards: 50 answers -> percentages, unstable
        assert "Chỉ số hài lòng" in text and "⚠ ít phản hồi (n=50)" in text
        # comments are escaped, never markup
        assert "<script>alert" not in text and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in text
        assert "&lt;b&gt;ngập&lt;/b&gt;" in text
        assert "không phải là sai số chọn mẫu" in text and "not margins of sampling error" in text
        assert 'class="timeline"' in text and 'data-testid="chart"' in text
        chart = await client.get("/dashboard/campaigns/hn-2026/chart.png")
        assert chart.status == 200 and chart.headers["Content-Type"] == "image/png"
        assert chart.body.startswith(b"\x89PNG\r\n\x1a\n")
        # ward 235 has fewer than 30 answers for every factor: nothing to draw
        assert (await client.get("/dashboard/campaigns/hn-2026/chart.png?ward=235")).status == 404
        assert (await client.get("/dashboard/campaigns/hn-2026/chart.png?ward=abc")).status == 404
        assert (await client.get("/dashboard/campaigns/nope/chart.png")).status == 404

        ward = await client.get("/dashboard/campaigns/hn-2026/wards/235")
        assert ward.status == 200 and "Phường Đống Đa" in ward.text and "&lt;10/12" in ward.text
        assert 'data-testid="chart"' not in ward.text and "/s/hn-2026/235" in ward.text
        ward = await client.get("/dashboard/campaigns/hn-2026/wards/4")
        assert 'data-testid="completed">&lt;10<' in ward.text
        # 3 people: their comments could be told apart, so an official reads none of them
        assert 'data-testid="comments-hidden"' in ward.text and "của phường 4" not in ward.text
        # 3 responses: which issues were chosen would single people out, so none is listed
        assert 'data-testid="issues-hidden"' in ward.text and 'data-testid="issues"' not in ward.text
        ward = await client.get("/dashboard/campaigns/hn-2026/wards/235")
        assert 'data-testid="issues"' in ward.text and 'data-testid="issues-hidden"' not in ward.text


# --- operators' actions --------------------------------------------------------------------------------------


async def test_an_operator_launches_and_closes_a_campaign(web_app: Application) -> None:
    await add_accounts(web_app.db)
    await add_draft(web_app.db)
    async with Client(web_app) as client:
        await client.login("op")
        page = await client.get("/dashboard/campaigns/hn-draft")
        assert page.status == 200 and 'data-testid="launch"' in page.text
        token = csrf_of(page.text)

        assert (await client.post("/dashboard/campaigns/hn-draft/launch")).status == 403
        assert (await client.post("/dashboard/campaigns/hn-draft/launch", {"csrf": "x" + token})).status == 403
        assert (await campaign(web_app, "hn-draft")).status == "draft"
        assert (await client.post("/dashboard/campaigns/nope/launch", {"csrf": token})).status == 404

        reply = await client.post("/dashboard/campaigns/hn-draft/launch", {"csrf": token})
        assert reply.status == 303 and reply.location == "/dashboard/campaigns/hn-draft"
        assert (await campaign(web_app, "hn-draft")).status == "active"
        page = await client.get(reply.location)
        assert "Đã bắt đầu đợt hn-draft" in page.text and "Campaign hn-draft launched" in page.text
        assert "Đã bắt đầu đợt" not in (await client.get(reply.location)).text  # the message shows once

        reply = await client.post("/dashboard/campaigns/hn-draft/launch", {"csrf": token})  # already active
        assert reply.status == 303
        assert flash_of((await client.get(reply.location)).text) == (
            "Không bắt đầu được đợt hn-draft: đợt này đang diễn ra.",
            "Could not launch campaign hn-draft: it is already active.",
        )

        reply = await client.post("/dashboard/campaigns/hn-draft/close", {"csrf": token})  # not confirmed
        assert reply.status == 303 and (await campaign(web_app, "hn-draft")).status == "active"
        assert "xác nhận" in (await client.get(reply.location)).text
        reply = await client.post("/dashboard/campaigns/hn-draft/close", {"csrf": token, "confirm": "yes"})
        assert reply.status == 303 and (await campaign(web_app, "hn-draft")).status == "closed"
        assert (await client.post("/dashboard/campaigns/nope/close", {"csrf": token, "confirm": "yes"})).status == 404
        await client.get(reply.location)  # (the "closed" message)

        reply = await client.post("/dashboard/campaigns/hn-draft/close", {"csrf": token, "confirm": "yes"})
        assert reply.status == 303  # closed already: each language says why in its own half
        assert flash_of((await client.get(reply.location)).text) == (
            "Không kết thúc được đợt hn-draft: đợt này đã kết thúc từ trước.",
            "Could not close campaign hn-draft: it is already closed.",
        )
        reply = await client.post("/dashboard/campaigns/hn-draft/launch", {"csrf": token})
        assert flash_of((await client.get(reply.location)).text) == (
            "Không bắt đầu được đợt hn-draft: đợt này đã kết thúc, không bắt đầu lại được.",
            "Could not launch campaign hn-draft: it is closed and cannot be launched again.",
        )

        await add_draft(web_app.db, "hn-overlap", [70, 235, 4, 8])  # wards of the live campaign hn-2026
        reply = await client.post("/dashboard/campaigns/hn-overlap/launch", {"csrf": token})
        vi, en = flash_of((await client.get(reply.location)).text)
        assert (await campaign(web_app, "hn-overlap")).status == "draft"
        assert vi.startswith("Không bắt đầu được đợt hn-overlap: trùng thời gian với đợt đang diễn ra hn-2026 (")
        assert (
            "tại 4 phường, xã: Phường Ba Đình (4), Phường Ngọc Hà (8), Phường Hoàn Kiếm (70) và 1 phường, xã khác."
            in vi
        )
        assert vi.endswith("Hãy kết thúc đợt hn-2026 trước, hoặc tạo lại đợt với phường, xã hoặc thời gian khác.")
        assert en.startswith("Could not launch campaign hn-overlap: it overlaps active campaign hn-2026 (")
        assert "in 4 wards: Phường Ba Đình (4), Phường Ngọc Hà (8), Phường Hoàn Kiếm (70) and 1 more." in en
    rows = [(r.actor, r.action, r.outcome, r.arguments.get("code")) for r in await audit_rows(web_app)]
    assert ("web:op", "campaign.launch", "ok", "hn-draft") in rows
    assert ("web:op", "campaign.launch", "error", "hn-draft") in rows
    assert ("web:op", "campaign.close", "ok", "hn-draft") in rows


async def test_an_operator_downloads_exports(web_app: Application) -> None:
    await add_accounts(web_app.db)
    await add_responses(web_app.db)
    async with Client(web_app) as client:
        await client.login("op")
        reply = await client.get("/dashboard/campaigns/hn-2026/export.csv")
        assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/csv")
        assert reply.headers["Content-Disposition"].startswith('attachment; filename="khaosat-hn-2026-')
        assert reply.body.startswith(b"\xef\xbb\xbf")  # the CLI's export: UTF-8 with BOM
        table = list(csv.reader(io.StringIO(reply.body.decode("utf-8-sig"))))
        assert table[0][:3] == ["respondent", "ward_code", "ward_name"]
        assert len(table) == 1 + 51  # 50 completed and 1 in progress
        assert any(row[1] == "70" and row[2] == "Phường Hoàn Kiếm" for row in table[1:])
        completed = await client.get("/dashboard/campaigns/hn-2026/export.csv?status=completed")
        assert len(list(csv.reader(io.StringIO(completed.body.decode("utf-8-sig"))))) == 1 + 50
        xlsx = await client.get("/dashboard/campaigns/hn-2026/export.xlsx")
        assert xlsx.status == 200 and xlsx.body.startswith(b"PK")
        assert (await client.get("/dashboard/campaigns/hn-2026/export.csv?status=odd")).status == 400
        assert (await client.get("/dashboard/campaigns/nope/export.csv")).status == 404
        assert (await client.get("/dashboard/campaigns/hn-2026/export.pdf")).status == 404
    exports = [r for r in await audit_rows(web_app) if r.action == "export"]
    assert [(r.actor, r.outcome, r.arguments["format"], r.arguments["rows"]) for r in exports] == [
        ("web:op", "ok", "csv", 51),
        ("web:op", "ok", "csv", 50),
        ("web:op", "ok", "xlsx", 51),
    ]


async def test_an_operator_issues_digest_codes(web_app: Application) -> None:
    await add_accounts(web_app.db)
    async with Client(web_app) as client:
        await client.login("op")
        page = await client.get("/dashboard/codes")
        assert page.status == 200 and 'data-testid="code-form"' in page.text
        token = csrf_of(page.text)
        form = {"csrf": token, "scope": "70, 235", "schedule": "daily 08:00", "language": "en", "days": "3"}
        assert (await client.post("/dashboard/codes", {k: v for k, v in form.items() if k != "csrf"})).status == 403
        reply = await client.post("/dashboard/codes", form)
        assert reply.status == 303 and reply.location == "/dashboard/codes"
        async with web_app.db.read() as conn:
            issued = await chats.list_codes(conn)
        assert len(issued) == 1
        code = issued[0]
        assert code.scope == (70, 235) and code.schedule == "daily 08:00" and code.language == "en"
        assert 2.9 < (code.expires_at - code.created_at).total_seconds() / 86400 < 3.1
        page = await client.get("/dashboard/codes")
        assert f"/subscribe {code.display}" in page.text and "70, 235" in page.text

        for bad in (
            {"scope": "70,abc"},
            {"scope": "99999999"},
            {"schedule": "every now and then"},
            {"language": "fr"},
            {"days": "0"},
        ):
            reply = await client.post("/dashboard/codes", {**form, **bad})
            assert reply.status == 400, bad
            assert 'class="flash error"' in reply.text
        async with web_app.db.read() as conn:
            count = (await conn.execute(sa.select(sa.func.count()).select_from(subscription_code))).scalar_one()
        assert count == 1
    rows = [(r.actor, r.action, r.outcome) for r in await audit_rows(web_app) if r.action == "chats.code"]
    assert rows[0] == ("web:op", "chats.code", "ok") and ("web:op", "chats.code", "error") in rows


async def test_static_css_and_home(web_app: Application) -> None:
    async with Client(web_app) as client:
        css = await client.get("/dashboard/static/dashboard.css")
        assert css.status == 200 and css.headers["Content-Type"].startswith("text/css")
        assert b"svg.timeline" in css.body
        assert (await client.get("/dashboard")).location == "/dashboard/campaigns"
        login = await client.get("/dashboard/login")
        assert "<script" not in login.text and "style=" not in login.text  # nothing the CSP would block


async def test_an_official_without_wards_in_a_campaign_sees_nothing_of_it(web_app: Application) -> None:
    await add_user(web_app.db, "elsewhere", "official", [226])  # a ward no campaign covers
    await add_responses(web_app.db)
    async with Client(web_app) as client:
        await client.login("elsewhere")
        page = await client.get("/dashboard/campaigns")
        assert page.status == 200 and "hn-2026" not in page.text
        assert (await client.get("/dashboard/campaigns/hn-2026")).status == 403
        assert (await client.get("/dashboard/campaigns/hn-2026/chart.png")).status == 403


async def test_the_campaign_page_shows_its_reminder_policy(web_app: Application) -> None:
    from dataclasses import replace as changed

    await add_accounts(web_app.db)
    async with Client(web_app) as client:
        await client.login("op")
        page = await client.get("/dashboard/campaigns/hn-2026")
        assert (
            "Nhắc nhở: Nhắc sau 24h, 72h kể từ câu trả lời cuối; không gửi 21:00–07:00 "
            '<span class="en">Reminders: After 24h, 72h since the last answer; none 21:00–07:00</span>'
        ) in page.text
        async with web_app.db.write() as conn:
            c = await campaigns.get(conn, "hn-2026")
            policy = changed(c.reminder_policy, delays_hours=(), max_count=0)
            await campaigns.update(conn, "hn-2026", datetime.now(UTC), reminder_policy=policy)
        page = await client.get("/dashboard/campaigns/hn-2026")
        assert "Nhắc nhở: Không gửi nhắc nhở" in page.text and "Reminders: No reminders" in page.text
