"""Fixtures for the operator tests: a CLI environment on SQLite or PostgreSQL (clean for each test)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import clean_database
from tests.fakebot import FakeBotAPI
from tests.operators.helpers import arun

SETTINGS = (
    "OPERATOR_IDS",
    "TELEGRAM_BOT_USERNAME",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_API_BASE",
    "PROVINCE",
    "PUBLIC_URL",
)


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """DATABASE_URL for the CLI (a new SQLite file, or the test PostgreSQL database emptied), in a fresh folder."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("TZ", "Asia/Ho_Chi_Minh")
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    if db_url.startswith("postgresql"):
        arun(db_url, clean_database)
    return db_url


@pytest.fixture
def fake_api() -> Iterator[FakeBotAPI]:
    """The fake Bot API served from its own thread, for CLI commands (which run their own event loop)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = FakeBotAPI()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
