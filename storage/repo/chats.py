"""Officials' group chats and the one-time codes that subscribe them to digests."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.repo.sql import admin_unit, insert, official_chat, subscription_code

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or copied from paper
CODE_LENGTH = 8


class ChatError(ValueError):
    """A chat or code operation that cannot be done, with a message for the operator."""


class CodeRejected(ChatError):
    """A /subscribe code that does not work; `reason` is one of: unknown, used, expired."""

    def __init__(self, reason: str, message: str, expires_at: datetime | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.expires_at = expires_at


@dataclass(frozen=True)
class SubscriptionCodeRecord:
    code: str
    scope: tuple[int, ...] | None
    schedule: str
    language: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    used_by_chat: str | None
    """The address of the chat it subscribed (on `used_by_channel`)."""
    dimensions: tuple[int, ...] | None = None
    """PAPI dimensions: the chat it subscribes gets a department's digest of these; None: the usual digest."""
    used_by_channel: str | None = None

    @property
    def used_by(self) -> str | None:
        """The chat it subscribed, as `khaosat chats list` shows chats ("-100123", "zalo:abc")."""
        if self.used_by_chat is None:
            return None
        return chat_label(self.used_by_channel or "telegram", self.used_by_chat)

    @property
    def display(self) -> str:
        return format_code(self.code)


@dataclass(frozen=True)
class OfficialChatRecord:
    id: int
    channel: str
    """Where the chat is: "telegram" or "zalo"."""
    address: str
    """The channel's id of the chat, as text (a Telegram group's "-1001234567890")."""
    title: str
    scope: tuple[int, ...] | None
    """Ward codes; None means every ward."""
    schedule: str
    language: str
    active: bool
    subscribed_at: datetime
    subscribed_by: str | None
    dimensions: tuple[int, ...] | None = None
    """PAPI dimensions whose digest (across the scope's wards) the chat gets; None: the usual digest."""

    @property
    def label(self) -> str:
        """How people name the chat: a Telegram group's id alone ("-1001234567890"), others "zalo:<id>"."""
        return chat_label(self.channel, self.address)


def chat_label(channel: str, address: str) -> str:
    return address if channel == "telegram" else f"{channel}:{address}"


def parse_chat_label(text: str) -> tuple[str | None, str]:
    """ "zalo:abc" -> ("zalo", "abc"); "-100123" -> (None, "-100123"): any channel."""
    channel, sep, address = text.strip().partition(":")
    if sep and channel in CHANNELS:
        return channel, address
    return None, text.strip()


CHANNELS = ("telegram", "zalo")


def format_code(code: str) -> str:
    """ "K7QPM2XD" -> "K7QP-M2XD" (what people read and type)."""
    return f"{code[:4]}-{code[4:]}" if len(code) == CODE_LENGTH else code


def normalise_code(text: str) -> str:
    """What someone typed, as stored: upper case, without spaces or dashes."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def _scope(value: Any) -> tuple[int, ...] | None:
    return None if value is None else tuple(int(w) for w in value)


def _code_record(row: Any) -> SubscriptionCodeRecord:
    return SubscriptionCodeRecord(
        code=row.code,
        scope=_scope(row.scope),
        schedule=row.schedule,
        language=row.language,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
        used_by_chat=row.used_by_chat,
        dimensions=_scope(row.dimensions),
        used_by_channel=row.used_by_channel,
    )


def _chat_record(row: Any) -> OfficialChatRecord:
    return OfficialChatRecord(
        id=row.id,
        channel=row.channel,
        address=row.address,
        title=row.title,
        scope=_scope(row.scope),
        schedule=row.schedule,
        language=row.language,
        active=row.active,
        subscribed_at=row.subscribed_at,
        subscribed_by=row.subscribed_by,
        dimensions=_scope(row.dimensions),
    )


async def unknown_wards(conn: AsyncConnection, codes: Sequence[int]) -> list[int]:
    if not codes:
        return []
    known = set((await conn.execute(sa.select(admin_unit.c.code).where(admin_unit.c.code.in_(list(codes))))).scalars())
    return [c for c in codes if c not in known]


async def issue_code(
    conn: AsyncConnection,
    *,
    scope: Sequence[int] | None,
    schedule: str,
    language: str,
    now: datetime,
    valid_for: timedelta = timedelta(days=7),
    dimensions: Sequence[int] | None = None,
) -> SubscriptionCodeRecord:
    """A new one-time code for a scope (ward codes, or None for all wards), and for a department's digest of
    some PAPI dimensions (None: the usual digest). The schedule must be valid already."""
    wards = None if scope is None else sorted(set(scope))
    led = None
    if dimensions is not None:
        wrong = [d for d in dimensions if not 1 <= d <= 8]
        if wrong or not dimensions:
            raise ChatError("PAPI's dimensions are 1-8: give one or more, e.g. --dimensions 5,6")
        led = sorted(set(dimensions))
    if wards is not None:
        if not wards:
            raise ChatError("the scope needs at least one ward (or 'all')")
        unknown = await unknown_wards(conn, wards)
        if unknown:
            raise ChatError(f"unknown ward code(s): {', '.join(map(str, unknown[:10]))}; see 'khaosat wards list'")
    if language not in ("vi", "en"):
        raise ChatError(f"unsupported language {language!r}: use vi or en")
    for _ in range(5):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        stmt = (
            insert(conn, subscription_code)
            .values(
                code=code,
                scope=wards,
                schedule=schedule,
                language=language,
                created_at=now,
                expires_at=now + valid_for,
                used_at=None,
                used_by_chat=None,
                dimensions=led,
            )
            .on_conflict_do_nothing(index_elements=["code"])
        )
        if (await conn.execute(stmt)).rowcount:
            row = (await conn.execute(sa.select(subscription_code).where(subscription_code.c.code == code))).one()
            return _code_record(row)
    raise ChatError("could not find an unused code; try again")  # pragma: no cover - 32**8 codes


async def list_codes(conn: AsyncConnection, *, unused_only: bool = False) -> list[SubscriptionCodeRecord]:
    q = sa.select(subscription_code).order_by(subscription_code.c.created_at, subscription_code.c.code)
    if unused_only:
        q = q.where(subscription_code.c.used_at.is_(None))
    return [_code_record(r) for r in (await conn.execute(q)).all()]


async def redeem(
    conn: AsyncConnection,
    *,
    code: str,
    chat_id: int | str,
    title: str,
    user_id: int | str | None,
    now: datetime,
    channel: str = "telegram",
) -> OfficialChatRecord:
    """Use a code for a group chat (`chat_id`: the channel's id of it): subscribes the chat (or replaces its
    subscription) and spends the code.

    Raises CodeRejected (unknown / used / expired); nothing changes then.
    """
    address = str(chat_id)
    typed = normalise_code(code)
    q = sa.select(subscription_code).where(subscription_code.c.code == typed)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    row = (await conn.execute(q)).first() if typed else None
    if row is None:
        raise CodeRejected("unknown", f"no subscription code {code!r}")
    if row.used_at is not None:
        raise CodeRejected("used", f"code {format_code(typed)} was already used on {row.used_at:%Y-%m-%d %H:%M} UTC")
    if row.expires_at <= now:
        raise CodeRejected(
            "expired", f"code {format_code(typed)} expired on {row.expires_at:%Y-%m-%d %H:%M} UTC", row.expires_at
        )
    spent = await conn.execute(
        subscription_code.update()
        .where(subscription_code.c.code == typed, subscription_code.c.used_at.is_(None))
        .values(used_at=now, used_by_chat=address, used_by_channel=channel)
    )
    if not spent.rowcount:  # pragma: no cover - a concurrent redeem of the same code (SQLite serialises writers)
        raise CodeRejected("used", f"code {format_code(typed)} was already used")
    values = {
        "title": title,
        "scope": row.scope,
        "schedule": row.schedule,
        "language": row.language,
        "active": True,
        "subscribed_at": now,
        "subscribed_by": None if user_id is None else str(user_id),
        "dimensions": row.dimensions,
    }
    stmt = insert(conn, official_chat).values(channel=channel, address=address, **values)
    stmt = stmt.on_conflict_do_update(index_elements=["channel", "address"], set_=values)
    await conn.execute(stmt)
    chat = await get(conn, address, channel)
    assert chat is not None
    return chat


def _is(channel: str, chat_id: int | str) -> sa.ColumnElement[bool]:
    return sa.and_(official_chat.c.channel == channel, official_chat.c.address == str(chat_id))


async def get(conn: AsyncConnection, chat_id: int | str, channel: str = "telegram") -> OfficialChatRecord | None:
    row = (await conn.execute(sa.select(official_chat).where(_is(channel, chat_id)))).first()
    return None if row is None else _chat_record(row)


async def find(conn: AsyncConnection, label: str) -> list[OfficialChatRecord]:
    """The chats a label names ("zalo:abc" on Zalo; a bare id on any channel), for the CLI."""
    channel, address = parse_chat_label(label)
    q = sa.select(official_chat).where(official_chat.c.address == address)
    if channel is not None:
        q = q.where(official_chat.c.channel == channel)
    return [_chat_record(r) for r in (await conn.execute(q.order_by(official_chat.c.id))).all()]


async def list_chats(
    conn: AsyncConnection, *, active_only: bool = False, channel: str | None = None
) -> list[OfficialChatRecord]:
    q = sa.select(official_chat).order_by(official_chat.c.subscribed_at, official_chat.c.id)
    if active_only:
        q = q.where(official_chat.c.active.is_(True))
    if channel is not None:
        q = q.where(official_chat.c.channel == channel)
    return [_chat_record(r) for r in (await conn.execute(q)).all()]


async def set_active(conn: AsyncConnection, chat_id: int | str, active: bool, channel: str = "telegram") -> bool:
    """Pause or resume a chat's digests; False when the chat is not subscribed."""
    result = await conn.execute(official_chat.update().where(_is(channel, chat_id)).values(active=active))
    return bool(result.rowcount)


async def remove(conn: AsyncConnection, chat_id: int | str, channel: str = "telegram") -> OfficialChatRecord:
    """Delete a chat's subscription (and cancel what is still queued for it)."""
    from storage.repo import outbox

    chat = await get(conn, chat_id, channel)
    if chat is None:
        raise ChatError(f"no official chat with id {chat_label(channel, str(chat_id))}; see 'khaosat chats list'")
    await conn.execute(official_chat.delete().where(_is(channel, chat_id)))
    await outbox.cancel_pending_to(conn, chat.address, "chat removed", channel)
    return chat


async def campaigns_for(
    conn: AsyncConnection, scope: Sequence[int] | None, start: datetime, end: datetime, simulated: bool = True
) -> list[int]:
    """Ids of the launched campaigns running at some point in [start, end) that cover a ward of the scope
    (any ward when scope is None), oldest first: the campaigns a digest for that period reports on (with the
    demo's simulated campaign only if `simulated`)."""
    from storage.repo.sql import campaign, campaign_ward

    finished = sa.func.coalesce(campaign.c.closed_at, campaign.c.ends_at)
    q = sa.select(campaign.c.id).where(
        campaign.c.status.in_(("active", "closed")),
        campaign.c.launched_at.is_not(None),
        campaign.c.starts_at < end,
        finished > start,
    )
    if not simulated:
        q = q.where(campaign.c.simulated == sa.false())
    if scope is not None:
        covered = sa.select(campaign_ward.c.campaign_id).where(campaign_ward.c.ward_code.in_(list(scope)))
        q = q.where(campaign.c.id.in_(covered))
    return list((await conn.execute(q.order_by(campaign.c.starts_at, campaign.c.id))).scalars())
