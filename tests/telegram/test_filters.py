"""Every filter of the bot's routers runs on the event loop: aiogram runs a synchronous one (a plain F
filter) in a thread per update, which put /start and consent far behind the answers under load."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import F
from aiogram.types import Chat, Message, User

from bot.telegram.dispatcher import build_dispatcher
from bot.telegram.filters import Magic


def test_every_filter_of_every_router_is_awaited_on_the_loop() -> None:
    dp = build_dispatcher(app=None)  # type: ignore[arg-type]
    checked = 0
    for router in dp.chain_tail:
        for observer in router.observers.values():
            for flt in observer._handler.filters or []:  # the router's own filters
                assert flt.awaitable, f"{router.name}: {flt.callback!r} runs in a thread"
                checked += 1
            for handler in observer.handlers:
                assert handler.awaitable, f"{router.name}: handler {handler.callback!r} runs in a thread"
                for flt in handler.filters or []:
                    assert flt.awaitable, f"{router.name}: {flt.callback!r} runs in a thread"
                    checked += 1
    assert checked > 20


@pytest.mark.parametrize(
    ("chat_type", "sender", "expected"),
    [("private", True, True), ("group", True, False), ("private", False, False)],
)
async def test_magic_checks_what_the_plain_filter_checks(chat_type: str, sender: bool, expected: bool) -> None:
    user = User(id=5, is_bot=False, first_name="A") if sender else None
    message = Message(message_id=1, date=0, chat=Chat(id=5, type=chat_type), from_user=user, text="hi")
    results: list[Any] = []
    for flt in (Magic(F.chat.type == "private"), Magic(F.from_user)):
        results.append(await flt(message))
    assert all(results) is expected
