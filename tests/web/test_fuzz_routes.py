"""Every route of the web application (enumerated from its router, so a new route is covered without
touching this file) gets garbage: query strings (5,000-digit and other scripts' digits, bytes that are not
UTF-8, control characters), cookies that are not UTF-8 or absurdly long, bodies in a wrong or unknown
charset, broken multipart, JSON nested 100,000 deep, seeded random bytes. Nothing may answer 5xx or
close the connection without a reply, and nothing may be logged at ERROR or with a traceback.

The requests come logged in as an operator and with a citizen's cookie (and a valid CSRF token in forms), so
that the handlers, not only the login checks, see the garbage. The random bytes come from a fixed seed: a
failure reproduces exactly.
"""

from __future__ import annotations

import itertools
import logging
import random
import re
import time
from urllib.parse import quote

import pytest
from aiohttp import web

from bot.app import Application
from tests.telegram.harness import WEBHOOK_SECRET
from tests.web.dashboard_support import Client, add_accounts, csrf_of
from tests.web.raw_http import Headers, cookie_value, errors_logged, send

SEED = 19
PARAMS = [
    "r",
    "ward",
    "days",
    "scope",
    "page",
    "province",
    "year",
    "dimension",
    "chat",
    "campaign",
    "lang",
    "next",
    "q",
    "status",
    "confirm",
    "done",
    "declined",
    "deleted",
    "fmt",
    "x",
]
FIELDS = "csrf u r q action kind value values text name password next chat scope days dimensions schedule language"
PATH_VALUES = ["hn-2026", "70", "xlsx", "html", "csv", "٧٠", "999999999", "ab%ff", "%01", "é"]
QUERY_VALUES = [
    "9" * 5000,
    quote("٧٠"),
    quote("７０"),
    quote("²"),
    "-0",
    "%ff%fe",
    "%00%0d%0aX-Injected:%201",
    quote("/dashboard/\r\n\t\x7f"),
]
ORDINARY = {"code": "hn-2026", "ward": "70", "fmt": "xlsx"}
COOKIES = ["khaosat_r", "khaosat_back", "khaosat_session", "khaosat_login", "khaosat_flash"]
FORM = "application/x-www-form-urlencoded"


def route_paths(route: web.AbstractRoute) -> list[str]:
    """Request targets (percent-encoded) that reach `route`: first its path with ordinary values (the live
    campaign, ward 70: the route's own page, where the garbage goes), then with odd values that its pattern
    accepts (other scripts' digits, bytes that are not UTF-8, control characters)."""
    info = route.resource.get_info() if route.resource is not None else {}
    if "path" in info:
        return [info["path"]]
    if "prefix" in info:  # static files
        return [info["prefix"] + "/survey.css", info["prefix"] + "/%ff", info["prefix"] + "/..%2F..%2Fpyproject.toml"]
    formatter, pattern = info["formatter"], info["pattern"]
    names = re.findall(r"{(\w+)}", formatter)
    found: list[str] = []
    choices = [sorted(PATH_VALUES, key=lambda v, n=n: v != ORDINARY.get(n)) for n in names]
    for values in itertools.product(*choices):
        decoded = formatter.format(
            **{n: v.replace("%ff", "\udcff").replace("%01", "\x01") for n, v in zip(names, values, strict=True)}
        )
        if pattern.fullmatch(decoded):
            found.append(formatter.format(**{n: quote(v, safe="%") for n, v in zip(names, values, strict=True)}))
    odd = [f for f in found[1:] if any(v in f for v in ("%D9", "%ff", "%01", "%C3"))]
    return [*found[:1], *odd[:3]]


def queries() -> list[str]:
    out = ["?" + "&".join(f"{p}={v}" for p in PARAMS) for v in QUERY_VALUES]
    out += ["?%zz&&==&;;=%", "?" + "a" * 8000, "?next=%2F%2Fevil.example%2F&next=/dashboard/"]
    return out


def bad_cookies(good: str) -> list[bytes]:
    return [
        "; ".join(f"{name}=" for name in COOKIES).encode().replace(b"=", b"=\xff\xfe"),
        "; ".join(f"{name}=\x01\x02" for name in COOKIES).encode(),
        "; ".join(f"{name}={'A' * 4000}" for name in COOKIES).encode(),
        good.encode() + b'; khaosat_r="\\"; =;;khaosat_session=x.y.z',
    ]


def bodies(csrf: str, rng: random.Random) -> list[tuple[str, bytes]]:
    fields = FIELDS.split()
    with_values = [
        (FORM, "&".join(f"{f}={v}" for f in fields).encode())
        for v in ("9" * 5000, quote("٧٠"), "%0d%0a%00", quote("²"), "-0")
    ]
    with_csrf = [(t, b"csrf=" + quote(csrf).encode() + b"&" + body) for t, body in with_values]
    return [
        *with_csrf,
        (FORM + "; charset=klingon", b"csrf=" + csrf.encode()),
        (FORM + "; charset=utf-16", b"\xff\xfe\x00"),
        (FORM, b"csrf=" + csrf.encode() + b"&text=\xff\xfe\xc3("),
        ("multipart/form-data; boundary=zz", b"--zz\r\ngarbage"),
        ("multipart/form-data; boundary=zz", b'--zz\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n\xff'),
        ("multipart/form-data", b"--\r\n\r\n"),
        ("application/json", b"[" * 100_000 + b"]" * 100_000),
        ("application/json", b'{"update_id": "\xff", "message": ' + b"[" * 1000 + b"]" * 1000 + b"}"),
        (FORM, bytes(rng.randrange(256) for _ in range(300))),
        ("multipart/form-data; boundary=" + "b" * 80, bytes(rng.randrange(256) for _ in range(300))),
        ("text/plain; charset=\xff", bytes(rng.randrange(256) for _ in range(100))),
    ]


def order(route: web.AbstractRoute) -> tuple[int, str]:
    """Routes that end the session or close the campaign go last, so that the others run logged in."""
    path = route.resource.canonical if route.resource is not None else ""
    return (1 if path.endswith(("/logout", "/close")) else 0, path)


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_no_route_answers_5xx_or_logs_an_error_for_garbage(
    webhook_app: Application, caplog: pytest.LogCaptureFixture
) -> None:
    app = webhook_app
    assert app.web_app is not None
    caplog.set_level(logging.INFO)
    rng = random.Random(SEED)
    port = app.web_port
    await add_accounts(app.db)
    async with Client(app) as client:
        assert (await client.login("op")).status == 303
        session = client.cookie("khaosat_session")
        csrf = await client.csrf()
    page = await send(port, "GET", b"/s/hn-2026/70")
    citizen = cookie_value(page, "khaosat_r")
    good = f"khaosat_session={session}; khaosat_r={citizen}"
    secret = (b"X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET.encode())
    base: Headers = [(b"Cookie", good.encode()), secret]
    citizen_csrf = csrf_of(page.text)

    routes = sorted(app.web_app.router.routes(), key=order)
    methods = {r.method for r in routes}
    assert {"GET", "POST"} <= methods and any(
        r.resource and r.resource.canonical == "/telegram/webhook" for r in routes
    )
    failures: list[str] = []
    sent = 0
    started = time.monotonic()

    async def check(method: str, target: str | bytes, headers: Headers, body: bytes = b"") -> None:
        nonlocal sent
        raw = target.encode() if isinstance(target, str) else target
        reply = await send(port, method, raw, headers, body)
        sent += 1
        if reply.status >= 500 or reply.status < 100:  # 0: closed without a reply
            failures.append(f"{method} {raw[:120]!r} {[(k, v[:60]) for k, v in headers]}: {reply.status}")

    for route in routes:
        method = route.method if route.method != "*" else "POST"
        targets = route_paths(route)
        assert targets, f"no path reaches {route}"
        for target in targets:
            await check(method, target, base)
        first = targets[0]
        for query in queries():
            await check(method, first + query, base)
        for cookie in bad_cookies(good):
            await check(method, first, [(b"Cookie", cookie), secret])
        if method in ("POST", "GET"):
            token = citizen_csrf if first.startswith("/s") else csrf
            for content_type, body in bodies(token, rng):
                await check(
                    method, first, [*base, (b"Content-Type", content_type.encode("utf-8", "surrogateescape"))], body
                )
        if method == "POST":  # a body in a content encoding that does not decode; a secret that is not UTF-8
            for encoding in (b"gzip", b"deflate"):
                for content_type in (FORM, "application/json"):
                    headers = [*base, (b"Content-Type", content_type.encode()), (b"Content-Encoding", encoding)]
                    await check(method, first, headers, b"\x1f\x8bnot gzip at all")
            odd_secret = [(b"X-Telegram-Bot-Api-Secret-Token", b"\xff"), (b"X-Bot-Api-Secret-Token", b"\xff")]
            await check(method, first, [(b"Cookie", good.encode()), *odd_secret], b"{}")
    elapsed = time.monotonic() - started
    assert not failures, "\n".join(failures[:40])
    assert errors_logged(caplog) == []
    assert sent > 300 and elapsed < 60, (sent, elapsed)
    print(f"{sent} requests to {len(routes)} routes in {elapsed:.1f} s")


def test_route_paths_fill_placeholders_with_what_the_pattern_accepts() -> None:
    app = web.Application()

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response()

    route = app.router.add_get(r"/x/{code}/wards/{ward:\d{1,9}}", handler)
    paths = route_paths(route)
    assert paths[0] == "/x/hn-2026/wards/70"
    assert all(re.fullmatch(r"/x/[^/]+/wards/[^/]+", p) for p in paths)
    assert route_paths(app.router.add_get("/plain", handler)) == ["/plain"]
