"""The outbox: every scheduled or bulk message is a row here first, then the paced sender delivers it.

A row is unique by its dedupe key (a reminder is "reminder:c<campaign>:r<response>:<n>", a digest
"digest:<chat>:c<campaign>:<period end>:<part>"), so queueing the same message twice, or again after a
restart, is a no-op. Statuses: pending -> sent | failed | unreachable | cancelled. Nothing is marked "in
flight": one sender runs at a time (the scheduler's leader), and a message whose send was interrupted by a
crash is simply still pending afterwards (it may then be sent twice; it is never lost).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.repo.sql import insert, official_chat
from storage.repo.sql import outbox_message as outbox

STATUSES = ("pending", "sent", "failed", "unreachable", "cancelled")
KINDS = ("reminder", "invitation", "digest", "notice")


@dataclass(frozen=True)
class NewMessage:
    recipient: str
    kind: str
    payload: dict[str, Any]
    dedupe_key: str
    recipient_kind: str = "private"  # private | group
    expires_at: datetime | None = None
    next_attempt_at: datetime | None = None
    channel: str = "telegram"


@dataclass(frozen=True)
class OutboxRecord:
    id: int
    channel: str
    recipient: str
    recipient_kind: str
    kind: str
    payload: dict[str, Any]
    dedupe_key: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    expires_at: datetime | None


def _record(row: Any) -> OutboxRecord:
    return OutboxRecord(
        id=row.id,
        channel=row.channel,
        recipient=row.recipient,
        recipient_kind=row.recipient_kind,
        kind=row.kind,
        payload=row.payload,
        dedupe_key=row.dedupe_key,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
        expires_at=row.expires_at,
    )


def _row(message: NewMessage, now: datetime) -> dict[str, Any]:
    if message.kind not in KINDS:
        raise ValueError(f"unknown outbox message kind {message.kind!r}; expected one of {', '.join(KINDS)}")
    if message.recipient_kind not in ("private", "group"):
        raise ValueError(f"recipient_kind must be 'private' or 'group', not {message.recipient_kind!r}")
    return {
        "channel": message.channel,
        "recipient": message.recipient,
        "recipient_kind": message.recipient_kind,
        "kind": message.kind,
        "payload": message.payload,
        "dedupe_key": message.dedupe_key,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": message.next_attempt_at or now,
        "last_error": None,
        "created_at": now,
        "sent_at": None,
        "expires_at": message.expires_at,
    }


async def enqueue(conn: AsyncConnection, message: NewMessage, now: datetime) -> bool:
    """Queue a message; False (and nothing changes) when its dedupe key is already queued or sent."""
    stmt = insert(conn, outbox).values(**_row(message, now)).on_conflict_do_nothing(index_elements=["dedupe_key"])
    return bool((await conn.execute(stmt)).rowcount)


async def enqueue_many(conn: AsyncConnection, messages: Sequence[NewMessage], now: datetime) -> int:
    """Queue several messages; returns how many were new (already-known dedupe keys are skipped)."""
    if not messages:
        return 0
    keys = [m.dedupe_key for m in messages]
    known = await existing_keys(conn, keys)
    fresh: dict[str, dict[str, Any]] = {}
    for m in messages:
        if m.dedupe_key not in known and m.dedupe_key not in fresh:
            fresh[m.dedupe_key] = _row(m, now)
    if not fresh:
        return 0
    stmt = insert(conn, outbox).on_conflict_do_nothing(index_elements=["dedupe_key"])
    await conn.execute(stmt, list(fresh.values()))
    return len(fresh)


async def existing_keys(conn: AsyncConnection, keys: Iterable[str]) -> set[str]:
    wanted = list(dict.fromkeys(keys))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        q = sa.select(outbox.c.dedupe_key).where(outbox.c.dedupe_key.in_(chunk))
        found.update((await conn.execute(q)).scalars())
    return found


async def due(
    conn: AsyncConnection, now: datetime, limit: int, exclude: Iterable[int] = (), channel: str = "telegram"
) -> list[OutboxRecord]:
    """Pending messages whose time has come, oldest first (ids in `exclude` are already in hand)."""
    q = (
        sa.select(outbox)
        .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= now, outbox.c.channel == channel)
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
        .limit(limit)
    )
    held = list(exclude)
    if held:
        q = q.where(outbox.c.id.not_in(held))
    return [_record(r) for r in (await conn.execute(q)).all()]


async def next_due_at(conn: AsyncConnection, channel: str = "telegram") -> datetime | None:
    """When the earliest pending message becomes due (None when nothing is pending)."""
    q = sa.select(sa.func.min(outbox.c.next_attempt_at)).where(
        outbox.c.status == "pending", outbox.c.channel == channel
    )
    value: datetime | None = (await conn.execute(q)).scalar()
    if value is not None and value.tzinfo is None:  # SQLite's MIN() bypasses the column type
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value


async def get(conn: AsyncConnection, message_id: int) -> OutboxRecord | None:
    row = (await conn.execute(sa.select(outbox).where(outbox.c.id == message_id))).first()
    return None if row is None else _record(row)


async def by_key(conn: AsyncConnection, dedupe_key: str) -> OutboxRecord | None:
    row = (await conn.execute(sa.select(outbox).where(outbox.c.dedupe_key == dedupe_key))).first()
    return None if row is None else _record(row)


async def list_by_prefix(conn: AsyncConnection, prefix: str) -> list[OutboxRecord]:
    q = sa.select(outbox).where(outbox.c.dedupe_key.startswith(prefix, autoescape=True)).order_by(outbox.c.id)
    return [_record(r) for r in (await conn.execute(q)).all()]


# --- outcomes of sends (written in batches by the sender) ----------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What became of one send attempt."""

    id: int
    status: str  # sent | retry | deferred (pending, later) | failed | unreachable | cancelled
    at: datetime
    error: str | None = None
    next_attempt_at: datetime | None = None
    tries: int = 1
    """Send attempts made since the row was read (added to `attempts`)."""


async def record_outcomes(conn: AsyncConnection, outcomes: Sequence[Outcome]) -> None:
    """Apply send outcomes: one UPDATE per outcome, in the caller's transaction."""
    b = sa.bindparam
    groups: dict[str, list[dict[str, Any]]] = {}
    for o in outcomes:
        groups.setdefault(o.status, []).append(
            {
                "b_id": o.id,
                "b_at": o.at,
                "b_error": None if o.error is None else o.error[:500],
                "b_next": o.next_attempt_at or o.at,
                "b_inc": o.tries,
            }
        )
    statements = {
        "sent": outbox.update()
        .where(outbox.c.id == b("b_id"), outbox.c.status == "pending")
        .values(status="sent", sent_at=b("b_at"), attempts=outbox.c.attempts + b("b_inc"), last_error=None),
        "retry": outbox.update()
        .where(outbox.c.id == b("b_id"), outbox.c.status == "pending")
        .values(next_attempt_at=b("b_next"), attempts=outbox.c.attempts + b("b_inc"), last_error=b("b_error")),
        "deferred": outbox.update()
        .where(outbox.c.id == b("b_id"), outbox.c.status == "pending")
        .values(next_attempt_at=b("b_next"), attempts=outbox.c.attempts + b("b_inc")),
    }
    for status in ("failed", "unreachable", "cancelled"):
        statements[status] = (
            outbox.update()
            .where(outbox.c.id == b("b_id"), outbox.c.status == "pending")
            .values(status=status, attempts=outbox.c.attempts + b("b_inc"), last_error=b("b_error"))
        )
    for status, rows in groups.items():
        await conn.execute(statements[status], rows)


async def cancel_pending_to(
    conn: AsyncConnection, recipient: str, reason: str, channel: str = "telegram", kinds: Sequence[str] = KINDS
) -> int:
    """Cancel everything still pending for a recipient (who blocked the bot, or a removed chat)."""
    result = await conn.execute(
        outbox.update()
        .where(
            outbox.c.channel == channel,
            outbox.c.recipient == recipient,
            outbox.c.status == "pending",
            outbox.c.kind.in_(list(kinds)),
        )
        .values(status="cancelled", last_error=reason[:500])
    )
    return int(result.rowcount or 0)


async def cancel_expired(conn: AsyncConnection, now: datetime) -> int:
    result = await conn.execute(
        outbox.update()
        .where(outbox.c.status == "pending", outbox.c.expires_at.is_not(None), outbox.c.expires_at <= now)
        .values(status="cancelled", last_error="expired")
    )
    return int(result.rowcount or 0)


async def postpone_recipient(
    conn: AsyncConnection, recipient: str, after_id: int, until: datetime, channel: str = "telegram"
) -> int:
    """Keep a chat's messages in order: those queued after a message that must wait, wait at least as long."""
    result = await conn.execute(
        outbox.update()
        .where(
            outbox.c.channel == channel,
            outbox.c.recipient == recipient,
            outbox.c.status == "pending",
            outbox.c.id > after_id,
            outbox.c.next_attempt_at < until,
        )
        .values(next_attempt_at=until)
    )
    return int(result.rowcount or 0)


async def reroute_group(conn: AsyncConnection, old_chat: str, new_chat: str, channel: str = "telegram") -> None:
    """A group became a supergroup (Telegram gives the new id): pending messages and the subscription follow."""
    await conn.execute(
        outbox.update()
        .where(outbox.c.channel == channel, outbox.c.recipient == old_chat, outbox.c.status == "pending")
        .values(recipient=new_chat)
    )
    on_channel = official_chat.c.channel == channel
    taken = (
        await conn.execute(sa.select(official_chat.c.id).where(on_channel, official_chat.c.address == new_chat))
    ).first()
    if taken is None:
        await conn.execute(
            official_chat.update().where(on_channel, official_chat.c.address == old_chat).values(address=new_chat)
        )


async def delete_by_prefix(conn: AsyncConnection, prefix: str) -> int:
    """Delete rows whose dedupe key starts with `prefix` (a closed campaign's reminders: they hold chat ids)."""
    result = await conn.execute(outbox.delete().where(outbox.c.dedupe_key.startswith(prefix, autoescape=True)))
    return int(result.rowcount or 0)


async def counts(conn: AsyncConnection) -> dict[str, int]:
    """Messages per status."""
    q = sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status)
    found = {status: int(n) for status, n in (await conn.execute(q)).all()}
    return {status: found.get(status, 0) for status in STATUSES}


async def queued_since(conn: AsyncConnection, prefix: str, since: datetime) -> int:
    """How many messages with this dedupe-key prefix were queued at or after `since`."""
    q = sa.select(sa.func.count()).where(
        outbox.c.dedupe_key.startswith(prefix, autoescape=True), outbox.c.created_at >= since
    )
    return int((await conn.execute(q)).scalar_one())
