"""A campaign's responses with their answers, read in batches for exports (memory stays bounded).

Keyset pagination on response id: each batch is two queries (the responses, then their answers), the same
on SQLite and PostgreSQL, with no server-side cursor to keep open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.repo.sql import admin_unit, answer, respondent, response

STATUSES = ("in_progress", "completed", "abandoned")


@dataclass(frozen=True)
class ResponseRow:
    id: int
    respondent_key: str
    ward_code: int | None
    ward_name: str | None
    status: str
    started_at: datetime
    completed_at: datetime | None
    last_activity_at: datetime
    answers: dict[str, Any]
    """Question id -> stored value (None for a skipped question; hidden questions are absent)."""
    channel: str = ""
    """telegram, web, or "simulated" (the demo's made-up responses)."""
    quality_flags: str | None = None
    """Data-quality flags, comma-separated ("" none; None not assessed: not completed)."""


def _where(campaign_id: int, status: str | None) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = [response.c.campaign_id == campaign_id]
    if status is not None:
        conditions.append(response.c.status == status)
    return conditions


async def count(conn: AsyncConnection, campaign_id: int, status: str | None = None) -> int:
    q = sa.select(sa.func.count()).select_from(response).where(*_where(campaign_id, status))
    return int((await conn.execute(q)).scalar_one())


async def batches(
    conn: AsyncConnection, campaign_id: int, status: str | None = None, batch_size: int = 1000
) -> AsyncIterator[list[ResponseRow]]:
    """The campaign's responses (of one status, when given) by id, `batch_size` at a time."""
    after = 0
    while True:
        q = (
            sa.select(
                response.c.id,
                respondent.c.key,
                response.c.ward_code,
                admin_unit.c.name,
                response.c.status,
                response.c.started_at,
                response.c.completed_at,
                response.c.last_activity_at,
                response.c.channel,
                response.c.quality_flags,
            )
            .join(respondent, respondent.c.id == response.c.respondent_id)
            .outerjoin(admin_unit, admin_unit.c.code == response.c.ward_code)
            .where(*_where(campaign_id, status), response.c.id > after)
            .order_by(response.c.id)
            .limit(batch_size)
        )
        rows = (await conn.execute(q)).all()
        if not rows:
            return
        first, last = rows[0].id, rows[-1].id
        answers: dict[int, dict[str, Any]] = {r.id: {} for r in rows}
        aq = (
            sa.select(answer.c.response_id, answer.c.question_id, answer.c.value)
            .join(response, response.c.id == answer.c.response_id)
            .where(*_where(campaign_id, status), answer.c.response_id.between(first, last))
        )
        for a in (await conn.execute(aq)).all():
            if a.response_id in answers:
                answers[a.response_id][a.question_id] = a.value
        yield [
            ResponseRow(
                id=r.id,
                respondent_key=r.key,
                ward_code=r.ward_code,
                ward_name=r.name,
                status=r.status,
                started_at=r.started_at,
                completed_at=r.completed_at,
                last_activity_at=r.last_activity_at,
                answers=answers[r.id],
                channel=r.channel,
                quality_flags=r.quality_flags,
            )
            for r in rows
        ]
        after = last
        if len(rows) < batch_size:
            return
