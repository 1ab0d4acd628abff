"""Magic filters (`F...`) checked on the event loop.

aiogram runs a synchronous filter, which a plain `F` filter is, in a thread (`asyncio.to_thread`): a thread
hop per update and filter, each waiting for the GIL while the loop is busy. Under load through the webhook
that put /start and consent, which pass four or five such filters, hundreds of milliseconds behind the
answers. `Magic(F...)` is the same check as an aiogram `Filter`, which aiogram awaits on the loop.
"""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import TelegramObject
from magic_filter import MagicFilter


class Magic(Filter):
    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: TelegramObject) -> Any:
        return self.magic.resolve(event)

    def __str__(self) -> str:
        return f"Magic({self.magic!r})"
