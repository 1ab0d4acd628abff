"""Operators: Telegram users allowed to run campaigns from a private chat with the bot.

The `operator` table is the list; the OPERATOR_IDS setting seeds it (`seed`, called when the bot starts
and by `khaosat operators ...`), so a new installation has its first operators without a command.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.repo.sql import insert, operator

SEEDED_BY = "OPERATOR_IDS"


class OperatorError(ValueError):
    """An operator change that cannot be done, with a message for the operator."""


@dataclass(frozen=True)
class OperatorRecord:
    telegram_user_id: int
    name: str
    added_at: datetime
    added_by: str


def check_user_id(user_id: int) -> int:
    if isinstance(user_id, bool) or not isinstance(user_id, int) or not 0 < user_id < 2**63:
        raise OperatorError(f"{user_id!r} is not a Telegram user id (a positive number, e.g. 123456789)")
    return user_id


async def seed(conn: AsyncConnection, ids: Iterable[int], now: datetime) -> list[int]:
    """Add the ids that are not operators yet (marked as added by OPERATOR_IDS); returns the ids added."""
    wanted = sorted({check_user_id(i) for i in ids})
    if not wanted:
        return []
    existing = set(
        (
            await conn.execute(sa.select(operator.c.telegram_user_id).where(operator.c.telegram_user_id.in_(wanted)))
        ).scalars()
    )
    new = [i for i in wanted if i not in existing]
    if new:
        stmt = insert(conn, operator).on_conflict_do_nothing(index_elements=["telegram_user_id"])
        await conn.execute(
            stmt, [{"telegram_user_id": i, "name": "", "added_at": now, "added_by": SEEDED_BY} for i in new]
        )
    return new


async def add(conn: AsyncConnection, user_id: int, now: datetime, *, name: str = "", added_by: str = "") -> bool:
    """Make a user an operator; False (and no change) when they already are one."""
    check_user_id(user_id)
    stmt = (
        insert(conn, operator)
        .values(telegram_user_id=user_id, name=name, added_at=now, added_by=added_by)
        .on_conflict_do_nothing(index_elements=["telegram_user_id"])
    )
    return bool((await conn.execute(stmt)).rowcount)


async def remove(conn: AsyncConnection, user_id: int) -> None:
    """Remove an operator, or raise OperatorError when the user is not one."""
    check_user_id(user_id)
    result = await conn.execute(operator.delete().where(operator.c.telegram_user_id == user_id))
    if not result.rowcount:
        raise OperatorError(f"{user_id} is not an operator; see 'khaosat operators list'")


async def is_operator(conn: AsyncConnection, user_id: int) -> bool:
    q = sa.select(operator.c.telegram_user_id).where(operator.c.telegram_user_id == user_id)
    return (await conn.execute(q)).first() is not None


async def list_all(conn: AsyncConnection) -> list[OperatorRecord]:
    rows = (await conn.execute(sa.select(operator).order_by(operator.c.added_at, operator.c.telegram_user_id))).all()
    return [OperatorRecord(r.telegram_user_id, r.name, r.added_at, r.added_by) for r in rows]


async def ids(conn: AsyncConnection) -> list[int]:
    q = sa.select(operator.c.telegram_user_id).order_by(operator.c.telegram_user_id)
    return [int(i) for i in (await conn.execute(q)).scalars()]
