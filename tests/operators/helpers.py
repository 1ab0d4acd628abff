"""Shared helpers for the operator tests: responses inserted directly (hand-made data), CLI runs."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from click.testing import CliRunner, Result

from bot.cli import main
from storage.db import Database
from storage.repo import audit, campaigns
from storage.repo.sql import answer, respondent, response
from storage.repo.sql import campaign as campaign_t
from storage.types import numeric

T = TypeVar("T")
_keys = itertools.count(1)


async def add_response(
    conn: Any,
    campaign_id: int,
    ward: int | None,
    answers: dict[str, Any] | None = None,
    *,
    status: str = "completed",
    started_at: datetime,
    completed_at: datetime | None = None,
    key: str | None = None,
    channel: str = "telegram",
) -> int:
    """One respondent and one response with its answers, stored as the conversation service stores them."""
    key = key or f"k{next(_keys):06d}"
    respondent_id = (
        await conn.execute(
            respondent.insert()
            .values(
                key=key, language="vi", consent_at=started_at, opted_out=False, invitations=False, created_at=started_at
            )
            .returning(respondent.c.id)
        )
    ).scalar_one()
    if status == "completed" and completed_at is None:
        completed_at = started_at + timedelta(minutes=5)
    response_id = (
        await conn.execute(
            response.insert()
            .values(
                campaign_id=campaign_id,
                respondent_id=respondent_id,
                ward_code=ward,
                status=status,
                channel=channel,
                fixed=[],
                started_at=started_at,
                completed_at=completed_at,
                last_activity_at=completed_at or started_at,
                reminders_sent=0,
            )
            .returning(response.c.id)
        )
    ).scalar_one()
    rows = [
        {
            "response_id": response_id,
            "question_id": qid,
            "value": value,
            "value_num": numeric(value),
            "answered_at": started_at,
        }
        for qid, value in (answers or {}).items()
    ]
    if rows:
        await conn.execute(answer.insert(), rows)
    return int(response_id)


def arun(url: str, fn: Callable[[Database], Awaitable[T]]) -> T:
    """Run `fn(db)` on its own event loop (for sync tests that also drive the CLI)."""

    async def go() -> T:
        db = Database(url)
        try:
            return await fn(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


def cli(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input)


SURVEY = "hanoi-ward-satisfaction"


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def audit_rows(url: str) -> list[tuple[str, str, dict[str, Any]]]:
    async def go(db: Database) -> list[tuple[str, str, dict[str, Any]]]:
        async with db.read() as conn:
            return [(e.action, e.outcome, e.arguments) for e in await audit.list_since(conn)]

    return arun(url, go)


def campaign_count(url: str) -> int:
    async def go(db: Database) -> int:
        async with db.read() as conn:
            return int((await conn.execute(sa.select(sa.func.count()).select_from(campaign_t))).scalar_one())

    return arun(url, go)


def get_campaign(url: str, code: str) -> Any:
    async def go(db: Database) -> Any:
        async with db.read() as conn:
            return await campaigns.get(conn, code)

    return arun(url, go)


def publish() -> None:
    result = cli("survey", "publish")
    assert result.exit_code == 0, result.output


def create(code: str = "hn-2026", wards: str = "70,235,4", *extra: str) -> None:
    result = cli(
        "campaign", "create", "--code", code, "--survey", SURVEY, "--wards", wards, "--ends", "2099-12-31", *extra
    )
    assert result.exit_code == 0, result.output
