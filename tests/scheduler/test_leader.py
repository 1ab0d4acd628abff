"""Only one scheduler is active: a lock file (SQLite) or an advisory lock (PostgreSQL); a standby takes over."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.context import AppContext
from bot.telegram.sender import TelegramTransport
from scheduler.app import SchedulerBusy, SchedulerService
from scheduler.leader import FileLeader, PostgresLeader, SoleLeader, leader_for, sqlite_lock_path
from storage.conversation import ConversationService
from storage.db import Database
from tests.conftest import PG_SERVER, Clock
from tests.scheduler.conftest import SECRET, make_scheduler, settings


async def test_lock_file_admits_one_leader(tmp_path: Path) -> None:
    path = tmp_path / "k.db.scheduler.lock"
    first, second = FileLeader(path), FileLeader(path)
    assert await first.try_acquire() and await first.alive()
    assert not await second.try_acquire()
    await first.release()
    assert not await first.alive()
    assert await second.try_acquire()
    await second.release()


async def test_lock_file_is_released_when_the_holder_dies(tmp_path: Path) -> None:
    path = tmp_path / "k.db.scheduler.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"fd = os.open({str(path)!r}, os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('locked', flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        standby = FileLeader(path)
        assert not await standby.try_acquire()
        holder.kill()  # no clean-up: the operating system drops the lock
        holder.wait(10)
        assert await standby.try_acquire()
        await standby.release()
    finally:
        holder.kill()
        holder.wait(10)


def test_leader_choice(tmp_path: Path) -> None:
    file_db = Database(f"sqlite+aiosqlite:///{tmp_path / 'k.db'}")
    assert sqlite_lock_path(file_db) == tmp_path / "k.db.scheduler.lock"
    assert isinstance(leader_for(file_db), FileLeader)
    assert isinstance(leader_for(Database("sqlite+aiosqlite:///:memory:")), SoleLeader)
    assert isinstance(leader_for(Database("postgresql://postgres@127.0.0.1/x")), PostgresLeader)


async def test_advisory_lock_admits_one_leader_and_survives_nothing(pg_server: str) -> None:
    key = secrets.randbits(62)
    first, second = PostgresLeader(PG_SERVER, key), PostgresLeader(PG_SERVER, key)
    try:
        assert await first.try_acquire() and await first.alive()
        assert not await second.try_acquire()
        # the first scheduler's server session dies (the process was killed, the network broke)
        admin = await asyncpg.connect(PG_SERVER)
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", first.backend_pid)
        finally:
            await admin.close()
        assert not await first.alive()
        assert await second.try_acquire()
        assert not await first.try_acquire()
    finally:
        await first.release()
        await second.release()


def _service(db: Database, clock: Clock, tmp_path: Path, bot: Any) -> SchedulerService:
    cfg = settings(tmp_path, db.url, scheduler_lock_file=tmp_path / "lock", scheduler_standby_seconds=0.05)
    app = AppContext(cfg, db, ConversationService(db, SECRET, clock), clock)
    return make_scheduler(app, TelegramTransport(bot), health_interval=0.05)


async def test_standby_takes_over_when_the_leader_stops_or_dies(
    db: Database, clock: Clock, tmp_path: Path, bot: Any
) -> None:
    first, second = _service(db, clock, tmp_path, bot), _service(db, clock, tmp_path, bot)
    await first.start()
    try:
        assert await first.wait_leading(10)
        await second.start()
        assert not await second.wait_leading(0.3)  # a standby
        with pytest.raises(SchedulerBusy, match="another scheduler is active"):
            await _service(db, clock, tmp_path, bot).run_once()
        await asyncio.wait_for(_until(lambda: first.last_tick is not None), 10)  # the leader ran its first tick
        assert second.last_tick is None

        if isinstance(first.leader, PostgresLeader):  # the leader's database session dies
            admin = await asyncpg.connect(PG_SERVER)
            try:
                await admin.execute("SELECT pg_terminate_backend($1)", first.leader.backend_pid)
            finally:
                await admin.close()
        else:  # the leader stops
            await first.stop()
        assert await second.wait_leading(10)
        await asyncio.wait_for(_until(lambda: second.last_tick is not None), 10)
        await asyncio.wait_for(_until(lambda: not first.is_leader), 10)  # the old leader stepped down
    finally:
        await first.stop()
        await second.stop()


async def _until(predicate: Any) -> None:
    while not predicate():
        await asyncio.sleep(0.01)
