"""Completed responses per day of a campaign, in the campaign's time zone (grouped in SQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.repo.sql import is_postgres, response


async def completed_per_day(
    conn: AsyncConnection, campaign_id: int, timezone: str, wards: Sequence[int] | None = None, *, at: datetime
) -> list[tuple[date, int]]:
    """(local date, completed responses) for the days with completions, oldest first.

    PostgreSQL converts each time exactly (AT TIME ZONE); SQLite shifts by the zone's UTC offset at `at`,
    which is exact for zones without daylight saving time (Asia/Ho_Chi_Minh has none).
    """
    day: sa.ColumnElement[Any]
    if is_postgres(conn):
        day = sa.func.date(sa.func.timezone(timezone, response.c.completed_at))
    else:
        offset = at.astimezone(ZoneInfo(timezone)).utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset is not None else 0
        day = sa.func.date(response.c.completed_at, f"{minutes:+d} minutes")
    q = sa.select(day.label("day"), sa.func.count().label("n")).where(
        response.c.campaign_id == campaign_id, response.c.status == "completed", response.c.completed_at.is_not(None)
    )
    if wards is not None:
        q = q.where(response.c.ward_code.in_(list(wards)))
    q = q.group_by(day).order_by(day)
    out: list[tuple[date, int]] = []
    for row in (await conn.execute(q)).all():
        value = row.day if isinstance(row.day, date) else date.fromisoformat(str(row.day))
        out.append((value, int(row.n)))
    return out


async def per_ward_day(
    conn: AsyncConnection, campaign_id: int, timezone: str, *, at: datetime
) -> dict[tuple[int | None, date], tuple[int, int]]:
    """(ward, local date) -> (responses started that day, responses completed that day), for the days with
    either; the same day rule as `completed_per_day`."""
    found: dict[tuple[int | None, date], tuple[int, int]] = {}
    for position, column in enumerate((response.c.started_at, response.c.completed_at)):
        day: sa.ColumnElement[Any]
        if is_postgres(conn):
            day = sa.func.date(sa.func.timezone(timezone, column))
        else:
            offset = at.astimezone(ZoneInfo(timezone)).utcoffset()
            minutes = int(offset.total_seconds() // 60) if offset is not None else 0
            day = sa.func.date(column, f"{minutes:+d} minutes")
        q = (
            sa.select(response.c.ward_code, day.label("day"), sa.func.count().label("n"))
            .where(response.c.campaign_id == campaign_id, column.is_not(None))
            .group_by(response.c.ward_code, day)
        )
        if position == 1:
            q = q.where(response.c.status == "completed")
        for row in (await conn.execute(q)).all():
            value = row.day if isinstance(row.day, date) else date.fromisoformat(str(row.day))
            started, completed = found.get((row.ward_code, value), (0, 0))
            found[(row.ward_code, value)] = (
                (started + int(row.n), completed)
                if position == 0
                else (
                    started,
                    completed + int(row.n),
                )
            )
    return found
