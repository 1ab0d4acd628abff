"""The audit log: every operator action (CLI, Telegram, web) with who, what, when, its arguments and outcome.

Write the row in the same transaction as the change it describes, so a change is never left without its
row (nor a row without its change). A refused or failed action is recorded on its own afterwards, with
outcome "denied" or "error".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.repo.sql import audit_log

OUTCOMES = ("ok", "denied", "error")


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    """"cli:<system user>", "telegram:<user id>", "web:<name>"."""
    action: str
    """What was done, e.g. "campaign.launch" (the CLI command's path)."""
    arguments: dict[str, Any]
    outcome: str


def _text(value: str) -> str:
    """Text JSON can hold: bytes a shell passed that are not UTF-8 (lone surrogates) and NUL become U+FFFD
    (PostgreSQL's json refuses both)."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace").replace("\x00", "\ufffd")


def _jsonable(value: object) -> Any:
    if isinstance(value, Mapping):
        return {_text(str(k)): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return _text(value)
    if value is None or isinstance(value, (int, float, bool)):
        return value
    return _text(str(value))


async def record(
    conn: AsyncConnection,
    actor: str,
    action: str,
    arguments: Mapping[str, Any],
    outcome: str = "ok",
    *,
    now: datetime,
) -> int:
    """Add a row; returns its id. Arguments are stored as JSON (datetimes as ISO text, paths as text)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; expected one of {', '.join(OUTCOMES)}")
    stmt = (
        audit_log.insert()
        .values(at=now, actor=actor, action=action, arguments=_jsonable(arguments), outcome=outcome)
        .returning(audit_log.c.id)
    )
    return int((await conn.execute(stmt)).scalar_one())


async def list_since(
    conn: AsyncConnection, since: datetime | None = None, *, limit: int | None = None
) -> list[AuditRecord]:
    """Rows at or after `since` (all when None), oldest first. With `limit`, the most recent `limit` rows."""
    q = sa.select(audit_log)
    if since is not None:
        q = q.where(audit_log.c.at >= since)
    if limit is not None:
        q = q.order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)
        rows = list(reversed((await conn.execute(q)).all()))
    else:
        rows = list((await conn.execute(q.order_by(audit_log.c.at, audit_log.c.id))).all())
    return [
        AuditRecord(
            id=r.id, at=r.at, actor=r.actor, action=r.action, arguments=dict(r.arguments or {}), outcome=r.outcome
        )
        for r in rows
    ]
