"""The bot as a process: SIGTERM finishes updates in flight; Telegram's errors (429, 403) and polling's
acknowledgement after commit."""

from __future__ import annotations

import asyncio
import datetime
import os
import signal
import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from storage.conversation import ConversationService
from storage.db import Database
from storage.repo.sql import answer, channel_address
from tests.conftest import create_live_campaign
from tests.fakebot import FakeBotAPI
from tests.telegram.harness import User, bot_settings, free_port, running

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")
SAFETY_NET = 300.0
"""Seconds before a wait for an event gives up: only for a process that is stuck, never part of the test."""


@pytest.fixture
async def fake() -> Any:
    async with FakeBotAPI() as api:
        yield api


class Output:
    """A process's output, read as it comes (so the pipe never fills, whatever the length of its lines), with
    a wait for a text in it."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.data = bytearray()
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._read(stream))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(65536):
            self.data += chunk
            self._changed.set()
        self._changed.set()

    async def wait_for(self, text: bytes, timeout: float = SAFETY_NET) -> None:
        """Until the output holds `text` (the timeout is a safety net: the test waits for the text itself)."""
        async with asyncio.timeout(timeout):
            while text not in self.data:
                if self._task.done():
                    raise AssertionError(f"the process ended without {text!r}:\n{self.text}")
                self._changed.clear()
                await self._changed.wait()

    async def close(self) -> None:
        await self._task

    async def unless_it_ends(self, proc: asyncio.subprocess.Process, awaitable: Awaitable[T]) -> T:
        """`awaitable`'s result, or a failure with the output at once if the process ends first (it could not
        start, for example), rather than at the safety net's timeout."""
        waiting = asyncio.ensure_future(awaitable)
        ended = asyncio.ensure_future(proc.wait())
        await asyncio.wait({waiting, ended}, return_when=asyncio.FIRST_COMPLETED)
        if not waiting.done():
            waiting.cancel()
            await self.close()
            raise AssertionError(f"the process ended (status {proc.returncode}) first:\n{self.text}")
        ended.cancel()
        return waiting.result()

    @property
    def text(self) -> str:
        return self.data.decode(errors="replace")


@pytest.mark.slow
async def test_sigterm_finishes_the_update_in_flight(fake: FakeBotAPI, tmp_path: Path) -> None:
    """Every step waits for an event (a call reaching the fake Bot API, a line in the log), never for a time:
    the reply is held by the fake until the process has logged that it is stopping, so the update is surely
    in flight when SIGTERM is handled."""
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
        "WEB_PORT": str(free_port()),  # not 8080, which anything else on the machine may hold
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
    assert proc.stdout is not None
    output = Output(proc.stdout)
    try:
        polling = fake.wait_for(lambda: fake.calls_of("getUpdates"), timeout=SAFETY_NET)
        await output.unless_it_ends(proc, polling)  # it started and polls
        fake.hold("sendMessage")  # the reply waits at the fake until released
        update = fake.push_message(601, "/start hn-2026_70")
        replying = fake.wait_for(lambda: fake.calls_of("sendMessage"), timeout=SAFETY_NET)
        await output.unless_it_ends(proc, replying)  # the update is in flight: its reply is held
        proc.send_signal(signal.SIGTERM)
        await output.wait_for(b"stopping: finishing updates in flight")  # SIGTERM handled, the reply still held
        fake.release("sendMessage")
        async with asyncio.timeout(SAFETY_NET):
            await proc.wait()
        await output.close()
    finally:
        fake.release("sendMessage")
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, output.text
    assert fake.messages(601) and "Tôi đồng ý" in str(fake.buttons(fake.messages(601)[-1]))
    assert update in fake.confirmed  # acknowledged before exiting: a restart does not get it again


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
