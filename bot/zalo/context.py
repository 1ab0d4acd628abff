"""What the Zalo channel's handlers share."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.context import AppContext
from bot.zalo.client import ZaloClient
from bot.zalo.memory import Memory


@dataclass
class ZaloApp:
    """The application's context, the Zalo API client, and what this process remembers between messages."""

    ctx: AppContext
    client: ZaloClient
    memory: Memory = field(default_factory=Memory)
    bot_name: str | None = None
    """The bot's account name (getMe), for the texts that name it."""
