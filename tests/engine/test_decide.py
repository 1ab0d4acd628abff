"""Every branch of `flows.conversation.decide`, on hand-made snapshots (no database): what each action shows
and what it stores."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from flows import engine
from flows.conversation import (
    AddPerson,
    BeginResponse,
    CampaignState,
    ClearAnswers,
    DeleteMyData,
    DeleteResponses,
    DropAddresses,
    ForgetPerson,
    GiveConsent,
    KeepAddress,
    OutcomeKind,
    Pause,
    PersonState,
    PutAnswer,
    RemoveAnswer,
    Reply,
    ResponseState,
    Restart,
    SetInvitations,
    SetLanguage,
    SetPaused,
    Snapshot,
    Start,
    TouchResponse,
    Unchanged,
    UpdatePerson,
    View,
    Who,
    decide,
    state_after,
)
from flows.events import AnswerRecorded, ConsentDeclined, ConsentRequested, InputIgnored, QuestionAsked
from flows.i18n import LANGUAGES
from flows.loader import bundled_survey_path, load_survey
from flows.questions import Context, WardOption

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
SURVEY = load_survey(bundled_survey_path())
WARDS = (WardOption(70, "Phường Hoàn Kiếm"), WardOption(235, "Phường Đống Đa"))
WHO = Who("telegram", "1", address="1", language="vi")
ME = PersonState(5, "vi")


def campaign(
    code: str = "hn", status: str = "active", starts: int = -1, ends: int = 30, survey: object = SURVEY, cid: int = 1
) -> CampaignState:
    return CampaignState(
        id=cid,
        code=code,
        title=f"Khảo sát {code}",
        status=status,
        starts_at=NOW + timedelta(hours=starts),
        ends_at=NOW + timedelta(days=ends),
        ward_codes=frozenset(w.code for w in WARDS),
        survey=survey,  # type: ignore[arg-type]
        contexts={language: Context(language, WARDS) for language in LANGUAGES},
    )


HN = campaign()


def response(
    rid: int = 9,
    status: str = "in_progress",
    answers: tuple[tuple[str, object], ...] = (),
    c: CampaignState = HN,
    **kw: object,
) -> ResponseState:
    values: dict[str, object] = {"ward_code": None, "fixed": (), "prompt_message_id": 44}
    values.update(kw)
    return ResponseState(rid, c, status, answers=answers, **values)  # type: ignore[arg-type]


def test_start_without_a_campaign_resumes_what_is_under_way() -> None:
    snap = Snapshot(ME, (response(answers=(("ward", 70),)),), open_campaigns=(HN,))
    decision = decide(snap, WHO, Start(), NOW)
    assert decision.outcome.kind is OutcomeKind.EVENTS and decision.outcome.resumed and decision.writes == ()
    asked = decision.outcome.events[-1]
    assert isinstance(asked, QuestionAsked) and asked.question_id == "age_group"


def test_start_without_a_campaign_with_none_or_several_open() -> None:
    assert decide(Snapshot(None), WHO, Start(), NOW).outcome.kind is OutcomeKind.NO_CAMPAIGN
    closed = campaign("old", status="closed", cid=2)
    assert decide(Snapshot(None, open_campaigns=(closed,)), WHO, Start(), NOW).outcome.kind is OutcomeKind.NO_CAMPAIGN
    two = Snapshot(None, open_campaigns=(HN, campaign("env", cid=2)))
    chosen = decide(two, WHO, Start(), NOW).outcome
    assert chosen.kind is OutcomeKind.CHOOSE_CAMPAIGN and [c.code for c in chosen.campaigns] == ["hn", "env"]
    assert chosen.campaigns[0].wards == 2 and chosen.campaigns[0].ends_at == HN.ends_at
    one = decide(Snapshot(None, open_campaigns=(HN,)), WHO, Start(), NOW).outcome
    assert one.campaign_code == "hn" and isinstance(one.events[0], ConsentRequested)


@pytest.mark.parametrize(
    ("c", "kind"),
    [
        (None, OutcomeKind.UNKNOWN_CAMPAIGN),
        (campaign(starts=2), OutcomeKind.CAMPAIGN_NOT_STARTED),
        (campaign(status="closed"), OutcomeKind.CAMPAIGN_CLOSED),
        (campaign(ends=-1, starts=-48), OutcomeKind.CAMPAIGN_CLOSED),
        (campaign(status="draft"), OutcomeKind.CAMPAIGN_CLOSED),
    ],
)
def test_a_campaign_that_takes_no_answers_says_why(c: CampaignState | None, kind: OutcomeKind) -> None:
    for action in (Start("hn", 70), GiveConsent(True, "hn", 70)):
        decision = decide(Snapshot(None, campaign=c), WHO, action, NOW)
        assert decision.outcome.kind is kind and decision.writes == ()
        assert decision.outcome.campaign_code == "hn"


def test_a_deep_link_shows_the_consent_screen_with_its_ward_and_stores_nothing() -> None:
    decision = decide(Snapshot(None, campaign=HN), WHO, Start("hn", 70), NOW)
    assert isinstance(decision.outcome.events[0], ConsentRequested) and decision.outcome.ward_code == 70
    assert decision.writes == ()
    stranger = decide(Snapshot(None, campaign=HN), WHO, Start("hn", 999), NOW)
    assert stranger.outcome.ward_code is None  # not one of the campaign's wards: asked instead


def test_start_and_consent_for_a_campaign_already_answered() -> None:
    done = Snapshot(ME, (response(status="completed"),), campaign=HN)
    for action in (Start("hn"), GiveConsent(True, "hn")):
        assert decide(done, WHO, action, NOW).outcome.kind is OutcomeKind.ALREADY_COMPLETED
    going = Snapshot(ME, (response(answers=(("ward", 70),)),), campaign=HN)
    for action in (Start("hn"), GiveConsent(True, "hn")):
        outcome = decide(going, WHO, action, NOW).outcome
        assert outcome.resumed and outcome.response_id == 9 and outcome.prompt_message_id == 44


def test_consent_begins_a_response_with_the_ward_of_the_link() -> None:
    decision = decide(Snapshot(None, campaign=HN), WHO, GiveConsent(True, "hn", 70, invitations=True), NOW)
    assert decision.writes == (
        AddPerson(language="vi", consented=True, invitations=True),
        KeepAddress("telegram", "1"),
        BeginResponse(1, "telegram", 70, ("ward",), (("ward", 70),)),
    )
    asked = decision.outcome.events[-1]
    assert isinstance(asked, QuestionAsked) and asked.question_id == "age_group"
    again = decide(Snapshot(ME, campaign=HN), Who("web", "x"), GiveConsent(True, "hn"), NOW)
    assert again.writes == (UpdatePerson(consented=True), BeginResponse(1, "web", None, (), ()))


def test_a_questionnaire_without_consent_begins_at_once_but_not_in_a_view() -> None:
    bare = campaign(survey=SURVEY.model_copy(update={"consent": None}))
    begun = decide(Snapshot(None, campaign=bare), WHO, Start("hn"), NOW)
    assert any(isinstance(w, BeginResponse) for w in begun.writes)
    view = decide(Snapshot(None, campaign=bare), WHO, View(start=Start("hn")), NOW)
    assert view.outcome.kind is OutcomeKind.NO_RESPONSE and view.writes == ()


def test_declining() -> None:
    assert decide(Snapshot(None, campaign=HN), WHO, GiveConsent(False, "hn"), NOW).writes == ()
    declined = decide(Snapshot(ME, campaign=HN), WHO, GiveConsent(False, "hn"), NOW)
    assert declined.outcome.events == (ConsentDeclined(),) and declined.writes == (ForgetPerson(),)
    other = Snapshot(ME, (response(c=campaign("env", cid=2)),), campaign=HN)
    assert decide(other, WHO, GiveConsent(False, "hn"), NOW).writes == ()  # kept for their other survey
    after = decide(Snapshot(ME, (response(),), campaign=HN), WHO, GiveConsent(False, "hn"), NOW)
    assert after.outcome.kind is OutcomeKind.CONSENT_KEPT and after.writes == ()


def test_an_answer_is_recorded_and_the_ward_question_sets_the_ward() -> None:
    snap = Snapshot(ME, (response(),))
    decision = decide(snap, WHO, Reply(engine.Answer(70, "ward"), 9), NOW)
    assert decision.writes == (PutAnswer(9, "ward", 70), TouchResponse(9, 70, False))
    assert decision.outcome.ward_code == 70 and isinstance(decision.outcome.events[0], AnswerRecorded)
    back = decide(
        Snapshot(ME, (response(answers=(("ward", 70),), ward_code=70),)), WHO, Reply(engine.Back("age_group"), 9), NOW
    )
    assert back.writes == (RemoveAnswer(9, "ward"), TouchResponse(9, None, False))
    assert back.outcome.ward_code is None


def test_the_last_answer_completes_the_response() -> None:
    state = engine.start(SURVEY, HN.context("vi"), consented=True).state
    answers: list[tuple[str, object]] = []
    while (q := engine.current_question(SURVEY, state)) is not None and q.id != "comment":
        value = {"ward": 70, "used_service": "no", "gave_feedback": "no", "top_issues": ["waste"]}.get(q.id)
        if value is None:
            options = [o for o in engine.resume(SURVEY, state, HN.context("vi")).events[-1].options]  # type: ignore[union-attr]
            value = options[0].value if options else 2
        answers.append((q.id, value))
        state = replace(state, answers=tuple(answers))
    decision = decide(Snapshot(ME, (response(answers=tuple(answers)),)), WHO, Reply(engine.Skip("comment"), 9), NOW)
    assert decision.writes[-1] == TouchResponse(9, Unchanged.WARD, True)


def test_replies_that_apply_to_nothing_open() -> None:
    stale = decide(Snapshot(ME, (response(),)), WHO, Reply(engine.Answer(1, "ward"), 123), NOW)
    assert isinstance(stale.outcome.events[0], InputIgnored) and stale.outcome.response_id == 9
    nothing = decide(Snapshot(ME, open_campaigns=(HN,)), WHO, Reply(engine.Answer(1, "ward"), 123), NOW)
    assert isinstance(nothing.outcome.events[0], ConsentRequested)  # like /start
    done = decide(Snapshot(ME, (response(status="completed"),)), WHO, Reply(engine.Text("x"), 9), NOW)
    assert done.outcome.kind is OutcomeKind.ALREADY_COMPLETED and done.writes == ()
    ended = Snapshot(ME, (response(c=campaign(ends=-1, starts=-48)),))
    closed = decide(ended, WHO, Reply(engine.Text("x")), NOW)
    assert closed.outcome.kind is OutcomeKind.CAMPAIGN_CLOSED and closed.outcome.prompt_message_id == 44


def test_language_and_invitations() -> None:
    new = decide(Snapshot(None), WHO, SetLanguage("en"), NOW)
    assert new.writes == (AddPerson(language="en", consented=False),) and new.outcome.language == "en"
    assert new.outcome.kind is OutcomeKind.LANGUAGE_SET
    known = decide(Snapshot(ME, (response(),)), WHO, SetLanguage("xx"), NOW)
    assert known.writes == (UpdatePerson(language="vi"),) and known.outcome.events  # shows the question again
    assert decide(Snapshot(None), WHO, SetInvitations(True), NOW).writes == ()
    assert decide(Snapshot(ME), WHO, SetInvitations(False), NOW).writes == (UpdatePerson(invitations=False),)


def test_restart() -> None:
    assert decide(Snapshot(ME), WHO, Restart(), NOW).outcome.kind is OutcomeKind.NOTHING_TO_RESTART
    ended = Snapshot(ME, (response(c=campaign(status="closed")),))
    assert decide(ended, WHO, Restart(), NOW).outcome.kind is OutcomeKind.CAMPAIGN_CLOSED
    linked = response(answers=(("ward", 70), ("age_group", "18_29")), fixed=("ward",), ward_code=70)
    kept = decide(Snapshot(ME, (linked,)), WHO, Restart(), NOW)
    assert kept.writes == (ClearAnswers(9, ("ward",)), TouchResponse(9, Unchanged.WARD))
    assert kept.outcome.answers == {"ward": 70} and kept.outcome.resumed
    typed = response(answers=(("ward", 70), ("age_group", "18_29")), ward_code=70)
    cleared = decide(Snapshot(ME, (typed,)), WHO, Restart(), NOW)
    assert cleared.writes == (ClearAnswers(9, ()), TouchResponse(9, None))


def test_erasure_deletes_every_response_so_that_nobody_counts_twice() -> None:
    assert decide(Snapshot(None), WHO, DeleteMyData(), NOW).writes == ()
    snap = Snapshot(ME, (response(), response(rid=3, status="completed", c=campaign("old", cid=2))))
    decision = decide(snap, WHO, DeleteMyData(), NOW)
    assert decision.outcome.kind is OutcomeKind.DELETED
    assert decision.writes == (DropAddresses(), DeleteResponses(), ForgetPerson())


def test_a_pause_holds_until_the_person_resumes() -> None:
    assert decide(Snapshot(ME), WHO, Pause(), NOW).outcome.kind is OutcomeKind.NOTHING_TO_PAUSE
    ended = Snapshot(ME, (response(c=campaign(status="closed")),))
    assert decide(ended, WHO, Pause(), NOW).outcome.kind is OutcomeKind.NOTHING_TO_PAUSE
    going = Snapshot(ME, (response(answers=(("ward", 70),)),), open_campaigns=(HN,), campaign=HN)
    paused = decide(going, WHO, Pause(), NOW)
    assert paused.outcome.kind is OutcomeKind.PAUSED and paused.writes == (SetPaused(9, True),)
    held = Snapshot(ME, (response(answers=(("ward", 70),), paused=True),), open_campaigns=(HN,), campaign=HN)
    assert decide(held, WHO, Pause(), NOW).writes == ()  # paused already
    typed = decide(held, WHO, Reply(engine.Text("18_29")), NOW)
    assert typed.writes == () and isinstance(typed.outcome.events[0], InputIgnored)
    assert typed.outcome.events[0].reason == "paused"
    old = decide(held, WHO, Reply(engine.Answer(70, "ward"), 9), NOW)
    assert old.writes == ()  # an old question's button does not resume
    pressed = decide(held, WHO, Reply(engine.Answer("18_29", "age_group"), 9), NOW)
    assert pressed.writes[0] == SetPaused(9, False) and PutAnswer(9, "age_group", "18_29") in pressed.writes
    for action in (Start(), Start("hn"), GiveConsent(True, "hn")):
        assert decide(held, WHO, action, NOW).writes == (SetPaused(9, False),), action
    assert decide(held, WHO, View(), NOW).writes == ()  # seeing it is not resuming it
    restarted = decide(held, WHO, Restart(), NOW)
    assert SetPaused(9, False) in restarted.writes


def test_one_questionnaire_at_a_time() -> None:
    env = campaign("env", cid=2)
    going = Snapshot(ME, (response(answers=(("ward", 70),)),), campaign=env)
    for action in (Start("env"), GiveConsent(True, "env")):
        decision = decide(going, WHO, action, NOW)
        assert decision.outcome.kind is OutcomeKind.OTHER_UNDER_WAY and decision.writes == ()
        assert decision.outcome.campaign_code == "hn" and isinstance(decision.outcome.events[-1], QuestionAsked)
    paused = Snapshot(ME, (response(answers=(("ward", 70),), paused=True),), campaign=env)
    assert isinstance(decide(paused, WHO, Start("env"), NOW).outcome.events[0], ConsentRequested)


def test_a_repeated_answer_shows_where_the_person_is_now() -> None:
    done = Snapshot(ME, (response(status="completed"),))
    for view in (View(response_id=9), View(latest=True)):
        shown = decide(done, WHO, view, NOW).outcome
        assert shown.kind is OutcomeKind.EVENTS and type(shown.events[0]).__name__ == "SurveyCompleted"
    assert decide(done, WHO, View(), NOW).outcome.kind is OutcomeKind.NO_RESPONSE


def test_views() -> None:
    assert decide(Snapshot(None), WHO, View(), NOW).outcome.kind is OutcomeKind.NO_RESPONSE
    two = Snapshot(ME, (response(rid=9), response(rid=8, c=campaign("env", cid=2))))
    assert decide(two, WHO, View(), NOW).outcome.response_id == 9
    assert decide(two, WHO, View(response_id=8), NOW).outcome.response_id == 8
    gone = Snapshot(ME, (response(status="abandoned"),))
    assert decide(gone, WHO, View(response_id=9), NOW).outcome.kind is OutcomeKind.NO_RESPONSE
    shown = decide(Snapshot(None, campaign=HN), WHO, View(start=Start("hn")), NOW)
    assert isinstance(shown.outcome.events[0], ConsentRequested) and shown.writes == ()


def test_state_after_a_decision() -> None:
    r = response(answers=(("ward", 70), ("age_group", "18_29")), ward_code=70)
    after = state_after(r, (RemoveAnswer(9, "age_group"), PutAnswer(9, "gender", "male"), TouchResponse(9, 235, True)))
    assert after.answers == (("ward", 70), ("gender", "male"))
    assert after.ward_code == 235 and after.status == "completed"
    changed = state_after(r, (PutAnswer(9, "ward", 235), PutAnswer(7, "ward", 1)))
    assert changed.answers == (("ward", 235), ("age_group", "18_29"))


def test_state_after_the_usual_answer_is_what_the_general_rule_gives() -> None:
    """The shortcut for one new answer and a touch agrees with the general loop (forced here by a write that
    concerns another response), for each kind of touch and for an answer that replaces one."""
    r = response(answers=(("ward", 70), ("age_group", "18_29")), ward_code=70)
    other = SetPaused(7, True)
    for writes in (
        (PutAnswer(9, "gender", "male"), TouchResponse(9)),
        (PutAnswer(9, "age_group", "30_44"), TouchResponse(9)),
        (PutAnswer(9, "ward", 235), TouchResponse(9, 235)),
        (PutAnswer(9, "gender", "male"), TouchResponse(9, completed=True)),
    ):
        assert state_after(r, writes, 5) == state_after(r, (*writes, other), 5)
    assert state_after(r, (PutAnswer(9, "gender", "male"), TouchResponse(9)), 5).answers[-1] == ("gender", "male")
    assert state_after(r, (PutAnswer(9, "gender", "male"), TouchResponse(9)), 5).version == 5


def test_the_outcome_gives_the_engine_its_state_back() -> None:
    outcome = decide(Snapshot(ME, (response(answers=(("ward", 70),), fixed=("ward",)),)), WHO, View(), NOW).outcome
    assert outcome.state() == engine.State(consented=True, answers=(("ward", 70),), fixed=frozenset({"ward"}))
