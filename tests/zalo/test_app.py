"""`khaosat run` runs the Zalo channel beside Telegram and the web whenever ZALO_BOT_TOKEN is set."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import Application, StartupError
from storage.db import Database
from tests.conftest import create_live_campaign
from tests.fakebot import FakeBotAPI
from tests.zalo.conftest import now
from tests.zalo.fake_api import FakeZaloAPI
from tests.zalo.harness import Person, running, zalo_settings


async def test_zalo_and_telegram_run_side_by_side_with_one_scheduler(
    db: Database, fake: FakeZaloAPI, tmp_path: Path
) -> None:
    await create_live_campaign(db, now())
    async with FakeBotAPI() as telegram:
        settings = zalo_settings(
            fake,
            db.url,
            tmp_path,
            "webhook",
            telegram_bot_token="123456:TEST",
            telegram_api_base=telegram.base_url,
            scheduler_enabled=True,
            scheduler_lock_file=tmp_path / "scheduler.lock",
        )
        async with running(settings) as app:
            assert app.scheduler is not None and set(app.scheduler.senders) == {"telegram", "zalo"}
            lan = Person(fake, app)
            assert "đồng ý" in await lan.say("xin chào")
            telegram.push_message(111, "/start")
            await telegram.wait_messages(111, 1)


async def test_a_zalo_only_application_still_runs_the_scheduler(
    db: Database, fake: FakeZaloAPI, tmp_path: Path
) -> None:
    settings = zalo_settings(fake, db.url, tmp_path, scheduler_enabled=True, scheduler_lock_file=tmp_path / "s.lock")
    async with running(settings) as app:
        assert app.scheduler is not None and set(app.scheduler.senders) == {"zalo"}


async def test_a_refused_token_or_a_webhook_without_its_settings_stops_the_start(
    db: Database, fake: FakeZaloAPI, tmp_path: Path
) -> None:
    app = Application(zalo_settings(fake, db.url, tmp_path, zalo_bot_token="999:revoked"))
    with pytest.raises(StartupError, match="Zalo refused ZALO_BOT_TOKEN"):
        await app.start()
    await app.stop()
    app = Application(zalo_settings(fake, db.url, tmp_path, "webhook", zalo_webhook_secret=""))
    with pytest.raises(StartupError, match="ZALO_MODE=webhook needs ZALO_WEBHOOK_URL and ZALO_WEBHOOK_SECRET"):
        await app.start()
    await app.stop()
