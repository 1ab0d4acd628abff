"""What the channels' handlers share (passed to aiogram handlers as `app`), and helpers every channel uses."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.settings import Settings
from flows.conversation import CampaignChoice
from flows.i18n import Section
from storage.conversation import ConversationService
from storage.db import Database

campaign_texts = Section("campaigns")
"""How a campaign is told apart from another in a list (any channel)."""


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


def choice_labels(choices: tuple[CampaignChoice, ...], lang: str, tz: ZoneInfo) -> list[tuple[CampaignChoice, str]]:
    """Each open campaign's button label: its title, with its dates (in `tz`), then its number of wards, and
    last its code, added where titles alone would read the same."""

    def dates(c: CampaignChoice) -> str:
        start, end = c.starts_at.astimezone(tz), c.ends_at.astimezone(tz)
        return campaign_texts("choice_dates", lang, start=start.strftime("%d/%m"), end=end.strftime("%d/%m/%Y"))

    labels = [c.title for c in choices]
    for detail in (
        dates,
        lambda c: campaign_texts("choice_wards", lang, count=c.wards),
        lambda c: c.code,
    ):
        if len(set(labels)) == len(labels):
            break
        labels = [
            f"{label} · {detail(c)}" if labels.count(label) > 1 else label
            for c, label in zip(choices, labels, strict=True)
        ]
    return list(zip(choices, labels, strict=True))


class KeyedLocks:
    """An asyncio.Lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._users: dict[Hashable, int] = defaultdict(int)

    @asynccontextmanager
    async def __call__(self, key: Hashable) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:
                del self._users[key]
                del self._locks[key]


def transient_errors() -> tuple[type[BaseException], ...]:
    """Failures of the network or the database that will likely go away (a channel adds its API's own)."""
    import asyncpg
    import sqlalchemy.exc

    return (
        OSError,
        asyncio.TimeoutError,
        sqlite3.OperationalError,
        sqlalchemy.exc.OperationalError,
        sqlalchemy.exc.InterfaceError,
        sqlalchemy.exc.DisconnectionError,
        sqlalchemy.exc.TimeoutError,
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.CannotConnectNowError,
        asyncpg.TooManyConnectionsError,
    )
