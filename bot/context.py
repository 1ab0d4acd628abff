"""What the channels' handlers share, passed to aiogram handlers as `app`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.settings import Settings
from storage.conversation import ConversationService
from storage.db import Database


def utc_now() -> datetime:
    return datetime.now(UTC)


def _nothing() -> None:
    return None


@dataclass
class AppContext:
    settings: Settings
    db: Database
    service: ConversationService
    clock: Callable[[], datetime] = utc_now
    bot_username: str | None = None
    """Filled from getMe when the bot starts."""
    wake_outbox: Callable[[], None] = _nothing
    """Tell the outbox senders that something was queued (a /digest): set when the scheduler runs here."""
