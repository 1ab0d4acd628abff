"""Fixtures for web tests: the application's web server on a free port (no Telegram), and a headless
Chromium driven by Playwright (Debian's chromium; .ci/run installs it). Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app import Application
from bot.settings import Settings
from tests.conftest import create_live_campaign
from tests.fakebot import FakeBotAPI
from tests.telegram.harness import bot_settings, free_port, running

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("KHAOSAT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def web_settings(db_url: str, tmp_path: Path, **extra: Any) -> Settings:
    port = free_port()
    values: dict[str, Any] = {
        "database_url": db_url,
        "secret_key": "web-test-secret",
        "secret_file": tmp_path / "secret",
        "web_host": "127.0.0.1",
        "web_port": port,
        "public_url": f"http://127.0.0.1:{port}",
        "scheduler_enabled": False,
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def web_app(db: Any, db_url: str, tmp_path: Path) -> AsyncIterator[Application]:
    """The running application (web only), with a live campaign "hn-2026" over a few Hanoi wards."""
    await create_live_campaign(db, datetime.now(UTC))
    app = Application(web_settings(db_url, tmp_path))
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


@pytest.fixture
async def webhook_app(db: Any, db_url: str, tmp_path: Path) -> AsyncIterator[Application]:
    """The application in webhook mode against the fake Bot API (every route: webhook, survey, dashboard,
    health), with the live campaign "hn-2026"."""
    async with FakeBotAPI() as fake:
        await create_live_campaign(db, datetime.now(UTC))
        async with running(bot_settings(fake, db_url, tmp_path, mode="webhook")) as app:
            yield app


def base_url(app: Application) -> str:
    return f"http://127.0.0.1:{app.web_port}"


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("CI=true but chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("chromium not installed (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        instance = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield instance
        finally:
            await instance.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
