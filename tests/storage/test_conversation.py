"""The conversation service on SQLite and PostgreSQL: one transaction per input, idempotent updates,
serialised double taps, resume after a restart, consent and deletion."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
import sqlalchemy as sa

from flows import engine
from flows.conversation import OutcomeKind
from flows.events import AnswerRecorded, ConsentRequested, InputIgnored, QuestionAsked, SurveyCompleted
from storage.conversation import (
    ConversationService,
    DeleteMyData,
    GiveConsent,
    Reply,
    Restart,
    SetLanguage,
    Start,
    Who,
    respondent_key,
)
from storage.db import Database
from storage.repo import campaigns, chat_state
from storage.repo.sql import answer, channel_address, processed_update, respondent, response
from tests.conftest import Clock, create_live_campaign

SECRET = b"test-secret"


@pytest.fixture(autouse=True, params=["fast", "portable"])
def executor(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs with the driver-level executor where it applies, and with the portable one only."""
    monkeypatch.setattr(ConversationService, "fast", request.param == "fast")
    return str(request.param)

ALICE = Who("telegram", "1001", address="1001", language="vi")
_updates = itertools.count(1)


def uid() -> int:
    return next(_updates)


def asked(outcome: Any) -> QuestionAsked:
    event = outcome.events[-1]
    assert isinstance(event, QuestionAsked), outcome
    return event


async def count(db: Database, table: sa.Table, *where: Any) -> int:
    async with db.read() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table).where(*where))).scalar_one())


async def begin(service: ConversationService, who: Who = ALICE, ward: int | None = 70) -> Any:
    first = await service.handle(who, Start("hn-2026", ward), uid())
    assert isinstance(first.events[0], ConsentRequested)
    return await service.handle(who, GiveConsent(True, "hn-2026", ward), uid())


async def test_nothing_is_stored_before_consent_and_decline_keeps_nothing(db: Database, clock: Clock) -> None:
    await create_live_campaign(db, clock())
    service = ConversationService(db, SECRET, clock)
    out = await service.handle(ALICE, Start("hn-2026", 70), uid())
    assert out.kind is OutcomeKind.EVENTS and isinstance(out.events[0], ConsentRequested)
    assert await count(db, respondent) == 0
    declined = await service.handle(ALICE, GiveConsent(False, "hn-2026", 70), uid())
    assert declined.kind is OutcomeKind.DECLINED
    assert await count(db, respondent) == 0
    assert await count(db, response) == 0
    assert await count(db, channel_address) == 0


async def test_walk_with_deep_link_stores_every_answer(db: Database, clock: Clock) -> None:
    await create_live_campaign(db, clock())
    service = ConversationService(db, SECRET, clock)
    out = await begin(service)
    q = asked(out)
    assert (q.question_id, q.number, q.total) == ("age_group", 1, 17)  # the ward came with the link
    async with db.read() as conn:
        row = (await conn.execute(sa.select(response))).one()
        person = (await conn.execute(sa.select(respondent))).one()
        address = (await conn.execute(sa.select(channel_address))).one()
    assert row.ward_code == 70 and row.status == "in_progress" and row.fixed == ["ward"]
    assert person.key == respondent_key(SECRET, "telegram", "1001") and person.consent_at is not None
    assert address.address == "1001" and address.respondent_id == person.id
    answers = {
        "age_group": "30_44",
        "gender": None,
        "used_service": "no",
        "gave_feedback": "yes",
        "sat_feedback": 2,
        "transparency": "dk",
        "environment": 3,
        "top_issues": ["waste", "flooding"],
        "overall_satisfaction": 4,
        "comment": "Cần thêm <b>cây xanh</b>'; DROP TABLE answer; --",
    }
    while True:
        q = asked(out)
        value = answers[q.question_id]
        inp: engine.Input = engine.Skip(q.question_id) if value is None else engine.Answer(value, q.question_id)
        out = await service.handle(ALICE, Reply(inp, out.response_id), uid())
        if isinstance(out.events[-1], SurveyCompleted):
            break
    async with db.read() as conn:
        stored = dict((await conn.execute(sa.select(answer.c.question_id, answer.c.value))).all())
        nums = dict((await conn.execute(sa.select(answer.c.question_id, answer.c.value_num))).all())
        row = (await conn.execute(sa.select(response))).one()
    assert stored == {"ward": 70, **answers}
    assert nums["overall_satisfaction"] == 4.0 and nums["transparency"] is None and nums["age_group"] is None
    assert row.status == "completed" and row.completed_at == clock()
    again = await service.handle(ALICE, Start("hn-2026", 70), uid())
    assert again.kind is OutcomeKind.ALREADY_COMPLETED


@pytest.mark.parametrize("seconds, expected", [(0.5, "too_fast,straightlining"), (20, "straightlining")])
async def test_the_completing_write_carries_the_quality_flags_the_stored_rows_give(
    db: Database, clock: Clock, seconds: float, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A response completed in a chat gets its flags in the completing write (no assessment afterwards), and
    they are what `storage.repo.quality.assess` computes again from the stored rows."""
    from storage.repo import quality

    await create_live_campaign(db, clock())
    service = ConversationService(db, SECRET, clock)
    assessed: list[int] = []
    real_assess = quality.assess

    async def counting(conn: Any, response_id: int, survey: Any) -> Any:
        assessed.append(response_id)
        return await real_assess(conn, response_id, survey)

    monkeypatch.setattr(quality, "assess", counting)
    out = await begin(service)
    while not isinstance(out.events[-1], SurveyCompleted):
        q = asked(out)
        clock.advance(seconds=seconds)
        if q.type == "likert5":
            inp: engine.Input = engine.Answer(5, q.question_id)  # the same level everywhere: straightlining
        elif not q.required:
            inp = engine.Skip(q.question_id)
        elif q.type == "multi_choice":
            inp = engine.Answer([q.options[0].value], q.question_id)
        elif q.type == "number":
            inp = engine.Answer(1, q.question_id)
        else:
            inp = engine.Answer(q.options[0].value if q.options else "x", q.question_id)
        out = await service.handle(ALICE, Reply(inp, out.response_id), uid())
    assert assessed == []  # nothing after the completing write
    async with db.read() as conn:
        stored = (await conn.execute(sa.select(response.c.id, response.c.quality_flags))).one()
    assert stored.quality_flags == expected
    async with db.write() as conn:
        again = await real_assess(conn, stored.id, out.survey)
    assert again is not None and ",".join(again) == expected


async def test_a_web_response_is_left_for_the_sweep_until_its_address_count_is_assessed(
    db: Database, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A web completion's flags need its address's completions: they are not written with the completion, so a
    process stopping before the assessment leaves them NULL, and the scheduler's sweep assesses them (found by
    a fresh-eyes review: a "" written with the completion hid the response from the sweep for good)."""
    from storage.repo import quality

    await create_live_campaign(db, clock())
    service = ConversationService(db, SECRET, clock)
    who = Who("web", "visitor-1", language="vi")
    out = await begin(service, who)

    async def stopped(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the process stopped between the completion and the assessment")

    real_assess = quality.assess
    monkeypatch.setattr(quality, "assess", stopped)
    with pytest.raises(RuntimeError):
        while True:
            q = asked(out)
            clock.advance(seconds=60)
            if not q.required:
                inp: engine.Input = engine.Skip(q.question_id)
            elif q.type == "multi_choice":
                inp = engine.Answer([q.options[0].value], q.question_id)
            elif q.type == "number":
                inp = engine.Answer(1, q.question_id)
            else:
                inp = engine.Answer(q.options[0].value if q.options else "x", q.question_id)
            out = await service.handle(who, Reply(inp, out.response_id), uid())
    async with db.read() as conn:
        row = (await conn.execute(sa.select(response.c.id, response.c.status, response.c.quality_flags))).one()
        pending = await quality.unassessed(conn)
    assert row.status == "completed" and row.quality_flags is None
    assert [rid for rid, _ in pending] == [row.id]
    monkeypatch.setattr(quality, "assess", real_assess)
    async with db.write() as conn:
        assert await quality.assess_pending(conn, lambda cid: quality.survey_of_campaign(conn, cid)) == 1
        assert (await conn.execute(sa.select(response.c.quality_flags))).scalar_one() is not None


async def test_repeated_update_changes_nothing_and_returns_the_current_view(db: Database, clock: Clock) -> None:
    await create_live_campaign(db, clock())
    service = ConversationService(db, SECRET, clock)
    out = await begin(service)
    update = uid()
    first = await service.handle(ALICE, Reply(engine.Answer("18_29", "age_group"), out.response_id), update)
    assert isinstance(first.events[0], AnswerRecorded)
    clock.advance(minutes=5)
    second = await service.handle(ALICE, Reply(engine.Answer("18_29", "age_group"), out.response_id), update)
    assert second.duplicate
    assert asked(second).question_id == "gender"  # what to show again, if the first reply was lost
    assert await count(db, answer) == 2  # ward + age_group
    async with db.read() as conn:
        last = (await conn.execute(sa.select(response.c.last_activity_at))).scalar_one()
    assert last == clock.now - __import__("datetime").timedelta(minutes=5)
    assert await count(db, processed_update, processed_update.c.update_id == str(update)) == 1


async def test_a_repeated_start_shows_the_consent_screen_again(db: Database, clock: Clock) -> None:
    """Nothing is stored before consent but the update's id: if the consent screen was lost (the process
    died after the commit, or the connection broke as it committed), Telegram's redelivery must show it
    again, or the person is left without any reply."""
    await create_live_campaign(db, clock())
    service = ConversationService(db, SECRET, clock)
    for _ in range(2):  # the first reads the campaign (general path); then it is known (PostgreSQL: one statement)
        update = uid()
        first = await service.handle(ALICE, Start("hn-2026", 70), update)
        again = await service.handle(ALICE, Start("hn-2026", 70), update)
        assert not first.duplicate and again.duplicate
        assert isinstance(again.events[0], ConsentRequested) and again.events == first.events
        assert again.ward_code == 70 and again.campaign_code == "hn-2026"
    assert await count(db, respondent) == 0  # and still nothing stored


async def test_fifty_concurrent_identical_taps_store_exactly_one_answer(db: Database, clock: Clock) -> None:
    await create_live_campaign(db, clock())
    service = ConversationService(db, SECRET, clock)
    out = await begin(service)
    tap = Reply(engine.Answer("45_59", "age_group"), out.response_id)
    results = await asyncio.gather(*(service.handle(ALICE, tap, uid()) for _ in range(50)))
    recorded = [r for r in results if any(isinstance(e, AnswerRecorded) for e in r.events)]
    ignored = [r for r in results if r.events and isinstance(r.events[0], InputIgnored)]
    assert len(recorded) == 1
    assert len(ignored) == 49
    assert all(r.events[0].reason == "already_answered" for r in ignored)
    assert await count(db, answer, answer.c.question_id == "age_group") == 1
    assert await count(db, answer) == 2


async def test_concurrent_people_do_not_block_each_other(db: Database, clock: Clock) -> None:
    await create_live_campaign(db, clock())
    service = ConversationService(db, SECRET, clock)
    people = [Who("telegram", str(2000 + i), address=str(2000 + i)) for i in range(20)]
    starts = await asyncio.gather(*(begin(service, p) for p in people))
    replies = await asyncio.gather(
        *(
            service.handle(p, Reply(engine.Answer("60_plus", "age_group"), s.response_id), uid())
            for p, s in zip(people, starts, strict=True)
        )
    )
    assert all(asked(r).question_id == "gender" for r in replies)
    assert await count(db, answer, answer.c.question_id == "age_group") == 20


async def test_resume_after_restart_on_the_same_database(db: Database, db_url: str, clock: Clock) -> None:
    await create_live_campaign(db, clock())
    service = ConversationService(db, SECRET, clock)
    out = await begin(service, ward=None)
    for value, qid in [(235, "ward"), ("18_29", "age_group"), ("male", "gender")]:
        out = await service.handle(ALICE, Reply(engine.Answer(value, qid), out.response_id), uid())
    await db.dispose()  # the process goes away

    fresh = Database(db_url)
    try:
        service2 = ConversationService(fresh, SECRET, clock)
        view = await service2.view(ALICE)
        q = asked(view)
        assert (q.question_id, q.number) == ("used_service", 4)
        # any message (here plain /start) resumes at the next unanswered question
        again = await service2.handle(ALICE, Start(), uid())
        assert asked(again).question_id == "used_service"
        assert again.ward_code == 235
    finally:
        await fresh.dispose()


async def test_back_removes_the_answer_and_reanswering_updates_it(db: Database, clock: Clock) -> None:
    await create_live_campaign(db, clock())
    service = ConversationService(db, SECRET, clock)
    out = await begin(service, ward=None)
    out = await service.handle(ALICE, Reply(engine.Answer(70, "ward"), out.response_id), uid())
    back = await service.handle(ALICE, Reply(engine.Back("age_group"), out.response_id), uid())
    q = asked(back)
    assert q.question_id == "ward" and q.previous == 70
    async with db.read() as conn:
        ward = (await conn.execute(sa.select(response.c.ward_code))).scalar_one()
    assert ward is None and await count(db, answer) == 0
    out = await service.handle(ALICE, Reply(engine.Text("dong da"), out.response_id), uid())
    assert out.ward_code == 235
    async with db.read() as conn:
        assert (await conn.execute(sa.select(answer.c.value))).scalar_one() == 235


async def test_stale_button_from_another_response_is_ignored(db: Database, clock: Clock) -> None:
    await create_live_campaign(db, clock())
    service = ConversationService(db, SECRET, clock)
    out = await begin(service)
    stale = await service.handle(ALICE, Reply(engine.Answer("18_29", "age_group"), out.response_id + 999), uid())
    assert isinstance(stale.events[0], InputIgnored)
    assert await count(db, answer) == 1


async def test_text_from_someone_not_answering_starts_the_conversation(db: Database, clock: Clock) -> None:
    await create_live_campaign(db, clock())
    service = ConversationService(db, SECRET, clock)
    out = await service.handle(ALICE, Reply(engine.Text("xin chào")), uid())
    assert isinstance(out.events[0], ConsentRequested) and out.campaign_code == "hn-2026"


async def test_choose_between_open_campaigns(db: Database, clock: Clock) -> None:
    await create_live_campaign(db, clock())
    await create_live_campaign(db, clock(), code="hn-moi-truong", title="Môi trường", allow_overlap=True)
    service = ConversationService(db, SECRET, clock)
    out = await service.handle(ALICE, Start(), uid())
    assert out.kind is OutcomeKind.CHOOSE_CAMPAIGN
    assert [c.code for c in out.campaigns] == ["hn-2026", "hn-moi-truong"]


async def test_closed_and_unknown_campaigns(db: Database, clock: Clock) -> None:
    await create_live_campaign(db, clock())
    service = ConversationService(db, SECRET, clock)
    out = await begin(service)
    assert (await service.handle(ALICE, Start("nope"), uid())).kind is OutcomeKind.UNKNOWN_CAMPAIGN
    async with db.write() as conn:
        _, abandoned, addresses = await campaigns.close(conn, "hn-2026", clock())
    assert (abandoned, addresses) == (1, 1)
    late = await service.handle(ALICE, Reply(engine.Answer("18_29", "age_group"), out.response_id), uid())
    assert late.kind is OutcomeKind.CAMPAIGN_CLOSED
    assert await count(db, answer) == 1
    assert await count(db, channel_address) == 0


async def test_closing_keeps_the_address_of_people_who_asked_for_invitations(db: Database, clock: Clock) -> None:
    from storage.conversation import SetInvitations

    await create_live_campaign(db, clock())
    service = ConversationService(db, SECRET, clock)
    bob = Who("telegram", "1002", address="1002")
    await begin(service)
    await begin(service, bob)
    assert (await service.handle(bob, SetInvitations(True), uid())).kind is OutcomeKind.INVITATIONS_SET
    async with db.write() as conn:
        _, _, deleted = await campaigns.close(conn, "hn-2026", clock())
    assert deleted == 1
    async with db.read() as conn:
        kept = (await conn.execute(sa.select(channel_address.c.address))).scalars().all()
    assert kept == ["1002"]


async def test_language_restart_and_delete_my_data(db: Database, clock: Clock) -> None:
    await create_live_campaign(db, clock())
    service = ConversationService(db, SECRET, clock)
    out = await begin(service)
    out = await service.handle(ALICE, Reply(engine.Answer("18_29", "age_group"), out.response_id), uid())
    english = await service.handle(ALICE, SetLanguage("en"), uid())
    assert english.kind is OutcomeKind.LANGUAGE_SET and asked(english).label == "Your gender?"
    restarted = await service.handle(ALICE, Restart(), uid())
    assert asked(restarted).question_id == "age_group"
    assert await count(db, answer) == 1  # the ward from the link stays

    # a completed response in another campaign is kept but unlinked
    await create_live_campaign(db, clock(), code="hn-ngan", wards=[70], allow_overlap=True)
    done = await service.handle(ALICE, GiveConsent(True, "hn-ngan", 70), uid())
    while not isinstance(done.events[-1], SurveyCompleted):
        q = asked(done)
        inp = (
            engine.Skip(q.question_id)
            if not q.required
            else engine.Answer(q.options[-1].value if q.type != "multi_choice" else [q.options[0].value], q.question_id)
        )
        if q.type == "number":
            inp = engine.Text("2", q.question_id)
        done = await service.handle(ALICE, Reply(inp, done.response_id), uid())
    key = respondent_key(SECRET, "telegram", "1001")
    async with db.write() as conn:  # what the person's chat remembers (a text channel's), and another chat's
        await chat_state.put(conn, "telegram", "1001", {"confirm": "delete"}, clock())
        await chat_state.put(conn, "telegram", "1002", {"confirm": "delete"}, clock())
    deleted = await service.handle(ALICE, DeleteMyData(), uid())
    assert deleted.kind is OutcomeKind.DELETED
    async with db.read() as conn:  # erased in the same transaction
        assert (await chat_state.get(conn, "telegram", "1001")).data == {}
        assert (await chat_state.get(conn, "telegram", "1002")).data == {"confirm": "delete"}
    assert await count(db, respondent, respondent.c.key == key) == 0
    assert await count(db, channel_address) == 0
    assert await count(db, response, response.c.status == "in_progress") == 0
    # completed ones included: a person who answers again after erasing is counted once
    assert await count(db, response) == 0 and await count(db, answer) == 0
    again = await service.handle(ALICE, Start("hn-ngan", 70), uid())
    assert isinstance(again.events[0], ConsentRequested)


async def test_prompt_ids_from_two_processes_keep_the_newest_and_do_not_deadlock(db: Database, clock: Clock) -> None:
    """With WEB_WORKERS > 1, two processes write prompt message ids behind, for the same people."""
    await create_live_campaign(db, clock())
    first, second = ConversationService(db, SECRET, clock), ConversationService(db, SECRET, clock)
    people = [Who("telegram", str(3000 + i), address=str(3000 + i), language="vi") for i in range(20)]
    ids = [(await begin(first, who)).response_id for who in people]
    for rid in ids:  # one process showed message 10 of each chat, the other (later) message 11
        await first.set_prompt(rid, 10)
        await second.set_prompt(rid, 11)
    await asyncio.wait_for(asyncio.gather(second.flush_prompts(), first.flush_prompts()), 10)
    async with db.read() as conn:
        stored = dict((await conn.execute(sa.select(response.c.id, response.c.prompt_message_id))).all())
    assert {stored[rid] for rid in ids} == {11}  # the older id never replaces the newer one
    await first.set_prompt(ids[0], None)  # completed or /cancel: no question on screen
    await first.flush_prompts()
    async with db.read() as conn:
        cleared = (await conn.execute(sa.select(response.c.prompt_message_id).where(response.c.id == ids[0])))
        assert cleared.scalar_one() is None
