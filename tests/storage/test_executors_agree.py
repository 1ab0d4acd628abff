"""The two executors carry out the same decisions: the driver-level one (PostgreSQL's single statement with
its version checks, the locked program, the new-person statements) and the portable one (SQLAlchemy) give
the same outcomes and store the same rows, for the golden cases and for random sequences of actions (answers,
typed text, back, skip, restart, language, double taps, stale buttons, erasure, consent and its refusal)."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows import engine
from flows.conversation import (
    Action,
    DeleteMyData,
    GiveConsent,
    Outcome,
    OutcomeKind,
    Reply,
    Restart,
    SetInvitations,
    SetLanguage,
    Start,
    Who,
)
from flows.events import QuestionAsked
from flows.loader import bundled_survey_path, load_survey
from storage import migrate
from storage.conversation import ConversationService, respondent_key
from storage.db import Database
from storage.repo import campaigns, surveys, wards
from storage.repo.sql import admin_unit, answer, channel_address, respondent, response
from tests.conftest import clean_database
from tests.engine.golden_runner import GOLDEN, compact

SECRET = b"agree-secret"
NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
CODE = "agree"
GOLDEN_CODE = "golden"
WARDS = [70, 235, 4, 8, 73, 256]


class Loop:
    """An event loop in a thread with a database, a live campaign and the two services, so that a synchronous
    hypothesis test can drive them (and shrink a failure to its shortest sequence)."""

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.db: Database = self.call(self._setup(url))
        self.clock = lambda: NOW
        self.fast = ConversationService(self.db, SECRET, self.clock)
        self.portable = ConversationService(self.db, SECRET, self.clock)
        self.portable.fast = False

    def call(self, coro: Any, timeout: float = 60) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    async def _setup(self, url: str) -> Database:
        db = Database(url)
        if db.is_sqlite:
            await migrate.upgrade(db)
        else:
            await clean_database(db)
        async with db.write() as conn:
            if await wards.count(conn, 1) == 0:
                await wards.import_province(conn, 1)
            record, _ = await surveys.publish(conn, load_survey(bundled_survey_path()), NOW)
            await campaigns.create(
                conn, code=CODE, survey_id=record.id, title="Đồng thuận", wards=WARDS,
                starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(days=30), now=NOW,
            )  # fmt: skip
            await campaigns.launch(conn, CODE, NOW)
            in_hanoi = sa.select(admin_unit.c.code).where(admin_unit.c.province_code == 1)
            hanoi = list((await conn.execute(in_hanoi)).scalars())
            await campaigns.create(
                conn, code=GOLDEN_CODE, survey_id=record.id, title="Golden", wards=hanoi,
                starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(days=30), now=NOW,
            )  # fmt: skip
            await campaigns.launch(conn, GOLDEN_CODE, NOW, allow_overlap=True)
        return db

    def close(self) -> None:
        self.call(self.db.dispose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def running(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loop]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('agree') / 'agree.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    loop = Loop(url)
    yield loop
    loop.close()


_people = itertools.count(7_000_000)
_updates = itertools.count(800_000_000)


def normalised(outcome: Outcome) -> dict[str, Any]:
    """What an outcome shows, without the ids that differ from person to person."""
    return {
        "kind": outcome.kind,
        "events": [compact(e) for e in outcome.events],
        "language": outcome.language,
        "duplicate": outcome.duplicate,
        "campaign": outcome.campaign_code,
        "ward": outcome.ward_code,
        "has_response": outcome.response_id is not None,
        "answers": dict(outcome.answers),
        "fixed": tuple(outcome.fixed),
        "resumed": outcome.resumed,
        "choices": [c.code for c in outcome.campaigns],
    }


async def stored(db: Database, who: Who) -> dict[str, Any]:
    """Everything stored about a person, without ids and times."""
    key = respondent_key(SECRET, who.channel, who.user_id)
    async with db.read() as conn:
        person = (
            await conn.execute(
                sa.select(respondent.c.id, respondent.c.language, respondent.c.consent_at, respondent.c.invitations)
                .where(respondent.c.key == key)
            )
        ).first()
        if person is None:
            return {}
        addresses = (
            await conn.execute(
                sa.select(channel_address.c.channel, channel_address.c.address, channel_address.c.unreachable)
                .where(channel_address.c.respondent_id == person.id)
            )
        ).all()
        rows = (
            await conn.execute(
                sa.select(response.c.id, response.c.status, response.c.ward_code, response.c.fixed)
                .where(response.c.respondent_id == person.id).order_by(response.c.id)
            )
        ).all()
        found = []
        for r in rows:
            answers = (
                await conn.execute(
                    sa.select(answer.c.question_id, answer.c.value, answer.c.value_num)
                    .where(answer.c.response_id == r.id).order_by(answer.c.id)
                )
            ).all()
            found.append((r.status, r.ward_code, tuple(r.fixed or ()), [tuple(a) for a in answers]))
    return {
        "language": person.language,
        "consented": person.consent_at is not None,
        "invitations": person.invitations,
        "addresses": sorted((a.channel, a.unreachable) for a in addresses),
        "responses": found,
    }


class Person:
    """One person talking to one of the services; their next button press is built from what they see."""

    def __init__(self, service: ConversationService, language: str) -> None:
        user = str(next(_people))
        self.service = service
        self.who = Who("telegram", user, address=user, language=language)
        self.last: Outcome | None = None
        self.last_update: int | None = None
        self.asked: list[QuestionAsked] = []

    def current(self) -> QuestionAsked | None:
        event = self.last.events[-1] if self.last is not None and self.last.events else None
        return event if isinstance(event, QuestionAsked) else None

    def action(self, step: tuple[Any, ...]) -> Action | None:
        """The action a step means for this person now (None: the same update again)."""
        kind = step[0]
        rid = self.last.response_id if self.last is not None else None
        q = self.current()
        if kind == "start":
            return Start(CODE if step[1] else None, step[2])
        if kind == "consent":
            return GiveConsent(step[1], CODE, step[2], invitations=step[3])
        if kind == "answer":
            if q is None:
                return Reply(engine.Text(str(step[1])))
            if q.options:
                option = q.options[step[1] % len(q.options)]
                value: Any = option.value
                if q.type == "multi_choice":
                    value = [option.value]
                return Reply(engine.Answer(value, q.question_id), rid)
            return Reply(engine.Text(("3", "0", "abc", "", "99999", "mười")[step[1] % 6], q.question_id), rid)
        if kind == "text":
            return Reply(engine.Text(step[1]))
        if kind == "back":
            return Reply(engine.Back(q.question_id if q else None), rid)
        if kind == "skip":
            return Reply(engine.Skip(q.question_id if q else None), rid)
        if kind == "stale":
            old = self.asked[step[1] % len(self.asked)] if self.asked else None
            return Reply(engine.Answer("x" if old is None else 1, None if old is None else old.question_id), rid)
        if kind == "restart":
            return Restart()
        if kind == "lang":
            return SetLanguage(step[1])
        if kind == "delete":
            return DeleteMyData()
        if kind == "invite":
            return SetInvitations(step[1])
        assert kind == "repeat"
        return None

    async def do(self, step: tuple[Any, ...]) -> Outcome:
        action = self.action(step)
        if action is None:
            if self.last_update is None or self._last_action is None:
                action, update = Start(CODE), next(_updates)
            else:
                action, update = self._last_action, self.last_update
        else:
            update = next(_updates)
        self._last_action: Action | None = action
        self.last_update = update
        self.last = await self.service.handle(self.who, action, update)
        q = self.current()
        if q is not None:
            self.asked.append(q)
        return self.last

    _last_action: Action | None = None


steps = st.one_of(
    st.tuples(st.just("start"), st.booleans(), st.sampled_from([None, 70, 235, 999])),
    st.tuples(st.just("consent"), st.booleans(), st.sampled_from([None, 70, 999]), st.booleans()),
    st.tuples(st.just("answer"), st.integers(0, 20)),
    st.tuples(st.just("answer"), st.integers(0, 20)),
    st.tuples(st.just("answer"), st.integers(0, 20)),
    st.tuples(st.just("text"), st.sampled_from(["1", "hoan kiem", "dong", "<", "", "2 3", "Hài lòng", "zzz"])),
    st.tuples(st.just("back")),
    st.tuples(st.just("skip")),
    st.tuples(st.just("stale"), st.integers(0, 10)),
    st.tuples(st.just("restart")),
    st.tuples(st.just("lang"), st.sampled_from(["vi", "en"])),
    st.tuples(st.just("delete")),
    st.tuples(st.just("invite"), st.booleans()),
    st.tuples(st.just("repeat")),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(script=st.lists(steps, min_size=1, max_size=25), language=st.sampled_from(["vi", "en"]))
def test_random_sequences_give_the_same_outcomes_and_rows_through_both_executors(
    running: Loop, script: list[tuple[Any, ...]], language: str
) -> None:
    a, b = Person(running.fast, language), Person(running.portable, language)
    for number, step in enumerate(script):
        fast, portable = running.call(a.do(step)), running.call(b.do(step))
        assert normalised(fast) == normalised(portable), f"step {number} {step}"
        assert running.call(stored(running.db, a.who)) == running.call(stored(running.db, b.who)), f"step {number}"


def _golden_cases() -> list[Path]:
    cases = []
    for path in sorted(GOLDEN.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        if "survey: bundled" in text and "wards: hanoi" in text:
            cases.append(path)
    return cases


@pytest.mark.parametrize("path", _golden_cases(), ids=lambda p: p.stem)
def test_golden_cases_through_both_executors(running: Loop, path: Path) -> None:
    """The golden cases (bundled questionnaire), as a person would send them to the service: each step after
    consent gives the events the engine's golden file expects, and both executors give the same outcomes and
    store the same rows."""
    import yaml

    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    language = case.get("language", "vi")
    people = [Person(running.fast, language), Person(running.portable, language)]
    ward: int | None = None
    for number, spec in enumerate(case["steps"]):
        if "start" in spec:
            ward = ((spec["start"] or {}).get("prefill") or {}).get("ward")
            actions = [Start(GOLDEN_CODE, ward)] * 2
        else:
            given_input = spec["input"]
            if "consent" in given_input:
                actions = [GiveConsent(bool(given_input["consent"]), GOLDEN_CODE, ward)] * 2
            else:
                actions = [Reply(_input(given_input), p.last.response_id if p.last else None) for p in people]
        outcomes = []
        for person, action in zip(people, actions, strict=True):
            person.last = running.call(person.service.handle(person.who, action, next(_updates)))
            outcomes.append(person.last)
        if outcomes[0].kind is OutcomeKind.EVENTS or not isinstance(actions[0], Reply):
            # (an input before consent is a /start to the service, and one after the thank-you an "already
            # completed" notice, where the engine alone says it ignored them)
            assert [compact(e) for e in outcomes[0].events] == spec.get("events"), f"step {number}"
        assert normalised(outcomes[0]) == normalised(outcomes[1]), f"step {number}"
        assert running.call(stored(running.db, people[0].who)) == running.call(stored(running.db, people[1].who))


def _input(spec: dict[str, Any]) -> engine.Input:
    qid = spec.get("question")
    if "text" in spec:
        return engine.Text(str(spec["text"]), qid)
    if "value" in spec:
        return engine.Answer(spec["value"], qid)
    if spec.get("back"):
        return engine.Back(qid)
    return engine.Skip(qid)


def test_the_helpers_see_the_difference_they_are_meant_to_see() -> None:
    """The comparison is not blind: outcomes that differ in what they show compare unequal."""
    one = Outcome(OutcomeKind.EVENTS, language="vi", answers={"a": 1})
    assert normalised(one) != normalised(Outcome(OutcomeKind.EVENTS, language="vi", answers={"a": 2}))
    assert normalised(one) != normalised(Outcome(OutcomeKind.NO_RESPONSE, language="vi", answers={"a": 1}))
    assert json.dumps(normalised(one), default=str)
