"""The bot as a process: SIGTERM finishes updates in flight; Telegram's errors (429, 403) and polling's
acknowledgement after commit."""

from __future__ import annotations

import asyncio
import datetime
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from storage.conversation import ConversationService
from storage.db import Database
from storage.repo.sql import answer, channel_address
from tests.conftest import create_live_campaign
from tests.fakebot import FakeBotAPI
from tests.telegram.harness import User, bot_settings, running

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def fake() -> Any:
    async with FakeBotAPI() as api:
        yield api


async def test_sigterm_finishes_the_update_in_flight(fake: FakeBotAPI, tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'k.db'}"
    db = Database(db_url)
    from storage import migrate

    await migrate.prepare(db, 1, auto=True)
    await create_live_campaign(db, datetime.datetime.now(datetime.UTC))
    await db.dispose()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "SECRET_KEY": "k",
        "TELEGRAM_BOT_TOKEN": "123456:TEST",
        "TELEGRAM_API_BASE": fake.base_url,
        "TELEGRAM_MODE": "polling",
        "PYTHONPATH": str(ROOT),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await fake.wait_for(lambda: fake.calls_of("getUpdates"), timeout=90)
        fake.delay("sendMessage", 1.5)  # the reply is slow: the update is in flight when SIGTERM arrives
        update = fake.push_message(601, "/start hn-2026_70")
        await fake.wait_for(lambda: fake.calls_of("sendMessage"), timeout=60)
        proc.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(proc.communicate(), 90)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, output.decode()
    assert fake.messages(601) and "Tôi đồng ý" in str(fake.buttons(fake.messages(601)[-1]))
    assert update in fake.confirmed  # acknowledged before exiting: a restart does not get it again
    assert b"stopping: finishing updates in flight" in output


async def test_429_waits_and_403_marks_unreachable(fake: FakeBotAPI, tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'k.db'}"
    async with running(bot_settings(fake, db_url, tmp_path)) as app:
        await create_live_campaign(app.db, datetime.datetime.now(datetime.UTC))
        hoa = User(fake, 602)
        fake.fail_next("sendMessage", 429, retry_after=1, chat_id=602)
        started = asyncio.get_running_loop().time()
        await hoa.say("/start hn-2026_70")
        assert asyncio.get_running_loop().time() - started >= 1.0
        assert "Tôi đồng ý" in str(hoa.labels())
        await hoa.press("✅ Tôi đồng ý")
        fake.block(602)
        fake.push_button(602, hoa.last_with_buttons(), "18–29 tuổi")
        await fake.wait_idle(10)
        async with app.db.read() as conn:
            assert (await conn.execute(sa.select(channel_address.c.unreachable))).scalar_one() is True
            assert (await conn.execute(sa.select(sa.func.count()).select_from(answer))).scalar_one() == 2
        assert app.processor.failed == 0


async def test_polling_acknowledges_only_after_commit(
    fake: FakeBotAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'k.db'}"
    async with running(bot_settings(fake, db_url, tmp_path)) as app:
        await create_live_campaign(app.db, datetime.datetime.now(datetime.UTC))
        lan = User(fake, 603)
        await lan.say("/start hn-2026_70")
        await lan.press("✅ Tôi đồng ý")
        real = ConversationService.handle
        failures = {"left": 1}

        async def flaky(self: ConversationService, *args: Any, **kwargs: Any) -> Any:
            if failures["left"]:
                failures["left"] -= 1
                raise ConnectionResetError("database went away")
            return await real(self, *args, **kwargs)

        monkeypatch.setattr(ConversationService, "handle", flaky)
        update = fake.push_button(603, lan.last_with_buttons(), "30–44 tuổi")
        await fake.wait_for(lambda: app.processor.retried == 1, timeout=10)
        assert update not in fake.confirmed  # not acknowledged while it failed
        await fake.wait_for(lambda: update in fake.confirmed, timeout=10)
        async with app.db.read() as conn:
            values = dict((await conn.execute(sa.select(answer.c.question_id, answer.c.value))).all())
        assert values["age_group"] == "30_44"
