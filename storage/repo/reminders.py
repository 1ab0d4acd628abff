"""Who is due a reminder, who gets an invitation, and whether a queued one is still wanted.

A reminder is due for a response that is still in progress in an open campaign when the time since the
respondent's last activity has reached the policy's next delay (default 24 h for the first, 72 h for the
second), fewer than `max_count` were sent, the person has not opted out, and they have a reachable chat
address on the channel they answer on (Telegram, Zalo). Quiet hours and a channel's window after the person's
last message are the job's business (`scheduler.reminders`), not this query's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from flows.questions import JSONValue
from storage.records import CampaignRecord
from storage.repo.sql import answer, campaign, channel_address, outbox_message, respondent, response


@dataclass(frozen=True)
class DueReminder:
    response_id: int
    respondent_id: int
    address: str
    language: str
    reminders_sent: int
    last_activity_at: datetime
    fixed: tuple[str, ...]
    answers: tuple[tuple[str, JSONValue], ...] = ()
    channel: str = "telegram"
    """The channel of the address (a person is reached where they answer)."""


@dataclass(frozen=True)
class Invitee:
    respondent_id: int
    address: str
    language: str
    channel: str = "telegram"
    last_activity_at: datetime | None = None
    """Their most recent activity in any response (for a channel that may only write within a window)."""


def _reachable(q: sa.Select[Any]) -> sa.Select[Any]:
    """Only people who have not opted out, with a reachable address (on any channel: a respondent's key is
    made from one channel's user id, so they have an address on that channel only)."""
    return q.join(
        channel_address,
        sa.and_(
            channel_address.c.respondent_id == respondent.c.id,
            channel_address.c.unreachable.is_(False),
        ),
    ).where(respondent.c.opted_out.is_(False))


async def due(conn: AsyncConnection, c: CampaignRecord, now: datetime, limit: int = 1000) -> list[DueReminder]:
    """Responses of campaign `c` due a reminder now (oldest activity first), with their answers so far."""
    policy = c.reminder_policy
    if not c.is_open(now) or policy.max_count <= 0 or not policy.delays_hours:
        return []
    conditions = []
    for n in range(policy.max_count):
        hours = policy.delays_hours[min(n, len(policy.delays_hours) - 1)]
        cutoff = now - timedelta(hours=hours)
        conditions.append(sa.and_(response.c.reminders_sent == n, response.c.last_activity_at <= cutoff))
    q = _reachable(
        sa.select(
            response.c.id,
            response.c.respondent_id,
            response.c.reminders_sent,
            response.c.last_activity_at,
            response.c.fixed,
            respondent.c.language,
            channel_address.c.address,
            channel_address.c.channel,
        ).join(respondent, respondent.c.id == response.c.respondent_id)
    ).where(channel_address.c.channel == response.c.channel)
    q = (
        q.where(
            response.c.campaign_id == c.id,
            response.c.status == "in_progress",
            sa.or_(*conditions),
        )
        .order_by(response.c.last_activity_at, response.c.id)
        .limit(limit)
    )
    rows = (await conn.execute(q)).all()
    if not rows:
        return []
    ids = [r.id for r in rows]
    by_response: dict[int, list[tuple[str, JSONValue]]] = {i: [] for i in ids}
    aq = (
        sa.select(answer.c.response_id, answer.c.question_id, answer.c.value)
        .where(answer.c.response_id.in_(ids))
        .order_by(answer.c.response_id, answer.c.id)
    )
    for a in (await conn.execute(aq)).all():
        by_response[a.response_id].append((a.question_id, a.value))
    return [
        DueReminder(
            response_id=r.id,
            respondent_id=r.respondent_id,
            address=r.address,
            language=r.language,
            reminders_sent=r.reminders_sent,
            last_activity_at=r.last_activity_at,
            fixed=tuple(r.fixed or ()),
            answers=tuple(by_response[r.id]),
            channel=r.channel,
        )
        for r in rows
    ]


async def count_sent(conn: AsyncConnection, response_id: int, expected: int) -> bool:
    """Record that reminder number `expected + 1` is queued; False if another tick got there first."""
    result = await conn.execute(
        response.update()
        .where(response.c.id == response_id, response.c.reminders_sent == expected)
        .values(reminders_sent=expected + 1)
    )
    return bool(result.rowcount)


async def invitees(conn: AsyncConnection, c: CampaignRecord) -> list[Invitee]:
    """People who agreed to hear about future surveys, reachable, and not already answering this campaign."""
    answering = sa.select(response.c.respondent_id).where(response.c.campaign_id == c.id)
    last = (
        sa.select(sa.func.max(response.c.last_activity_at))
        .where(response.c.respondent_id == respondent.c.id)
        .scalar_subquery()
    )
    q = _reachable(
        sa.select(
            respondent.c.id,
            respondent.c.language,
            channel_address.c.address,
            channel_address.c.channel,
            last.label("last_activity_at"),
        )
    ).where(respondent.c.invitations.is_(True), respondent.c.id.not_in(answering))
    rows = (await conn.execute(q.order_by(respondent.c.id, channel_address.c.channel))).all()
    return [
        Invitee(
            respondent_id=r.id,
            address=r.address,
            language=r.language,
            channel=r.channel,
            last_activity_at=r.last_activity_at,
        )
        for r in rows
    ]


async def campaigns_to_invite(conn: AsyncConnection, now: datetime) -> list[int]:
    """Active campaigns that have opened (starts_at passed), not ended, and whose invitations are not queued."""
    q = sa.select(campaign.c.id).where(
        campaign.c.status == "active",
        campaign.c.starts_at <= now,
        campaign.c.ends_at > now,
        campaign.c.invited_at.is_(None),
    )
    return list((await conn.execute(q.order_by(campaign.c.id))).scalars())


async def mark_invited(conn: AsyncConnection, campaign_id: int, now: datetime) -> bool:
    result = await conn.execute(
        campaign.update().where(campaign.c.id == campaign_id, campaign.c.invited_at.is_(None)).values(invited_at=now)
    )
    return bool(result.rowcount)


async def campaigns_to_close(conn: AsyncConnection, now: datetime) -> list[str]:
    """Codes of active campaigns whose end time has passed."""
    q = sa.select(campaign.c.code).where(campaign.c.status == "active", campaign.c.ends_at <= now)
    return list((await conn.execute(q.order_by(campaign.c.ends_at, campaign.c.id))).scalars())


@dataclass(frozen=True)
class Queued:
    """A queued reminder or invitation, as the sender sees it before sending."""

    outbox_id: int
    kind: str
    recipient: str
    respondent_id: int
    response_id: int | None = None
    activity_at: datetime | None = None


async def unwanted(conn: AsyncConnection, queued: Sequence[Queued], now: datetime) -> set[int]:
    """Outbox ids of queued reminders/invitations that must not go out any more: the person opted out,
    deleted their data, blocked the bot, or (reminders) answered or finished since it was queued."""
    if not queued:
        return set()
    respondent_ids = sorted({q.respondent_id for q in queued})
    reachable_q = _reachable(sa.select(respondent.c.id, channel_address.c.address)).where(
        respondent.c.id.in_(respondent_ids)
    )
    reachable = {(r.id, r.address) for r in (await conn.execute(reachable_q)).all()}
    response_ids = sorted({q.response_id for q in queued if q.response_id is not None})
    responses: dict[int, Any] = {}
    if response_ids:
        rq = (
            sa.select(
                response.c.id,
                response.c.status,
                response.c.last_activity_at,
                campaign.c.status.label("campaign_status"),
                campaign.c.ends_at,
            )
            .join(campaign, campaign.c.id == response.c.campaign_id)
            .where(response.c.id.in_(response_ids))
        )
        responses = {r.id: r for r in (await conn.execute(rq)).all()}
    drop: set[int] = set()
    for q in queued:
        if (q.respondent_id, q.recipient) not in reachable:
            drop.add(q.outbox_id)
            continue
        if q.kind != "reminder":
            continue
        r = responses.get(q.response_id) if q.response_id is not None else None
        if (
            r is None
            or r.status != "in_progress"
            or r.campaign_status != "active"
            or r.ends_at <= now
            or (q.activity_at is not None and r.last_activity_at > q.activity_at)
        ):
            drop.add(q.outbox_id)
    return drop


async def sent_count(
    conn: AsyncConnection, campaign_id: int, wards: Sequence[int] | None, start: datetime, end: datetime
) -> int:
    """Reminders of a campaign sent in [start, end), to people of these wards (None: every ward; a response
    with no ward yet counts everywhere). Reminders are queued as "reminder:c<campaign>:r<response>:<n>"."""
    prefix = f"reminder:c{campaign_id}:r"
    keys = (
        (
            await conn.execute(
                sa.select(outbox_message.c.dedupe_key).where(
                    outbox_message.c.dedupe_key.startswith(prefix, autoescape=True),
                    outbox_message.c.status == "sent",
                    outbox_message.c.sent_at >= start,
                    outbox_message.c.sent_at < end,
                )
            )
        )
        .scalars()
        .all()
    )
    if wards is None:
        return len(keys)
    response_ids = [int(key[len(prefix) :].split(":", 1)[0]) for key in keys]
    if not response_ids:
        return 0
    ward_of = dict(
        (
            await conn.execute(
                sa.select(response.c.id, response.c.ward_code).where(response.c.id.in_(set(response_ids)))
            )
        ).all()
    )
    chosen = set(wards)
    return sum(1 for rid in response_ids if ward_of.get(rid) is None or ward_of[rid] in chosen)
