"""What every part of the running application shares, passed to aiogram handlers as `app`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.settings import Settings
    from storage.conversation import ConversationService
    from storage.db import Database


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppContext:
    settings: Settings
    db: Database
    service: ConversationService
    clock: Callable[[], datetime] = utc_now
    bot_username: str | None = None
    """Filled from getMe when the bot starts."""
    extras: dict[str, Any] = field(default_factory=dict)
    """Components added by other parts (the scheduler, the web server) for each other."""
