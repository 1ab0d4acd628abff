"""What the Zalo channel's handlers share."""

from __future__ import annotations

from dataclasses import dataclass

from bot.context import AppContext
from bot.zalo.client import ZaloClient


@dataclass
class ZaloApp:
    """The application's context and the Zalo API client (what a chat remembers is in the database:
    `bot.zalo.memory`)."""

    ctx: AppContext
    client: ZaloClient
    bot_name: str | None = None
    """The bot's account name (getMe), for the texts that name it."""
