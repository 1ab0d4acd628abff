"""Channel addresses: how to reach a respondent (kept apart from answers)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from storage.repo.sql import channel_address


async def mark_unreachable(conn: AsyncConnection, channel: str, address: str, now: datetime) -> int:
    """The person blocked the bot (Telegram 403): no more reminders or invitations. Returns rows changed."""
    result = await conn.execute(
        channel_address.update()
        .where(channel_address.c.channel == channel, channel_address.c.address == address)
        .values(unreachable=True, updated_at=now)
    )
    return int(result.rowcount or 0)
