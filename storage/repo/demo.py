"""The demo's simulated responses: stored in bulk, counted, deleted, and the demo campaign removed entirely.

Simulated responses are ordinary rows with `response.channel = "simulated"` and respondents keyed
"simulated:<campaign>:<n>", in a campaign marked `campaign.simulated`; they have no chat address, so nothing is
ever sent to them. A few hundred are written with one multi-row statement per table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from flows.simulate import SimulatedResponse
from storage.repo.sql import (
    answer,
    campaign,
    campaign_ward,
    channel_address,
    outbox_message,
    respondent,
    response,
)
from storage.types import numeric

CHANNEL = "simulated"
KEY_PREFIX = "simulated:"


async def add(conn: AsyncConnection, campaign_id: int, code: str, made: Sequence[SimulatedResponse]) -> int:
    """Store simulated responses of a campaign (respondents, responses, answers); returns how many."""
    if not made:
        return 0
    people = [
        {
            "key": f"{KEY_PREFIX}{code}:{i}",
            "language": r.language,
            "consent_at": r.started_at,
            "opted_out": False,
            "invitations": False,
            "created_at": r.started_at,
        }
        for i, r in enumerate(made)
    ]
    # plain multi-row inserts, then the new ids read back by their keys: RETURNING in order would make SQLite
    # insert row by row (one round trip each)
    await conn.execute(respondent.insert(), people)
    keys = sa.select(respondent.c.key, respondent.c.id).where(respondent.c.key.like(f"{KEY_PREFIX}{code}:%"))
    by_key = {row.key: row.id for row in (await conn.execute(keys)).all()}
    respondent_ids = [by_key[p["key"]] for p in people]
    rows = [
        {
            "campaign_id": campaign_id,
            "respondent_id": person,
            "ward_code": r.ward,
            "status": "completed" if r.completed else "in_progress",
            "channel": CHANNEL,
            "fixed": ["ward"],
            "started_at": r.started_at,
            "completed_at": r.completed_at,
            "last_activity_at": r.last_activity_at,
            "reminders_sent": 0,
        }
        for person, r in zip(respondent_ids, made, strict=True)
    ]
    await conn.execute(response.insert(), rows)
    mine = sa.select(response.c.respondent_id, response.c.id).where(
        response.c.campaign_id == campaign_id, response.c.channel == CHANNEL
    )
    by_person = {row.respondent_id: row.id for row in (await conn.execute(mine)).all()}
    response_ids = [by_person[person] for person in respondent_ids]
    answers = []
    for response_id, r in zip(response_ids, made, strict=True):
        span = (r.last_activity_at - r.started_at) / max(1, len(r.answers))
        for n, (question_id, value) in enumerate(r.answers, start=1):
            answers.append(
                {
                    "response_id": response_id,
                    "question_id": question_id,
                    "value": value,
                    "value_num": numeric(value),
                    "answered_at": r.started_at + span * n,
                }
            )
    if answers:
        await conn.execute(answer.insert(), answers)
    return len(made)


async def count(conn: AsyncConnection, campaign_id: int) -> int:
    """How many simulated responses the campaign holds."""
    q = sa.select(sa.func.count()).where(response.c.campaign_id == campaign_id, response.c.channel == CHANNEL)
    return int((await conn.execute(q)).scalar_one())


async def _delete_responses(conn: AsyncConnection, responses: sa.Select[tuple[int]]) -> int:
    """Delete these responses with their answers, then the respondents left with no response and no address."""
    people = sa.select(response.c.respondent_id).where(response.c.id.in_(responses)).distinct()
    orphans = list((await conn.execute(people)).scalars())
    await conn.execute(answer.delete().where(answer.c.response_id.in_(responses)))
    deleted = (await conn.execute(response.delete().where(response.c.id.in_(responses)))).rowcount
    if orphans:
        still = sa.select(response.c.respondent_id).where(response.c.respondent_id.in_(orphans))
        reachable = sa.select(channel_address.c.respondent_id).where(channel_address.c.respondent_id.in_(orphans))
        await conn.execute(
            respondent.delete().where(
                respondent.c.id.in_(orphans), respondent.c.id.not_in(still), respondent.c.id.not_in(reachable)
            )
        )
    return int(deleted or 0)


async def delete_simulated(conn: AsyncConnection, campaign_id: int) -> int:
    """Delete a campaign's simulated responses and their made-up respondents; returns how many responses."""
    simulated = sa.select(response.c.id).where(response.c.campaign_id == campaign_id, response.c.channel == CHANNEL)
    return await _delete_responses(conn, simulated)


@dataclass(frozen=True)
class Removed:
    code: str
    responses: int
    simulated: int


async def remove_campaign(conn: AsyncConnection, campaign_id: int, code: str, now: datetime) -> Removed:
    """Remove a demo campaign entirely: its responses (simulated or tried out by someone), their answers, the
    respondents who answered nothing else, its unsent messages, its wards and the campaign itself."""
    simulated = await count(conn, campaign_id)
    mine = sa.select(response.c.id).where(response.c.campaign_id == campaign_id)
    responses = await _delete_responses(conn, mine)
    prefixes = [f"reminder:c{campaign_id}:%", f"invitation:c{campaign_id}:%"]
    await conn.execute(
        outbox_message.update()
        .where(outbox_message.c.status == "pending", sa.or_(*(outbox_message.c.dedupe_key.like(p) for p in prefixes)))
        .values(status="cancelled", last_error="the demo campaign was removed", next_attempt_at=now)
    )
    await conn.execute(campaign_ward.delete().where(campaign_ward.c.campaign_id == campaign_id))
    await conn.execute(campaign.delete().where(campaign.c.id == campaign_id))
    return Removed(code, responses, simulated)
