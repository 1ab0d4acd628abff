"""Data-quality flags of completed responses (the rules are `flows.quality`'s). A completing answer carries
its flags in its own write (`flows.conversation.decide` decides them from the answers); `assess` computes
them again from what is stored: for a web response once stored (`many_from_address` needs the admissions),
and for any left without (the scheduler's sweep). Also the one SQL condition that leaves flagged responses
out of the figures (`counted`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from flows import quality
from flows.conversation import WEB
from flows.schema import Survey
from storage.repo.sql import answer, campaign, response, web_admission

WINDOW = timedelta(hours=1)
"""`many_from_address` counts completions from the same address in the hour up to a response's completion."""


async def assess(conn: AsyncConnection, response_id: int, survey: Survey) -> tuple[str, ...] | None:
    """Compute and store the flags of a completed response (again: the same result); None when it is not
    completed."""
    r = (
        await conn.execute(
            sa.select(
                response.c.status,
                response.c.started_at,
                response.c.completed_at,
                response.c.fixed,
                response.c.campaign_id,
                response.c.channel,
            ).where(response.c.id == response_id)
        )
    ).first()
    if r is None or r.status != "completed" or r.completed_at is None:
        return None
    fixed = set(r.fixed or ())
    rows = (
        await conn.execute(
            sa.select(answer.c.question_id, answer.c.value, answer.c.value_num).where(
                answer.c.response_id == response_id
            )
        )
    ).all()
    answers: dict[str, Any] = {
        a.question_id: a.value_num if a.value_num is not None else a.value for a in rows if a.question_id not in fixed
    }
    same = 0 if r.channel != WEB else await _same_address(conn, response_id, r.completed_at)
    flags = quality.assess(survey, quality.CompletedResponse(r.started_at, r.completed_at, answers, int(same)))
    text = quality.stored(flags)
    await conn.execute(response.update().where(response.c.id == response_id).values(quality_flags=text))
    return quality.parse(text)


async def _same_address(conn: AsyncConnection, response_id: int, completed_at: Any) -> int:
    """Web completions from the address this response was admitted from, in the hour up to its completion (only
    web responses have an admission: the others need not ask)."""
    mine = web_admission.alias("mine")
    return int(
        (await conn.execute(
            sa.select(sa.func.count())
            .select_from(web_admission)
            .join(response, response.c.id == web_admission.c.response_id)
            .join(
                mine,
                (mine.c.campaign_id == web_admission.c.campaign_id)
                & (mine.c.address_key == web_admission.c.address_key),
            )
            .where(
                mine.c.response_id == response_id,
                response.c.status == "completed",
                response.c.completed_at > completed_at - WINDOW,
                response.c.completed_at <= completed_at,
            )
        )).scalar_one()
    )


async def unassessed(conn: AsyncConnection, limit: int = 500) -> list[tuple[int, int]]:
    """(response id, campaign id) of completed responses without flags yet (their process stopped between the
    completion and the assessment), oldest first."""
    q = (
        sa.select(response.c.id, response.c.campaign_id)
        .where(response.c.status == "completed", response.c.quality_flags.is_(None))
        .order_by(response.c.id)
        .limit(limit)
    )
    return [(int(r.id), int(r.campaign_id)) for r in (await conn.execute(q)).all()]


async def assess_pending(conn: AsyncConnection, survey_of: Callable[[int], Any], limit: int = 500) -> int:
    """Assess the completed responses left without flags; `survey_of(campaign id)` is awaitable -> Survey."""
    done = 0
    for rid, cid in await unassessed(conn, limit):
        await assess(conn, rid, await survey_of(cid))
        done += 1
    return done


def counted(campaign_ids: int | Sequence[int]) -> sa.ColumnElement[bool]:
    """The responses that count in figures: those without quality flags (or not assessed yet), and every
    response of a campaign that includes flagged ones (`campaign.include_flagged`). The one place this is decided,
    for SQLite and PostgreSQL; an uncorrelated subquery, evaluated once per statement."""
    ids = [campaign_ids] if isinstance(campaign_ids, int) else list(campaign_ids)
    including = sa.select(campaign.c.id).where(campaign.c.id.in_(ids), campaign.c.include_flagged == sa.true())
    return sa.or_(sa.func.coalesce(response.c.quality_flags, "") == "", response.c.campaign_id.in_(including))


async def flag_counts(conn: AsyncConnection, campaign_id: int, wards: Sequence[int] | None = None) -> dict[str, int]:
    """Completed responses with each flag, and "any" for those with at least one."""
    q = sa.select(response.c.quality_flags, sa.func.count().label("n")).where(
        response.c.campaign_id == campaign_id,
        response.c.status == "completed",
        sa.func.coalesce(response.c.quality_flags, "") != "",
    )
    if wards is not None:
        q = q.where(response.c.ward_code.in_(list(wards)))
    counts: dict[str, int] = {f.value: 0 for f in quality.Flag}
    counts["any"] = 0
    for row in (await conn.execute(q.group_by(response.c.quality_flags))).all():
        counts["any"] += int(row.n)
        for name in quality.parse(row.quality_flags):
            counts[name] = counts.get(name, 0) + int(row.n)
    return counts


async def survey_of_campaign(conn: AsyncConnection, campaign_id: int) -> Survey:
    from storage.repo import surveys

    survey_id = (await conn.execute(sa.select(campaign.c.survey_id).where(campaign.c.id == campaign_id))).scalar_one()
    return await surveys.definition(conn, int(survey_id))
