"""The dashboard for operators and officials."""

from __future__ import annotations

from aiohttp import web

from bot.context import AppContext


def setup(app: web.Application, ctx: AppContext) -> None:
    pass
