"""Unknown addresses and wrong methods under /s/ and /dashboard/ get the part's bilingual page (with the same
status), not aiohttp's bare "404: Not Found"; everything else keeps its plain answer."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Application
from bot.telegram.transport import SECRET_HEADER, webhook_handler
from tests.web.conftest import base_url
from tests.web.dashboard_support import Client, add_accounts
from tests.web.survey_helpers import Citizen
from web import errors


async def test_survey_pages_for_unknown_addresses(web_app: Application) -> None:
    async with Citizen(web_app) as citizen:
        for path, link in [
            ("/s/hn-2026/70/extra", "/s/hn-2026"),
            ("/s/hn-2026/70/extra/more", "/s/hn-2026"),
            ("/s/hn-2026/abc/", "/s/hn-2026"),  # a handler's own 404
            ("/s/NOT%20A%20CODE/1/2", "/s"),
        ]:
            page = await citizen.get(path, follow=False)
            assert page.status == 404, path
            assert page.headers["Content-Type"].startswith("text/html"), path
            assert page.h1 == "Không tìm thấy trang", path
            assert "Page not found" in page.text and "There is no such page" in page.text
            assert ("Mở trang khảo sát", link) in page.links, path
            assert page.headers["Cache-Control"] == "no-store"
        await citizen.get("/s/hn-2026/70?lang=en", follow=True)
        page = await citizen.get("/s/hn-2026/70/extra")
        assert page.lang == "en" and page.h1 == "Page not found"  # the visitor's language first
        assert page.text.index("Page not found") < page.text.index("Không tìm thấy trang")


async def test_dashboard_pages_for_unknown_addresses_and_wrong_methods(web_app: Application) -> None:
    await add_accounts(web_app.db)
    async with Client(web_app) as client:
        for path in ("/dashboard/nonexistent", "/dashboard/campaigns/hn-2026/wards/abc", "/dashboard/static/x"):
            reply = await client.get(path)
            assert reply.status == 404, path
            assert reply.headers["Content-Type"].startswith("text/html")
            assert "Không có trang này trong bảng điều khiển" in reply.text and "There is no such page" in reply.text
            assert 'data-testid="user-name"' not in reply.text  # nobody logged in: no menu
        reply = await client.get("/dashboard/logout")
        assert reply.status == 405 and reply.headers["Allow"] == "POST"
        assert "Không mở được trang" in reply.text and "Method not allowed" in reply.text
        assert "“Đăng xuất”" in reply.text and "“Log out”" in reply.text
        async with client.session.head(client.base + "/dashboard/nonexistent", allow_redirects=False) as r:
            assert r.status == 404 and await r.read() == b""

        await client.login("op")
        reply = await client.get("/dashboard/logout")
        assert reply.status == 405 and 'data-testid="user-name">op<' in reply.text  # logged in: the menu
        reply = await client.get("/dashboard/campaigns/nope")  # the dashboard's own 404s are unchanged
        assert reply.status == 404 and "Không có đợt khảo sát “nope”." in reply.text


async def test_other_answers_stay_as_they_were(web_app: Application) -> None:
    base = base_url(web_app)
    async with Client(web_app) as client, Citizen(web_app) as citizen:
        reply = await client.get("/dashboard/campaigns")  # not logged in: still the redirect to the login
        assert reply.status == 303 and reply.location.startswith("/dashboard/login")
        assert (await citizen.get("/s/hn-2026/70/", follow=False)).status == 303
        for method, path in [
            ("POST", "/dashboard/nonexistent"),  # not GET: the bare answer
            ("POST", "/s/hn-2026/70/extra"),
            ("PUT", "/dashboard/campaigns"),
            ("GET", "/nonexistent"),  # outside /s/ and /dashboard/
            ("GET", "/static/survey/missing.css"),
            ("GET", "/healthzz"),
            ("GET", "/telegram/webhook"),
        ]:
            async with aiohttp.ClientSession() as session, session.request(method, base + path) as r:
                assert r.status in (404, 405), (method, path)
                assert r.content_type != "text/html" and "<html" not in await r.text(), (method, path)
        async with aiohttp.ClientSession() as session, session.get(base + "/healthz") as r:
            assert r.status in (200, 503) and r.content_type != "text/html"


async def test_the_middleware_lets_other_exceptions_and_the_webhook_through() -> None:
    async def page(request: web.Request, status: int) -> web.StreamResponse:
        return web.Response(text=f"page {status}", status=status, content_type="text/html")

    async def found(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/dashboard/elsewhere")

    async def limited(request: web.Request) -> web.StreamResponse:
        raise web.HTTPTooManyRequests(headers={"Retry-After": "30"})

    async def secret(request: web.Request) -> web.StreamResponse:
        raise web.HTTPUnauthorized(headers={"WWW-Authenticate": "Basic"})

    async def gone(request: web.Request) -> web.StreamResponse:
        raise web.HTTPNotFound(text="custom")

    class Processor:
        bot: Any = None
        lane: Any = None

        async def handle(self, update: Any) -> tuple[bool, None]:
            return False, None  # not acknowledged: 503

    app = web.Application()
    errors.add_page(app, "/dashboard/", page)
    errors.add_page(app, "/s/", page)
    assert app.middlewares.count(errors.middleware) == 1  # installed once
    app.router.add_get("/dashboard/found", found)
    app.router.add_get("/dashboard/limited", limited)
    app.router.add_get("/dashboard/secret", secret)
    app.router.add_get("/dashboard/gone", gone)
    # even a webhook mounted under a prefix keeps its own answers: it returns them rather than raising
    app.router.add_post("/dashboard/hook", webhook_handler(Processor(), "s3cret"))  # type: ignore[arg-type]
    async with TestClient(TestServer(app)) as client:
        r = await client.get("/dashboard/found", allow_redirects=False)
        assert r.status == 302 and r.headers["Location"] == "/dashboard/elsewhere"
        r = await client.get("/dashboard/limited")
        assert r.status == 429 and r.headers["Retry-After"] == "30" and await r.text() != "page 429"
        r = await client.get("/dashboard/secret")
        assert r.status == 401 and r.headers["WWW-Authenticate"] == "Basic"
        r = await client.get("/dashboard/gone")  # a handler's 404 under the prefix: the page
        assert (r.status, await r.text()) == (404, "page 404")
        r = await client.post("/dashboard/hook", data=b"{}")
        assert r.status == 401 and (await r.json())["error"] == "unauthorized"
        r = await client.post("/dashboard/hook", data=b"not json", headers={SECRET_HEADER: "s3cret"})
        assert r.status == 400
        r = await client.post("/dashboard/hook", data=b'{"update_id": 1}', headers={SECRET_HEADER: "s3cret"})
        assert r.status == 503
        r = await client.post("/dashboard/nothing")
        assert r.status == 404 and await r.text() == "404: Not Found"
        r = await client.get("/dashboard/hook")
        assert (r.status, await r.text(), r.headers["Allow"]) == (405, "page 405", "POST")
