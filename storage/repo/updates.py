"""Processed updates: the ids of updates already applied (a redelivery changes nothing), kept for a while."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.repo.sql import processed_update


async def prune(conn: AsyncConnection, before: datetime, limit: int = 5000) -> int:
    """Forget at most `limit` update ids processed before `before` (older than any redelivery); their count."""
    oldest = (
        sa.select(processed_update.c.channel, processed_update.c.update_id)
        .where(processed_update.c.processed_at < before)
        .limit(limit)
    )
    key = sa.tuple_(processed_update.c.channel, processed_update.c.update_id)
    result = await conn.execute(processed_update.delete().where(key.in_(oldest)))
    return int(result.rowcount or 0)


async def claim(conn: AsyncConnection, channel: str, update_id: str, now: datetime) -> bool:
    """Record an update as processed; False when it was already (a redelivery: change nothing)."""
    from storage.repo.sql import insert

    stmt = (
        insert(conn, processed_update)
        .values(channel=channel, update_id=update_id, processed_at=now)
        .on_conflict_do_nothing(index_elements=["channel", "update_id"])
    )
    return bool((await conn.execute(stmt)).rowcount)
