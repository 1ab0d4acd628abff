"""Dashboard login state shared by every process: failed logins per (name, client address), for throttling,
and sessions ended by logging out. The rules (how many failures lock for how long) are `web.auth`'s; this
module only counts and remembers, in the database, so that several processes behind one port count
together and a restart forgets nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.repo.sql import insert, is_postgres, login_failure, web_session_ended


@dataclass(frozen=True)
class Failures:
    failures: int
    last_at: datetime
    locked_until: datetime | None


def _stale(now: datetime, window: timedelta) -> sa.ColumnElement[bool]:
    """A count that starts afresh: no attempt for `window`, and no lock-out for `window` either (counted from
    its end: a lock-out as long as the window would otherwise end with the count forgotten, and five more
    free attempts after each 15-minute lock-out)."""
    t = login_failure
    cut = now - window
    return sa.and_(t.c.last_at < cut, sa.or_(t.c.locked_until.is_(None), t.c.locked_until <= cut))


async def failures(conn: AsyncConnection, name: str, address: str) -> Failures | None:
    row = (
        await conn.execute(
            sa.select(login_failure.c.failures, login_failure.c.last_at, login_failure.c.locked_until).where(
                login_failure.c.name == name, login_failure.c.address == address
            )
        )
    ).first()
    return Failures(row.failures, row.last_at, row.locked_until) if row is not None else None


async def attempt(conn: AsyncConnection, name: str, address: str, now: datetime, window: timedelta) -> Failures:
    """Count a login attempt before its password is checked, and return the pair's state after it: how
    many attempts in a row have not succeeded (this one included), and any lock-out still running, during
    which nothing is counted (the caller refuses without checking). The count starts afresh after `window`
    without attempts, once any lock-out has run out; a success clears it (`clear_failures`). One statement,
    so attempts made at the same moment by any process are each counted (PostgreSQL locks the row; SQLite
    has one writer)."""
    t = login_failure
    stale = _stale(now, window)
    locked = sa.and_(t.c.locked_until.is_not(None), t.c.locked_until > now)
    stmt = (
        insert(conn, t)
        .values(name=name, address=address, failures=1, last_at=now, locked_until=None)
        .on_conflict_do_update(
            index_elements=["name", "address"],
            set_={
                "failures": sa.case((stale, 1), (locked, t.c.failures), else_=t.c.failures + 1),
                "locked_until": sa.case((stale, None), else_=t.c.locked_until),
                "last_at": sa.case((locked, t.c.last_at), else_=sa.literal(now, t.c.last_at.type)),
            },
        )
        .returning(t.c.failures, t.c.last_at, t.c.locked_until)
    )
    row = (await conn.execute(stmt)).one()
    return Failures(row.failures, row.last_at, row.locked_until)


async def lock(conn: AsyncConnection, name: str, address: str, until: datetime) -> None:
    t = login_failure
    await conn.execute(sa.update(t).where(t.c.name == name, t.c.address == address).values(locked_until=until))


async def clear_failures(conn: AsyncConnection, name: str, address: str | None = None) -> int:
    """Forget the failures of `name` from `address` (None: from every address, which ends its lock-outs)."""
    t = login_failure
    where = [t.c.name == name] + ([t.c.address == address] if address is not None else [])
    return int((await conn.execute(sa.delete(t).where(*where))).rowcount or 0)


async def forget_old_failures(conn: AsyncConnection, now: datetime, window: timedelta) -> int:
    """Drop counts nobody added to for `window` whose lock-out (if any) has run out. On PostgreSQL rows that
    another transaction holds are left for the next time (SKIP LOCKED): it never waits, so it cannot
    deadlock with concurrent attempts. Run it in a transaction of its own all the same."""
    t = login_failure
    where = _stale(now, window)
    if is_postgres(conn):
        held = sa.select(t.c.name, t.c.address).where(where).with_for_update(skip_locked=True)
        where = sa.tuple_(t.c.name, t.c.address).in_(held)
    result = await conn.execute(sa.delete(t).where(where))
    return int(result.rowcount or 0)


async def end_session(conn: AsyncConnection, sid: str, until: datetime, now: datetime) -> None:
    """Remember that session `sid` was ended, until its cookie would have expired anyway (and forget the
    sessions whose cookies have)."""
    t = web_session_ended
    await conn.execute(sa.delete(t).where(t.c.until <= now))
    await conn.execute(insert(conn, t).values(sid=sid, until=until).on_conflict_do_nothing(index_elements=["sid"]))


async def session_ended(conn: AsyncConnection, sid: str) -> bool:
    t = web_session_ended
    return (await conn.execute(sa.select(sa.literal(1)).where(t.c.sid == sid))).first() is not None
