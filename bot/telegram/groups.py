"""Officials' group chats: /subscribe CODE, /unsubscribe, /digest."""

from __future__ import annotations

from aiogram import Router


def setup() -> Router:
    router = Router(name="groups")
    return router
