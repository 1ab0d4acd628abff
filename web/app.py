"""Mounts every web part on the application's aiohttp server."""

from __future__ import annotations

from aiohttp import web

from web.context import WebContext


def setup_web(app: web.Application, ctx: WebContext) -> None:
    from web import dashboard, errors, health, images, survey

    errors.install(app)
    health.setup(app, ctx)
    images.setup(app, ctx)
    survey.setup(app, ctx)
    dashboard.setup(app, ctx)
