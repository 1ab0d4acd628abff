"""Fixtures for the scheduler tests: the fake Bot API, an application context over the `db` fixture with the
controllable clock, and helpers that put respondents, responses and answers in place."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.context import AppContext
from bot.settings import Settings
from bot.telegram.sender import TelegramTransport
from scheduler.outbox import OutboxSender
from storage.conversation import ConversationService, GiveConsent, Reply, Start, Who
from storage.db import Database
from storage.repo import outbox
from storage.repo.sql import answer, channel_address, respondent, response
from tests.conftest import Clock
from tests.fakebot import FakeBotAPI

SECRET = b"scheduler-test-secret"
_ids = itertools.count(1)


def settings(tmp_path: Path, db_url: str = "sqlite+aiosqlite:///:memory:", **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "secret_key": "s",
        "secret_file": tmp_path / "secret",
        "tz": "Asia/Ho_Chi_Minh",
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeBotAPI) -> AsyncIterator[Any]:
    client = fake.make_bot()
    yield client
    await client.session.close()


@pytest.fixture
def app(db: Database, clock: Clock, tmp_path: Path) -> AppContext:
    cfg = settings(tmp_path, db.url, scheduler_lock_file=tmp_path / "scheduler.lock")
    return AppContext(cfg, db, ConversationService(db, SECRET, clock), clock, bot_username="khaosat_test_bot")


def make_sender(app: AppContext, bot: Any, **kwargs: Any) -> OutboxSender:
    from bot.app import scheduler_config
    from scheduler.app import sender_for

    sender = sender_for(app.db, app.clock, TelegramTransport(bot), "telegram", scheduler_config(app.settings))
    for name, value in kwargs.items():
        setattr(sender, name, value)
    return sender


def make_scheduler(app: AppContext, transport: Any, **kwargs: Any) -> Any:
    """The scheduler the application would run, with this Telegram transport."""
    from bot.app import scheduler_config
    from scheduler.app import SchedulerService

    return SchedulerService(app.db, app.clock, scheduler_config(app.settings), {"telegram": transport}, **kwargs)


async def start_response(
    service: ConversationService, chat_id: int, *, language: str = "vi", answers: int = 0, ward: int | None = 70
) -> int:
    """A respondent (Telegram chat `chat_id`) who agreed and answered `answers` questions; returns the response id."""
    who = Who("telegram", str(chat_id), address=str(chat_id), language=language)
    await service.handle(who, Start("hn-2026", ward), next(_ids))
    out = await service.handle(who, GiveConsent(True, "hn-2026", ward), next(_ids))
    from flows import engine
    from flows.events import QuestionAsked

    for _ in range(answers):
        q = out.events[-1]
        assert isinstance(q, QuestionAsked), out
        value: Any = q.options[0].value if q.options else "2"
        if q.type == "multi_choice":
            value = [q.options[0].value]
        inp = (
            engine.Text(str(value), q.question_id)
            if q.type in ("number", "text")
            else engine.Answer(value, q.question_id)
        )
        out = await service.handle(who, Reply(inp, out.response_id), next(_ids))
    assert out.response_id is not None
    return out.response_id


async def set_activity(db: Database, response_id: int, at: datetime) -> None:
    async with db.write() as conn:
        await conn.execute(response.update().where(response.c.id == response_id).values(last_activity_at=at))


async def outbox_rows(db: Database, kind: str | None = None) -> list[outbox.OutboxRecord]:
    from storage.repo.sql import outbox_message

    async with db.read() as conn:
        q = sa.select(outbox_message.c.id).order_by(outbox_message.c.id)
        if kind is not None:
            q = q.where(outbox_message.c.kind == kind)
        ids = list((await conn.execute(q)).scalars())
        return [r for r in [await outbox.get(conn, i) for i in ids] if r is not None]


async def add_completed(
    db: Database,
    campaign_id: int,
    *,
    ward: int,
    completed_at: datetime,
    answers: dict[str, Any],
    count: int = 1,
) -> None:
    """`count` completed responses with the same answers, inserted directly (fast)."""
    from storage.types import numeric

    async with db.write() as conn:
        for _ in range(count):
            n = next(_ids)
            person = (
                await conn.execute(
                    respondent.insert()
                    .values(
                        key=f"k{n}-{campaign_id}",
                        language="vi",
                        opted_out=False,
                        invitations=False,
                        created_at=completed_at,
                    )
                    .returning(respondent.c.id)
                )
            ).scalar_one()
            rid = (
                await conn.execute(
                    response.insert()
                    .values(
                        campaign_id=campaign_id,
                        respondent_id=person,
                        ward_code=ward,
                        status="completed",
                        channel="telegram",
                        fixed=[],
                        started_at=completed_at - timedelta(minutes=5),
                        completed_at=completed_at,
                        last_activity_at=completed_at,
                        reminders_sent=0,
                    )
                    .returning(response.c.id)
                )
            ).scalar_one()
            rows = [
                {"response_id": rid, "question_id": q, "value": v, "value_num": numeric(v), "answered_at": completed_at}
                for q, v in answers.items()
            ]
            await conn.execute(answer.insert(), rows)


async def address_of(db: Database, chat_id: int) -> Any:
    async with db.read() as conn:
        return (await conn.execute(sa.select(channel_address).where(channel_address.c.address == str(chat_id)))).first()


def sorted_texts(messages: Sequence[Any]) -> list[str]:
    return [m.visible_text for m in messages]
