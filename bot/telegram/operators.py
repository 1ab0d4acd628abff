"""Operator commands in a private chat with the bot (/campaigns, /stats, /launch, /close, /links)."""

from __future__ import annotations

from aiogram import Router


def setup() -> Router:
    router = Router(name="operators")
    return router
