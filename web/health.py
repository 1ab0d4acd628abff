"""Operations: /healthz (is the database reachable?) and /metrics (Prometheus text format)."""

from __future__ import annotations

from aiohttp import web

from bot.context import AppContext


def setup(app: web.Application, ctx: AppContext) -> None:
    async def healthz(request: web.Request) -> web.Response:
        ok = await ctx.db.ping()
        body = {"status": "ok" if ok else "unavailable", "database": ctx.db.dialect}
        return web.json_response(body, status=200 if ok else 503)

    app.router.add_get("/healthz", healthz)
