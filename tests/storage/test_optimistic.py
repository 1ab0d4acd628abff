"""PostgreSQL's optimistic answer path (storage.fastpath.optimistic_reply_program): two statements for an
ordinary answer, and nothing written when the response changed between its read and its write."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from flows import engine
from flows.conversation import OutcomeKind
from flows.events import AnswerRecorded, InputIgnored, QuestionAsked
from storage.conversation import ConversationService, GiveConsent, Reply, SetLanguage, Start, Who
from storage.conversation import service as service_module
from storage.conversation.load import load as real_load
from storage.db import Database
from storage.repo.sql import answer, channel_address, processed_update, respondent, response
from storage.repo.sql import campaign as campaigns_table
from tests.conftest import Clock, create_live_campaign
from tests.storage.test_conversation import ALICE, SECRET, asked, begin, count, uid


@pytest.fixture
def db_url(pg_url: str) -> str:
    return pg_url


class Trace:
    """The statements the fast path runs, with something to do just before a `commit_answer`."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.before_commit: list[Callable[[], Awaitable[None]]] = []

    async def run(self, conn: Any, program: Any, sql: dict[str, str]) -> Any:
        result: Any = None
        try:
            while True:
                name, args = program.send(result)
                if name == "commit_answer" and self.before_commit:
                    await self.before_commit.pop(0)()
                self.names.append(name)
                result = await conn.fetchrow(sql[name], *args)
        except StopIteration as stop:
            return stop.value


@pytest.fixture
def trace(monkeypatch: pytest.MonkeyPatch) -> Trace:
    tracer = Trace()
    monkeypatch.setattr(Database, "_run_asyncpg", staticmethod(tracer.run))
    return tracer


@pytest.fixture
def portable_loads(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The actions the portable executor loaded a snapshot for (a single statement that fell back shows here)."""
    loaded: list[Any] = []

    async def counting(conn: Any, key: str, action: Any, campaigns: Any, lock: bool) -> Any:
        loaded.append(action)
        return await real_load(conn, key, action, campaigns, lock)

    monkeypatch.setattr(service_module, "load", counting)
    return loaded


async def answers_of(db: Database, question: str) -> list[Any]:
    async with db.read() as conn:
        return list((await conn.execute(sa.select(answer.c.value).where(answer.c.question_id == question))).scalars())


async def test_an_answer_is_two_statements_and_a_repeat_is_one(db: Database, clock: Clock, trace: Trace) -> None:
    await create_live_campaign(db, clock())
    service = ConversationService(db, SECRET, clock)
    out = await begin(service)
    update = uid()
    tap = Reply(engine.Answer("18_29", "age_group"), out.response_id)
    first = await service.handle(ALICE, tap, update)
    assert isinstance(first.events[0], AnswerRecorded)
    assert trace.names[-2:] == ["load_seen", "commit_answer"]
    trace.names.clear()
    again = await service.handle(ALICE, tap, update)
    assert again.duplicate
    assert trace.names == ["load_seen"]  # nothing written, not even tried
    assert await answers_of(db, "age_group") == ["18_29"]
    trace.names.clear()
    second = await service.handle(ALICE, Reply(engine.Answer("female", "gender"), out.response_id), uid())
    assert isinstance(second.events[0], AnswerRecorded)
    assert trace.names == ["load_seen", "commit_answer"]  # the repeat wrote nothing: read again
    trace.names.clear()
    nxt = asked(second)
    third = await service.handle(
        ALICE, Reply(engine.Answer(nxt.options[0].value, nxt.question_id), out.response_id), uid()
    )
    assert isinstance(third.events[0], AnswerRecorded)
    assert trace.names == ["commit_answer"]  # the response as this process wrote it: no read
    assert await answers_of(db, "gender") == ["female"]
    assert service.answer_paths["known"] == 1 and service.answer_paths["optimistic"] == 3


async def test_a_response_written_meanwhile_is_read_again(db: Database, clock: Clock, trace: Trace) -> None:
    """The response this process last wrote was changed since by another process: the write without a
    read is refused, and the answer is read and decided again."""
    await create_live_campaign(db, clock())
    service, other = ConversationService(db, SECRET, clock), ConversationService(db, SECRET, clock)
    out = await begin(service)
    await service.handle(ALICE, Reply(engine.Answer("18_29", "age_group"), out.response_id), uid())
    await other.handle(ALICE, Reply(engine.Answer("female", "gender"), out.response_id), uid())
    trace.names.clear()
    result = await service.handle(ALICE, Reply(engine.Answer("male", "gender"), out.response_id), uid())
    assert isinstance(result.events[0], InputIgnored)  # gender was answered: decided on the new state
    assert await answers_of(db, "gender") == ["female"]
    assert trace.names[:2] == ["commit_answer", "load_seen"]
    # and the next answer reads again too (nothing is known after a refusal), then is known again
    await service.handle(ALICE, Reply(engine.Answer("30_44", "age_group"), out.response_id), uid())
    assert await answers_of(db, "age_group") == ["18_29"]  # not the question being asked: ignored
    assert isinstance(asked_now := (await service.view(ALICE)).events[-1], QuestionAsked)
    assert asked_now.question_id != "gender"


async def test_a_language_change_elsewhere_is_noticed(db: Database, clock: Clock, trace: Trace) -> None:
    """The respondent's row (their language) changed: the next answer is read again, so that the next
    question is asked in the new language."""
    await create_live_campaign(db, clock())
    service, other = ConversationService(db, SECRET, clock), ConversationService(db, SECRET, clock)
    out = await begin(service)
    await service.handle(ALICE, Reply(engine.Answer("18_29", "age_group"), out.response_id), uid())
    await other.handle(ALICE, SetLanguage("en"), uid())
    trace.names.clear()
    result = await service.handle(ALICE, Reply(engine.Answer("female", "gender"), out.response_id), uid())
    assert trace.names == ["commit_answer", "load_seen", "commit_answer"]  # refused, read again, written
    assert result.language == "en"
    assert isinstance(result.events[0], AnswerRecorded)


async def test_an_answer_committed_between_read_and_write_wins(db: Database, clock: Clock, trace: Trace) -> None:
    """Two workers, two different answers to the same question: the second one read the response before
    the first one wrote. Without the version check it would overwrite the first answer with a step made
    on an old state."""
    await create_live_campaign(db, clock())
    service, other = ConversationService(db, SECRET, clock), ConversationService(db, SECRET, clock)
    out = await begin(service)
    await service.handle(ALICE, Reply(engine.Answer("18_29", "age_group"), out.response_id), uid())
    service.prompts.forget_all()  # read before writing (not the response as this process last wrote it)
    late, early = uid(), uid()
    outcomes: list[Any] = []

    async def meanwhile() -> None:
        outcomes.append(await other.handle(ALICE, Reply(engine.Answer("female", "gender"), out.response_id), early))

    trace.before_commit.append(meanwhile)
    trace.names.clear()
    result = await service.handle(ALICE, Reply(engine.Answer("male", "gender"), out.response_id), late)
    assert isinstance(outcomes[0].events[0], AnswerRecorded)
    assert isinstance(result.events[0], InputIgnored)  # decided again, under the lock, on the new state
    assert not any(isinstance(e, AnswerRecorded) for e in result.events)
    assert await answers_of(db, "gender") == ["female"]
    # the late one read; the other wrote (through the general path: its questionnaire was not cached yet);
    # the late one's write was refused, and the locked program ran
    assert trace.names == ["load_seen", "load_seen", "commit_answer", "claim_lock", "load", "update"]
    assert await count(db, processed_update, processed_update.c.update_id.in_([str(late), str(early)])) == 2


async def test_a_change_committed_while_waiting_for_the_lock_is_seen(
    db: Database, db_url: str, clock: Clock, trace: Trace
) -> None:
    """Another transaction holds the respondent (as every path does) and updates the response; the write
    waits for it, then sees the new row version (not its own older snapshot) and writes nothing."""
    await create_live_campaign(db, clock())
    service = ConversationService(db, SECRET, clock)
    out = await begin(service)
    dsn = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    holder = await asyncpg.connect(dsn)
    released = asyncio.Event()

    async def hold_then_commit() -> None:
        await asyncio.sleep(0.3)  # the write is waiting for the respondent by now
        await holder.execute("UPDATE response SET last_activity_at = last_activity_at WHERE id = $1", out.response_id)
        await holder.execute("COMMIT")
        released.set()

    async def lock_person() -> None:
        await holder.execute("BEGIN")
        await holder.execute("SELECT id FROM respondent FOR UPDATE")
        asyncio.get_running_loop().create_task(hold_then_commit())

    trace.before_commit.append(lock_person)
    try:
        trace.names.clear()
        result = await service.handle(ALICE, Reply(engine.Answer("30_44", "age_group"), out.response_id), uid())
    finally:
        await holder.close()
    assert released.is_set()
    assert isinstance(result.events[0], AnswerRecorded)  # recorded, by the locked program
    assert trace.names[:2] == ["load_seen", "commit_answer"] and "claim_lock" in trace.names
    assert await answers_of(db, "age_group") == ["30_44"]


async def test_after_back_and_prompt_flushes_nothing_stale_is_used(db: Database, clock: Clock, trace: Trace) -> None:
    """Back goes through the locked program: the response is no longer known, and a prompt-id flush (which
    changes the row's version) cannot make an old known state current again."""
    await create_live_campaign(db, clock())
    service = ConversationService(db, SECRET, clock)
    out = await begin(service)
    rid = out.response_id
    await service.handle(ALICE, Reply(engine.Answer("18_29", "age_group"), rid), uid())
    await service.set_prompt(rid, 10)
    await service.flush_prompts()
    assert service.prompts.knows(rid)  # a flush alone keeps it known, at the row's new version
    back = await service.handle(ALICE, Reply(engine.Back("gender"), rid), uid())
    assert asked(back).question_id == "age_group"
    assert not service.prompts.knows(rid)
    await service.set_prompt(rid, 11)
    await service.flush_prompts()
    assert not service.prompts.knows(rid)
    trace.names.clear()
    again = await service.handle(ALICE, Reply(engine.Answer("30_44", "age_group"), rid), uid())
    assert isinstance(again.events[0], AnswerRecorded) and again.events[0].question_id == "age_group"
    assert trace.names[0] == "load_seen"
    assert await answers_of(db, "age_group") == ["30_44"]


async def test_a_typed_answer_is_always_read(db: Database, clock: Clock, trace: Trace) -> None:
    """A typed text answers the person's most recently active response, which another process may have
    changed: it never skips the read."""
    await create_live_campaign(db, clock())
    service = ConversationService(db, SECRET, clock)
    out = await begin(service)
    await service.handle(ALICE, Reply(engine.Answer("18_29", "age_group"), out.response_id), uid())
    assert service.prompts.knows(out.response_id)
    trace.names.clear()
    await service.handle(ALICE, Reply(engine.Text("Nữ")), uid())
    assert trace.names[0] == "load_seen"


async def test_a_flush_after_another_process_wrote_does_not_make_old_state_current(
    db: Database, clock: Clock, trace: Trace
) -> None:
    await create_live_campaign(db, clock())
    service, other = ConversationService(db, SECRET, clock), ConversationService(db, SECRET, clock)
    out = await begin(service)
    rid = out.response_id
    await service.handle(ALICE, Reply(engine.Answer("18_29", "age_group"), rid), uid())
    await other.handle(ALICE, Reply(engine.Answer("female", "gender"), rid), uid())
    await service.set_prompt(rid, 12)
    await service.flush_prompts()  # its version before is the other process's, not the one known here
    assert not service.prompts.knows(rid)


async def rows_of(db: Database, who_key: str) -> dict[str, Any]:
    async with db.read() as conn:
        person = (await conn.execute(sa.select(respondent).where(respondent.c.key == who_key))).one()
        address = (
            await conn.execute(
                sa.select(channel_address.c.channel, channel_address.c.address, channel_address.c.unreachable).where(
                    channel_address.c.respondent_id == person.id
                )
            )
        ).all()
        row = (await conn.execute(sa.select(response).where(response.c.respondent_id == person.id))).one()
        answers = (
            await conn.execute(
                sa.select(answer.c.question_id, answer.c.value, answer.c.value_num).where(
                    answer.c.response_id == row.id
                )
            )
        ).all()
    return {
        "person": (person.language, person.consent_at is not None, person.opted_out, person.invitations),
        "address": [tuple(a) for a in address],
        "response": (row.campaign_id, row.ward_code, row.status, row.channel, row.fixed, row.reminders_sent),
        "answers": [tuple(a) for a in answers],
    }


async def test_agreeing_as_a_new_person_is_one_statement_and_stores_what_the_general_path_does(
    db: Database, clock: Clock, trace: Trace, portable_loads: list[Any]
) -> None:
    await create_live_campaign(db, clock())
    warm, cold = ConversationService(db, SECRET, clock), ConversationService(db, SECRET, clock)
    bob = Who("telegram", "2002", address="2002", language="vi")
    carol = Who("telegram", "2003", address="2003", language="vi")
    await warm.handle(bob, Start("hn-2026", 70), uid())  # reads the campaign: the next consent is one statement
    trace.names.clear()
    portable_loads.clear()
    fast = await warm.handle(bob, GiveConsent(True, "hn-2026", 70), uid())
    assert trace.names == ["begin_new"]
    assert portable_loads == []  # the statement did it all: it did not fall back
    await cold.handle(carol, Start("hn-2026", 70), uid())
    cold.campaigns.by_code.clear()  # the general path, for comparison
    trace.names.clear()
    general = await cold.handle(carol, GiveConsent(True, "hn-2026", 70), uid())
    assert "begin_new" not in trace.names
    assert asked(fast) == asked(general)
    assert fast.ward_code == general.ward_code == 70
    expected = await rows_of(db, cold.key(carol))
    got = await rows_of(db, warm.key(bob))
    assert got["address"] == [("telegram", "2002", False)] and expected["address"] == [("telegram", "2003", False)]
    assert {k: v for k, v in got.items() if k != "address"} == {k: v for k, v in expected.items() if k != "address"}
    # the next answer goes on as usual
    nxt = await warm.handle(bob, Reply(engine.Answer("18_29", "age_group"), fast.response_id), uid())
    assert isinstance(nxt.events[0], AnswerRecorded)


async def test_agreeing_again_repeated_or_too_late_goes_the_general_way(
    db: Database, clock: Clock, trace: Trace
) -> None:
    await create_live_campaign(db, clock())
    service = ConversationService(db, SECRET, clock)
    bob = Who("telegram", "2004", address="2004", language="vi")
    await service.handle(bob, Start("hn-2026", 70), uid())
    update = uid()
    first = await service.handle(bob, GiveConsent(True, "hn-2026", 70), update)
    repeat = await service.handle(bob, GiveConsent(True, "hn-2026", 70), update)
    assert repeat.duplicate and asked(repeat).question_id == asked(first).question_id
    again = await service.handle(bob, GiveConsent(True, "hn-2026", 70), uid())  # a second tap: known person
    assert again.response_id == first.response_id and again.resumed
    assert await count(db, response) == 1 and await count(db, respondent) == 1
    carol = Who("telegram", "2005", address="2005", language="vi")
    await service.handle(carol, Start("hn-2026", 70), uid())
    async with db.write() as conn:  # the campaign ends while the consent screen is open
        await conn.execute(campaigns_table.update().values(ends_at=clock() - timedelta(minutes=1)))
    late = await service.handle(carol, GiveConsent(True, "hn-2026", 70), uid())
    assert late.kind is OutcomeKind.CAMPAIGN_CLOSED
    assert await count(db, respondent) == 1


async def test_a_deep_link_from_a_new_person_is_one_statement_and_asks_for_consent(
    db: Database, clock: Clock, trace: Trace, portable_loads: list[Any]
) -> None:
    await create_live_campaign(db, clock())
    service = ConversationService(db, SECRET, clock)
    dan, eve = (Who("telegram", str(n), address=str(n), language="vi") for n in (2006, 2007))
    trace.names.clear()
    general = await service.handle(dan, Start("hn-2026", 70), uid())  # the first read of the campaign
    assert "start_new" not in trace.names
    trace.names.clear()
    portable_loads.clear()
    update = uid()
    fast = await service.handle(eve, Start("hn-2026", 70), update)
    assert trace.names == ["start_new"]
    assert portable_loads == []  # the statement did it all: it did not fall back
    assert fast.events == general.events and fast.ward_code == general.ward_code == 70
    assert (fast.kind, fast.language, fast.campaign_code) == (general.kind, general.language, general.campaign_code)
    assert await count(db, respondent) == 0  # nothing about a person before consent
    repeat = await service.handle(eve, Start("hn-2026", 70), update)
    assert repeat.duplicate
    assert await count(db, processed_update, processed_update.c.update_id == str(update)) == 1
    agreed = await service.handle(eve, GiveConsent(True, "hn-2026", 70), uid())
    again = await service.handle(eve, Start("hn-2026", 70), uid())  # known now: the general path resumes
    assert again.response_id == agreed.response_id


async def test_a_selection_is_drawn_from_one_statement(db: Database, clock: Clock, trace: Trace) -> None:
    """A multi-choice selection only re-draws buttons: one statement tells which question is current and
    how it is asked, the general view's answer."""
    await create_live_campaign(db, clock())
    service = ConversationService(db, SECRET, clock)
    out = await begin(service)
    rid = out.response_id
    after = await service.handle(ALICE, Reply(engine.Answer("18_29", "age_group"), rid), uid())
    general = await service.view(ALICE)
    trace.names.clear()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(service, "_view", None)  # not the general read
        view = await service.button_view(ALICE, rid)
    assert trace.names == ["load"]
    assert asked(view) == asked(general) and asked(view).question_id == asked(after).question_id
    assert (view.response_id, view.language, view.answers) == (general.response_id, general.language, general.answers)


async def test_a_selection_after_changes_elsewhere_shows_them(db: Database, clock: Clock, trace: Trace) -> None:
    """Another process answered, then the person switched to English: the selection is drawn on the
    response as it is now (not as this process last wrote it)."""
    await create_live_campaign(db, clock())
    service, other = ConversationService(db, SECRET, clock), ConversationService(db, SECRET, clock)
    out = await begin(service)
    rid = out.response_id
    await service.handle(ALICE, Reply(engine.Answer("18_29", "age_group"), rid), uid())
    moved = await other.handle(ALICE, Reply(engine.Answer("female", "gender"), rid), uid())
    english = await other.handle(ALICE, SetLanguage("en"), uid())
    view = await service.button_view(ALICE, rid)
    assert asked(view).question_id == asked(moved).question_id
    assert view.language == "en" and asked(view) == asked(english)


async def test_a_selection_on_someone_elses_response_shows_nothing_of_it(
    db: Database, clock: Clock, trace: Trace
) -> None:
    await create_live_campaign(db, clock())
    service = ConversationService(db, SECRET, clock)
    out = await begin(service)
    after = await service.handle(ALICE, Reply(engine.Answer("18_29", "age_group"), out.response_id), uid())
    mallory = Who("telegram", "2666", address="2666", language="vi")
    view = await service.button_view(mallory, out.response_id)  # a forged button
    assert view.response_id is None and not view.events
    assert asked(await service.button_view(ALICE, out.response_id)) == asked(after)
