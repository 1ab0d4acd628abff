"""What the first start of `khaosat run` needs to know: is this database new (no survey, campaign or dashboard
login yet)? Checked and acted on inside one write transaction that holds a lock, so two processes starting
at once on the same new database set it up once (SQLite: the writer lock of `BEGIN IMMEDIATE`; PostgreSQL:
a transaction-scoped advisory lock)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.repo.sql import campaign, is_postgres, survey, web_user

LOCK_KEY = 0x6B68_6173_6174_0001  # "khasat" + 1: any constant shared by every khaosat process


async def lock(conn: AsyncConnection) -> None:
    """Serialise first-run set-ups until the end of the transaction (a no-op on SQLite, whose write
    transactions are serialised already)."""
    if is_postgres(conn):
        await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(LOCK_KEY)))


async def is_new(conn: AsyncConnection) -> bool:
    """True when the database has no published survey, no campaign and no dashboard login."""
    for table in (survey, campaign, web_user):
        if (await conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1))).first() is not None:
            return False
    return True
