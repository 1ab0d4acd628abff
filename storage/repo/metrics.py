"""Counts for /metrics (Prometheus): answers stored, responses by status. Cheap aggregate queries only."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.repo.sql import answer, response

RESPONSE_STATUSES = ("in_progress", "completed", "abandoned")


async def answer_count(conn: AsyncConnection) -> int:
    """Answers stored, over every campaign and channel."""
    return int((await conn.execute(sa.select(sa.func.count()).select_from(answer))).scalar_one())


async def response_counts(conn: AsyncConnection) -> dict[str, int]:
    """Responses per status (every known status present, 0 when none)."""
    q = sa.select(response.c.status, sa.func.count()).group_by(response.c.status)
    found = {status: int(n) for status, n in (await conn.execute(q)).all()}
    return {
        status: found.get(status, 0) for status in (*RESPONSE_STATUSES, *sorted(set(found) - set(RESPONSE_STATUSES)))
    }
