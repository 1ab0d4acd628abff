"""What a text-only channel remembers between a person's messages in one chat (`chat_state`): any process, after
any restart, reads what the previous message left. The data is the channel's (plain JSON); the last message whose
reply was shown is a column of its own, so that writing it never overwrites what another message left."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.repo.sql import channel_address, chat_state, insert


@dataclass(frozen=True)
class ChatState:
    data: dict[str, Any] = field(default_factory=dict)
    replied_message_id: str | None = None
    """The last message whose reply was shown in full."""


async def get(conn: AsyncConnection, channel: str, chat_id: str) -> ChatState:
    """The chat's state (empty when nothing is remembered)."""
    row = (
        await conn.execute(
            sa.select(chat_state.c.data, chat_state.c.replied_message_id).where(
                chat_state.c.channel == channel, chat_state.c.chat_id == chat_id
            )
        )
    ).one_or_none()
    if row is None:
        return ChatState()
    return ChatState(dict(row.data or {}), row.replied_message_id)


async def put(conn: AsyncConnection, channel: str, chat_id: str, data: dict[str, Any], now: datetime) -> None:
    """Replace what the chat remembers (the replied message id is kept)."""
    stmt = insert(conn, chat_state).values(channel=channel, chat_id=chat_id, data=data, updated_at=now)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["channel", "chat_id"], set_={"data": stmt.excluded.data, "updated_at": now}
        )
    )


async def replied(conn: AsyncConnection, channel: str, chat_id: str, message_id: str, now: datetime) -> None:
    """Record that `message_id`'s reply was shown (a redelivery of it shows nothing)."""
    stmt = insert(conn, chat_state).values(
        channel=channel, chat_id=chat_id, data={}, replied_message_id=message_id, updated_at=now
    )
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["channel", "chat_id"], set_={"replied_message_id": message_id, "updated_at": now}
        )
    )


async def delete(conn: AsyncConnection, channel: str, chat_id: str) -> None:
    await conn.execute(chat_state.delete().where(chat_state.c.channel == channel, chat_state.c.chat_id == chat_id))


async def delete_of_respondent(conn: AsyncConnection, respondent_id: int) -> None:
    """Erasure: forget the state of every chat the respondent is reached at (before their addresses go)."""
    chats = sa.select(channel_address.c.channel, channel_address.c.address).where(
        channel_address.c.respondent_id == respondent_id
    )
    key = sa.tuple_(chat_state.c.channel, chat_state.c.chat_id)
    await conn.execute(chat_state.delete().where(key.in_(chats)))


async def prune(conn: AsyncConnection, before: datetime, limit: int = 5000) -> int:
    """Forget at most `limit` chats' states untouched since `before`; their count."""
    oldest = sa.select(chat_state.c.channel, chat_state.c.chat_id).where(chat_state.c.updated_at < before).limit(limit)
    key = sa.tuple_(chat_state.c.channel, chat_state.c.chat_id)
    result = await conn.execute(chat_state.delete().where(key.in_(oldest)))
    return int(result.rowcount or 0)
