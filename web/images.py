"""Published images: GET /i/<token>.png serves a digest's chart that a channel sends by URL (Zalo's sendPhoto)
while it is valid; an unknown or expired token is 404 (the same answer, so nothing tells them apart)."""

from __future__ import annotations

import re

from aiohttp import web

from web.context import WebContext

PATH = "/i/{name}"
_NAME = re.compile(r"([A-Za-z0-9_-]{16,64})\.png")


def setup(app: web.Application, ctx: WebContext) -> None:
    async def image(request: web.Request) -> web.StreamResponse:
        from storage.repo import images

        found = _NAME.fullmatch(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound(text="not found")
        async with ctx.db.read() as conn:
            png = await images.get(conn, found.group(1), ctx.clock())
        if png is None:
            raise web.HTTPNotFound(text="not found")
        return web.Response(
            body=png,
            content_type="image/png",
            headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    app.router.add_get(PATH, image)
