"""Dashboard login state in the database (`storage.repo.logins`), SQLite and PostgreSQL: how attempts are
counted, and pruning that never waits for a row another transaction holds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from storage.db import Database
from storage.repo import logins
from storage.repo.sql import login_failure

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


async def attempt(db: Database, at: datetime, name: str = "op") -> logins.Failures:
    async with db.write() as conn:
        return await logins.attempt(conn, name, "10.0.0.1", at, WINDOW)


async def test_attempts_are_counted_but_not_while_locked_and_start_afresh_when_stale(db: Database) -> None:
    assert (await attempt(db, T0)).failures == 1
    assert (await attempt(db, T0 + timedelta(seconds=1))).failures == 2
    async with db.write() as conn:
        await logins.lock(conn, "op", "10.0.0.1", T0 + timedelta(minutes=1))
    locked = await attempt(db, T0 + timedelta(seconds=30))
    assert locked.failures == 2 and locked.locked_until == T0 + timedelta(minutes=1)  # not counted while locked
    assert locked.last_at == T0 + timedelta(seconds=1)  # and not moving the window either
    after = await attempt(db, T0 + timedelta(minutes=2))
    assert after.failures == 3 and after.locked_until == T0 + timedelta(minutes=1)  # the lock ran out: counted
    fresh = await attempt(db, T0 + timedelta(minutes=2) + WINDOW + timedelta(seconds=1))
    assert fresh.failures == 1 and fresh.locked_until is None  # 15 minutes without attempts: afresh
    async with db.write() as conn:
        assert await logins.forget_old_failures(conn, T0 + timedelta(hours=1), WINDOW) == 1
        assert await logins.failures(conn, "op", "10.0.0.1") is None


async def test_a_long_lock_out_does_not_end_with_the_count_forgotten(db: Database) -> None:
    for i in range(10):
        await attempt(db, T0 + timedelta(seconds=i))
    end = T0 + timedelta(seconds=9) + WINDOW  # a lock-out as long as the window, from the last attempt
    async with db.write() as conn:
        await logins.lock(conn, "op", "10.0.0.1", end)
        assert await logins.forget_old_failures(conn, end + timedelta(seconds=1), WINDOW) == 0
    assert (await attempt(db, end + timedelta(seconds=1))).failures == 11  # not 1: no five free tries again
    assert (await attempt(db, end + timedelta(seconds=2) + WINDOW)).failures == 1


async def test_times_in_another_zone_are_stored_as_the_same_instant(db: Database) -> None:
    hanoi = timezone(timedelta(hours=7))
    await attempt(db, T0)
    counted = await attempt(db, (T0 + timedelta(seconds=5)).astimezone(hanoi))  # the upsert's update branch
    assert counted.last_at == T0 + timedelta(seconds=5) and counted.last_at.utcoffset() == timedelta(0)


async def test_pruning_skips_a_row_another_transaction_holds(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        async with db.write() as conn:
            await conn.execute(sa.delete(login_failure))  # what earlier tests left on the shared database
            for name in ("held", "free"):
                await logins.attempt(conn, name, "10.0.0.1", T0, WINDOW)
        holding = asyncio.Event()
        release = asyncio.Event()

        async def hold() -> None:
            async with db.write() as conn:  # an attempt in progress: its row is locked until it commits
                await logins.attempt(conn, "held", "10.0.0.1", T0 + timedelta(hours=1), WINDOW)
                holding.set()
                await release.wait()

        holder = asyncio.create_task(hold())
        await holding.wait()
        async with db.write() as conn:
            pruned = await asyncio.wait_for(logins.forget_old_failures(conn, T0 + timedelta(hours=1), WINDOW), 5)
        release.set()
        await holder
        assert pruned == 1  # "free"; "held" was skipped, not waited for
        async with db.read() as conn:
            kept: Any = await logins.failures(conn, "held", "10.0.0.1")
            assert kept is not None and kept.failures == 1 and await logins.failures(conn, "free", "10.0.0.1") is None
    finally:
        await db.dispose()
