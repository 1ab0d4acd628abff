"""The conversation's rules, decided once: `decide(snapshot, action, now) -> Decision`.

Every channel (Telegram, Zalo, the web survey) sends what a person did as an `Action`; the storage layer
loads a `Snapshot` of what is known about them (their respondent row, their responses with answers, the
campaign the action names, the open campaigns), and `decide` returns what happened (`Outcome`: a kind and
the engine's events, channel-neutral) and what to store (`Decision.writes`, plain data). Two executors
carry the writes out (`storage.conversation`): the portable one (SQLAlchemy, SQLite and PostgreSQL) and
PostgreSQL's single statement, which checks that the rows are still the versions the snapshot read. No
rule lives anywhere else: which response an input applies to, whether a campaign takes answers, which
question is the ward question, one response per person per campaign, what consent and erasure keep.

Pure: no I/O, no clock (the caller passes `now`), no channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum

from flows import engine, quality
from flows.events import (
    AnswerRecorded,
    AnswerRemoved,
    ConsentDeclined,
    ConsentRequested,
    Event,
    InputIgnored,
    SurveyCompleted,
)
from flows.i18n import LANGUAGES, message
from flows.questions import Context, JSONValue
from flows.schema import Survey

# --- who is talking, and what they did -----------------------------------------------------------------

WEB = "web"
"""The web survey's channel name."""


@dataclass(frozen=True)
class Who:
    channel: str
    user_id: str
    address: str | None = None
    """Where to send reminders (a chat id); stored apart from the answers, only after consent."""
    language: str | None = None
    """The language the channel reports (Telegram's language_code), used until the person chooses."""


@dataclass(frozen=True)
class Start:
    """`/start`, a deep link (campaign and ward), a web link, or any message from someone not answering."""

    campaign_code: str | None = None
    ward_code: int | None = None


@dataclass(frozen=True)
class GiveConsent:
    agree: bool
    campaign_code: str
    ward_code: int | None = None
    invitations: bool = False


@dataclass(frozen=True)
class Reply:
    """An answer, back or skip for the current question. `response_id` comes from a button, when known."""

    input: engine.Input
    response_id: int | None = None


@dataclass(frozen=True)
class SetLanguage:
    language: str


@dataclass(frozen=True)
class SetInvitations:
    """Whether the person wants to be invited to future surveys (asked when they finish)."""

    yes: bool


@dataclass(frozen=True)
class Restart:
    """Clear the answers of the current response (the person confirmed) and begin again."""


@dataclass(frozen=True)
class DeleteMyData:
    """Delete the person's chat address and unfinished answers; unlink their completed responses."""


@dataclass(frozen=True)
class Pause:
    """Put the questionnaire under way away (/cancel): nothing typed counts until the person resumes (with
    /start, a reminder's Continue, or a button of the current question)."""


@dataclass(frozen=True)
class View:
    """What the person sees now, changing nothing (a resume, a repeated update, a redrawn keyboard).
    `response_id`: of that response (a button names it), not of the one under way. `start`: what a repeated
    /start shows to someone with nothing under way (what /start showed)."""

    response_id: int | None = None
    start: Start | None = None
    latest: bool = False
    """With nothing under way: the most recently active response's thank-you, if it is completed (a repeated
    last answer, typed)."""


Action = Start | GiveConsent | Reply | SetLanguage | SetInvitations | Restart | DeleteMyData | Pause | View


# --- what was decided --------------------------------------------------------------------------------------


class OutcomeKind(Enum):
    """What happened; every channel renders each kind (a `match` with `assert_never` checks that)."""

    EVENTS = "events"
    """Render the engine's events: the consent screen, a question, a rejection, the thank-you."""
    NO_RESPONSE = "no_response"
    """Nothing under way (a view of someone who has not begun)."""
    CHOOSE_CAMPAIGN = "choose_campaign"
    NO_CAMPAIGN = "no_campaign"
    UNKNOWN_CAMPAIGN = "unknown_campaign"
    CAMPAIGN_CLOSED = "campaign_closed"
    CAMPAIGN_NOT_STARTED = "campaign_not_started"
    ALREADY_COMPLETED = "already_completed"
    DECLINED = "declined"
    CONSENT_KEPT = "consent_kept"
    """ "I do not agree" pressed on an old consent screen after agreeing: nothing changes."""
    LANGUAGE_SET = "language_set"
    INVITATIONS_SET = "invitations_set"
    DELETED = "deleted"
    NOTHING_TO_RESTART = "nothing_to_restart"
    PAUSED = "paused"
    """The questionnaire under way is put away; a notice says how to resume."""
    NOTHING_TO_PAUSE = "nothing_to_pause"
    OTHER_UNDER_WAY = "other_under_way"
    """Another questionnaire is under way (not paused): a notice names it, then its current question."""


NOTICES = frozenset(
    {
        OutcomeKind.NO_CAMPAIGN,
        OutcomeKind.UNKNOWN_CAMPAIGN,
        OutcomeKind.CAMPAIGN_CLOSED,
        OutcomeKind.CAMPAIGN_NOT_STARTED,
        OutcomeKind.ALREADY_COMPLETED,
        OutcomeKind.DELETED,
        OutcomeKind.NOTHING_TO_RESTART,
        OutcomeKind.CONSENT_KEPT,
        OutcomeKind.PAUSED,
        OutcomeKind.NOTHING_TO_PAUSE,
    }
)
"""Kinds a channel shows as a one-line notice (its text is the catalog's text of the same name)."""


@dataclass(frozen=True)
class CampaignChoice:
    code: str
    title: str
    starts_at: datetime
    ends_at: datetime
    wards: int
    """How many wards and communes it covers (two campaigns with one title are told apart by their dates and
    wards)."""


@dataclass(frozen=True)
class Outcome:
    """What happened and what to show, for any channel."""

    kind: OutcomeKind
    events: tuple[Event, ...] = ()
    language: str = "vi"
    duplicate: bool = False
    """A repeated update: nothing changed; this is the person's view now."""
    survey: Survey | None = None
    ctx: Context | None = None
    response_id: int | None = None
    campaign_code: str | None = None
    campaign_title: str | None = None
    ward_code: int | None = None
    prompt_message_id: int | None = None
    """The message that showed the question just answered (before this update)."""
    campaigns: tuple[CampaignChoice, ...] = ()
    answers: Mapping[str, JSONValue] = field(default_factory=dict)
    resumed: bool = False
    """The person was already answering: this shows where they are, nothing new was started."""
    fixed: tuple[str, ...] = ()
    """Answers that came with the entry point (see `engine.State.fixed`)."""

    def state(self) -> engine.State:
        """The engine's state after this outcome (for a channel to show the current question again)."""
        return engine.State(consented=True, answers=tuple(self.answers.items()), fixed=frozenset(self.fixed))


# --- what is known (loaded by the storage layer) -------------------------------------------------------


@dataclass(frozen=True)
class CampaignState:
    id: int
    code: str
    title: str
    status: str
    """draft | active | closed"""
    starts_at: datetime
    ends_at: datetime
    ward_codes: frozenset[int]
    survey: Survey
    contexts: Mapping[str, Context]
    """The engine's context (the campaign's wards) in each language."""
    version: int = 0
    """The row's version when read (PostgreSQL's xmin; 0 where unknown), for the single-statement executor."""

    def takes_answers(self, now: datetime) -> bool:
        """Launched, not closed, and within its dates."""
        return self.status == "active" and self.starts_at <= now < self.ends_at

    def context(self, language: str) -> Context:
        return self.contexts.get(language) or self.contexts["vi"]


@dataclass(frozen=True)
class ResponseState:
    id: int
    campaign: CampaignState
    status: str
    """in_progress | completed | abandoned"""
    ward_code: int | None
    fixed: tuple[str, ...]
    prompt_message_id: int | None
    answers: tuple[tuple[str, JSONValue], ...]
    """In the order they were given."""
    version: int = 0
    paused: bool = False
    """Put away with /cancel: typed text does not count until the person resumes."""
    started_at: datetime | None = None
    """When it was begun (None where a loader does not know: its quality flags are then left to the
    scheduler's sweep)."""

    @property
    def in_progress(self) -> bool:
        return self.status == "in_progress"

    def takes_answers(self, now: datetime) -> bool:
        """In progress, in a campaign that has not ended or been closed."""
        return self.in_progress and self.campaign.status == "active" and now < self.campaign.ends_at

    def state(self) -> engine.State:
        return engine.State(consented=True, answers=self.answers, fixed=frozenset(self.fixed))


@dataclass(frozen=True)
class PersonState:
    id: int
    language: str | None
    version: int = 0


@dataclass(frozen=True)
class Snapshot:
    """What the storage layer knows about a person, for one action. Loaders load what the action needs:
    `responses` are the person's, the most recently active first (a loader for one response loads that one);
    `campaign` is the one the action names by code (None if unknown or none named); `open_campaigns` the
    active campaigns (for a /start without a campaign)."""

    person: PersonState | None
    responses: tuple[ResponseState, ...] = ()
    campaign: CampaignState | None = None
    open_campaigns: tuple[CampaignState, ...] = ()
    has_other_responses: bool = False
    """The person has responses not loaded here (erasure and "decline" must know)."""

    def current(self) -> ResponseState | None:
        """The response a typed answer or a /start goes to: the most recently active one in progress."""
        return next((r for r in self.responses if r.in_progress), None)

    def response(self, response_id: int) -> ResponseState | None:
        return next((r for r in self.responses if r.id == response_id), None)

    def response_in(self, campaign_id: int) -> ResponseState | None:
        """The person's response in a campaign (one per person per campaign)."""
        return next((r for r in self.responses if r.campaign.id == campaign_id), None)


# --- what to store ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddPerson:
    """A new respondent (keyed by the HMAC of the channel and user id)."""

    language: str
    consented: bool
    invitations: bool = False


@dataclass(frozen=True)
class UpdatePerson:
    consented: bool = False
    """Consent given now (its time is stored)."""
    invitations: bool | None = None
    language: str | None = None


@dataclass(frozen=True)
class ForgetPerson:
    """Delete the respondent row (nothing else refers to it any more)."""


@dataclass(frozen=True)
class KeepAddress:
    """Where to reach the person on this channel (replaces an earlier one; reachable again)."""

    channel: str
    address: str


@dataclass(frozen=True)
class DropAddresses:
    """Delete every channel address of the person."""


@dataclass(frozen=True)
class BeginResponse:
    campaign_id: int
    channel: str
    ward_code: int | None
    fixed: tuple[str, ...]
    answers: tuple[tuple[str, JSONValue], ...]
    """Answers that came with the entry point (the ward of a per-ward link)."""


@dataclass(frozen=True)
class PutAnswer:
    response_id: int
    question_id: str
    value: JSONValue


@dataclass(frozen=True)
class RemoveAnswer:
    response_id: int
    question_id: str


@dataclass(frozen=True)
class ClearAnswers:
    """Remove a response's answers but the fixed ones (a restart)."""

    response_id: int
    keep: tuple[str, ...]


class Unchanged(Enum):
    WARD = "unchanged"


@dataclass(frozen=True)
class TouchResponse:
    """The response was acted on now: its last activity, and what the change did to its ward and status."""

    response_id: int
    ward_code: int | Unchanged | None = Unchanged.WARD
    completed: bool = False
    quality_flags: str | None = None
    """With `completed`: its data-quality flags as stored (`flows.quality.stored`; "" for none), decided from
    the answers it completes with; None: not assessed here (the scheduler's sweep assesses it)."""


@dataclass(frozen=True)
class SetPaused:
    response_id: int
    paused: bool


@dataclass(frozen=True)
class DeleteResponses:
    """Delete every response of the person (and their answers), completed ones included: a person who erased
    their data and answers again is counted once."""


Write = (
    AddPerson
    | UpdatePerson
    | ForgetPerson
    | KeepAddress
    | DropAddresses
    | BeginResponse
    | PutAnswer
    | RemoveAnswer
    | ClearAnswers
    | TouchResponse
    | SetPaused
    | DeleteResponses
)


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    writes: tuple[Write, ...] = ()


# --- the rules ----------------------------------------------------------------------------------------------


def language_of(who: Who, person: PersonState | None) -> str:
    """The person's chosen language, else the one their app reports, else Vietnamese."""
    if person is not None and person.language in LANGUAGES:
        return person.language
    return who.language if who.language in LANGUAGES else "vi"


def decide(snapshot: Snapshot, who: Who, action: Action, now: datetime) -> Decision:
    """What happens when `who` does `action` at `now`, given what is known. Never raises for anything a
    person can send."""
    language = language_of(who, snapshot.person)
    if isinstance(action, Start):
        return _start(snapshot, who, action, now, language, begin=True)
    if isinstance(action, GiveConsent):
        return _consent(snapshot, who, action, now, language)
    if isinstance(action, Reply):
        return _reply(snapshot, who, action, now, language)
    if isinstance(action, SetLanguage):
        return _set_language(snapshot, who, action, now)
    if isinstance(action, SetInvitations):
        writes = (UpdatePerson(invitations=action.yes),) if snapshot.person is not None else ()
        return Decision(Outcome(OutcomeKind.INVITATIONS_SET, language=language), writes)
    if isinstance(action, Restart):
        return _restart(snapshot, now, language)
    if isinstance(action, DeleteMyData):
        return _delete(snapshot, language)
    if isinstance(action, Pause):
        return _pause(snapshot, now, language)
    return _view(snapshot, who, action, now, language)


def _outcome(
    kind: OutcomeKind,
    response: ResponseState,
    language: str,
    events: tuple[Event, ...] = (),
    *,
    answers: Mapping[str, JSONValue] | None = None,
    resumed: bool = False,
    ward_code: int | Unchanged | None = Unchanged.WARD,
) -> Outcome:
    """An outcome about a response (its campaign, questionnaire, ward (the response's unless given) and
    answers)."""
    c = response.campaign
    return Outcome(
        kind=kind,
        events=events,
        language=language,
        survey=c.survey,
        ctx=c.context(language),
        response_id=response.id,
        campaign_code=c.code,
        campaign_title=c.title,
        ward_code=response.ward_code if isinstance(ward_code, Unchanged) else ward_code,
        prompt_message_id=response.prompt_message_id,
        fixed=response.fixed,
        answers=dict(response.answers) if answers is None else answers,
        resumed=resumed,
    )


def _notice(kind: OutcomeKind, c: CampaignState | None, language: str, code: str | None = None) -> Outcome:
    return Outcome(
        kind=kind,
        language=language,
        campaign_code=c.code if c is not None else code,
        campaign_title=c.title if c is not None else None,
    )


def _resume(response: ResponseState, language: str, resumed: bool = True, unpause: bool = False) -> Decision:
    """The response's current question (or its thank-you). `unpause`: the person came back (/start, Continue):
    a paused response takes typed answers again."""
    c = response.campaign
    step = engine.resume(c.survey, response.state(), c.context(language))
    writes: tuple[Write, ...] = (SetPaused(response.id, False),) if unpause and response.paused else ()
    return Decision(_outcome(OutcomeKind.EVENTS, response, language, step.events, resumed=resumed), writes)


def _other_under_way(snapshot: Snapshot, c: CampaignState, now: datetime, language: str) -> Decision | None:
    """One questionnaire at a time: another one under way (not paused, still taking answers) is shown with a
    notice naming it, instead of beginning this one."""
    other = snapshot.current()
    if other is None or other.paused or other.campaign.id == c.id or not other.takes_answers(now):
        return None
    shown = _resume(other, language).outcome
    return Decision(replace(shown, kind=OutcomeKind.OTHER_UNDER_WAY))


def _prefill(survey: Survey, ward: int | None) -> dict[str, JSONValue]:
    question = survey.ward_question
    return {question: ward} if ward is not None and question is not None else {}


def _open(c: CampaignState | None, code: str | None, now: datetime, language: str) -> CampaignState | Outcome:
    """The campaign if it takes answers now, else the notice that says why not."""
    if c is None:
        return _notice(OutcomeKind.UNKNOWN_CAMPAIGN, None, language, code)
    if c.status == "active" and now < c.starts_at:
        return _notice(OutcomeKind.CAMPAIGN_NOT_STARTED, c, language)
    if not c.takes_answers(now):
        return _notice(OutcomeKind.CAMPAIGN_CLOSED, c, language)
    return c


def _start(snapshot: Snapshot, who: Who, action: Start, now: datetime, language: str, begin: bool) -> Decision:
    """What /start shows. `begin=False` (a read-only view): a questionnaire without a consent text, which
    would begin a response at once, shows nothing instead."""
    target: CampaignState | None = snapshot.campaign
    code = action.campaign_code
    if code is None:
        current = snapshot.current()
        if current is not None and current.campaign.status == "active" and now < current.campaign.ends_at:
            return _resume(current, language, unpause=begin)
        open_now = [c for c in snapshot.open_campaigns if c.takes_answers(now)]
        if not open_now:
            return Decision(Outcome(OutcomeKind.NO_CAMPAIGN, language=language))
        if len(open_now) > 1:
            choices = tuple(
                CampaignChoice(c.code, c.title, c.starts_at, c.ends_at, len(c.ward_codes)) for c in open_now
            )
            return Decision(Outcome(OutcomeKind.CHOOSE_CAMPAIGN, language=language, campaigns=choices))
        target, code = open_now[0], open_now[0].code
    found = _open(target, code, now, language)
    if isinstance(found, Outcome):
        return Decision(found)
    c = found
    existing = snapshot.response_in(c.id)
    if existing is not None:
        if existing.status == "completed":
            return Decision(_notice(OutcomeKind.ALREADY_COMPLETED, c, language))
        return _resume(existing, language, unpause=begin)
    other = _other_under_way(snapshot, c, now, language)
    if other is not None:
        return other
    ward = action.ward_code if action.ward_code in c.ward_codes else None
    ctx = c.context(language)
    step = engine.start(c.survey, ctx, prefill=_prefill(c.survey, ward))
    if not isinstance(step.events[0], ConsentRequested):
        # a questionnaire without a consent text: the person starts answering at once
        if not begin:
            return Decision(Outcome(OutcomeKind.NO_RESPONSE, language=language))
        return _begin(snapshot, who, c, ward, language, invitations=False)
    outcome = Outcome(
        kind=OutcomeKind.EVENTS,
        events=step.events,
        language=language,
        survey=c.survey,
        ctx=ctx,
        campaign_code=c.code,
        campaign_title=c.title,
        ward_code=ward,
    )
    return Decision(outcome)


def _consent(snapshot: Snapshot, who: Who, action: GiveConsent, now: datetime, language: str) -> Decision:
    person = snapshot.person
    if not action.agree:
        writes: tuple[Write, ...] = ()
        if person is not None:
            c = snapshot.campaign
            if c is not None and snapshot.response_in(c.id) is not None:
                # "decline" on an old consent screen, after agreeing: nothing changes
                kept = Outcome(OutcomeKind.CONSENT_KEPT, language=language, campaign_code=action.campaign_code)
                return Decision(kept)
            if not snapshot.responses and not snapshot.has_other_responses:
                writes = (ForgetPerson(),)  # nothing kept about someone who declined
        return Decision(Outcome(OutcomeKind.DECLINED, language=language, events=(ConsentDeclined(),)), writes)
    found = _open(snapshot.campaign, action.campaign_code, now, language)
    if isinstance(found, Outcome):
        return Decision(found)
    c = found
    existing = snapshot.response_in(c.id)
    if existing is not None:  # a second tap on "agree", or consent for a campaign already answered
        if existing.status == "completed":
            return Decision(_notice(OutcomeKind.ALREADY_COMPLETED, c, language))
        return _resume(existing, language, unpause=True)
    other = _other_under_way(snapshot, c, now, language)
    if other is not None:
        return other
    ward = action.ward_code if action.ward_code in c.ward_codes else None
    return _begin(snapshot, who, c, ward, language, action.invitations)


def _begin(
    snapshot: Snapshot, who: Who, c: CampaignState, ward: int | None, language: str, invitations: bool
) -> Decision:
    """Consent is given: the respondent (new, or consenting again), their address, the response and the
    answers that came with the link."""
    ctx = c.context(language)
    step = engine.start(c.survey, ctx, prefill=_prefill(c.survey, ward), consented=True)
    fixed = tuple(sorted(step.state.fixed))
    ward_code = ward if fixed else None
    writes: list[Write] = []
    if snapshot.person is None:
        writes.append(AddPerson(language=language, consented=True, invitations=invitations))
    else:
        writes.append(UpdatePerson(consented=True, invitations=True if invitations else None))
    if who.address is not None:
        writes.append(KeepAddress(who.channel, who.address))
    writes.append(BeginResponse(c.id, who.channel, ward_code, fixed, step.state.answers))
    outcome = Outcome(
        kind=OutcomeKind.EVENTS,
        events=step.events,
        language=language,
        survey=c.survey,
        ctx=ctx,
        campaign_code=c.code,
        campaign_title=c.title,
        ward_code=ward_code,
        answers=step.state.answer_map,
        fixed=fixed,
    )
    return Decision(outcome, tuple(writes))


def _reply(snapshot: Snapshot, who: Who, action: Reply, now: datetime, language: str) -> Decision:
    if action.response_id is not None:
        response = snapshot.response(action.response_id)
        if response is None:
            current = snapshot.current()
            if current is not None:  # a button of another response (or someone else's): stale
                ignored = InputIgnored("already_answered", message("already_answered", language))
                return Decision(_outcome(OutcomeKind.EVENTS, current, language, (ignored,)))
    else:
        response = snapshot.current()
    if response is None:  # not answering anything: behave like /start
        return _start(snapshot, who, Start(), now, language, begin=True)
    if response.status == "completed":
        return Decision(_outcome(OutcomeKind.ALREADY_COMPLETED, response, language))
    if not response.takes_answers(now):
        return Decision(
            Outcome(
                kind=OutcomeKind.CAMPAIGN_CLOSED,
                language=language,
                campaign_code=response.campaign.code,
                campaign_title=response.campaign.title,
                response_id=response.id,
                prompt_message_id=response.prompt_message_id,
            )
        )
    c = response.campaign
    resuming = False
    if response.paused:
        now_asked = engine.current_question(c.survey, response.state())
        asked = None if isinstance(action.input, engine.Consent) else action.input.question_id
        if action.response_id is None or (asked is not None and (now_asked is None or asked != now_asked.id)):
            # typed while paused (or an old button): nothing counts until the person resumes
            ignored = InputIgnored("paused", message("paused", language))
            return Decision(_outcome(OutcomeKind.EVENTS, response, language, (ignored,)))
        resuming = True  # a button of the current question: the person is back
    step = engine.advance(c.survey, response.state(), action.input, c.context(language))
    writes = answer_writes(c.survey, response.id, step.events)
    if (
        who.channel != WEB  # its address count needs the stored admissions: assessed once stored (NULL until)
        and response.started_at is not None
        and isinstance(writes[-1], TouchResponse)
        and writes[-1].completed
    ):
        writes = (*writes[:-1], replace(writes[-1], quality_flags=_flags(response, step.state, now)))
    if resuming:
        writes = (SetPaused(response.id, False), *writes)
    ward: int | None = response.ward_code
    for w in writes:
        if isinstance(w, TouchResponse) and not isinstance(w.ward_code, Unchanged):
            ward = w.ward_code
    outcome = _outcome(
        OutcomeKind.EVENTS, response, language, step.events, answers=step.state.answer_map, ward_code=ward
    )
    return Decision(outcome, writes)


def answer_writes(survey: Survey, response_id: int, events: tuple[Event, ...]) -> tuple[Write, ...]:
    """What the engine's events store: each recorded answer, each removed one, and the response touched
    (its ward follows the ward question's answer; the thank-you completes it)."""
    writes: list[Write] = []
    ward: int | Unchanged | None = Unchanged.WARD
    completed = False
    for event in events:
        if isinstance(event, AnswerRecorded):
            writes.append(PutAnswer(response_id, event.question_id, event.value))
            if event.question_id == survey.ward_question:
                ward = event.value if isinstance(event.value, int) else None
        elif isinstance(event, AnswerRemoved):
            writes.append(RemoveAnswer(response_id, event.question_id))
            if event.question_id == survey.ward_question:
                ward = None
        elif isinstance(event, SurveyCompleted):
            completed = True
    writes.append(TouchResponse(response_id, ward, completed))
    return tuple(writes)


def _flags(response: ResponseState, state: engine.State, now: datetime) -> str:
    """The quality flags of `response` completed now with `state`'s answers (those that came with its link
    left out). Not for a web response: its `many_from_address` needs the stored admissions, so it is assessed
    once stored (`storage.repo.quality.assess`), and its flags stay NULL until then, for the scheduler's sweep
    should the process stop in between."""
    assert response.started_at is not None
    shown = {qid: value for qid, value in state.answers if qid not in response.fixed}
    survey = response.campaign.survey
    return quality.stored(quality.assess(survey, quality.CompletedResponse(response.started_at, now, shown)))


def _set_language(snapshot: Snapshot, who: Who, action: SetLanguage, now: datetime) -> Decision:
    language = action.language if action.language in LANGUAGES else "vi"
    person = snapshot.person
    if person is None:
        write: Write = AddPerson(language=language, consented=False)
    else:
        write = UpdatePerson(language=language)
        person = replace(person, language=language)
    view = _view(replace(snapshot, person=person), who, View(), now, language)
    return Decision(replace(view.outcome, kind=OutcomeKind.LANGUAGE_SET, language=language), (write,))


def _restart(snapshot: Snapshot, now: datetime, language: str) -> Decision:
    response = snapshot.current()
    if response is None:
        return Decision(Outcome(OutcomeKind.NOTHING_TO_RESTART, language=language))
    c = response.campaign
    if c.status != "active" or now >= c.ends_at:  # the answers stay as they were
        return Decision(_notice(OutcomeKind.CAMPAIGN_CLOSED, c, language))
    kept = tuple((qid, value) for qid, value in response.answers if qid in response.fixed)
    ward = response.ward_code if response.fixed else None
    restarted = replace(response, answers=kept, ward_code=ward)
    writes: tuple[Write, ...] = (
        ClearAnswers(response.id, response.fixed),
        TouchResponse(response.id, Unchanged.WARD if ward == response.ward_code else ward),
    )
    if response.paused:
        writes += (SetPaused(response.id, False),)
    return Decision(_resume(replace(restarted, paused=False), language).outcome, writes)


def _delete(snapshot: Snapshot, language: str) -> Decision:
    if snapshot.person is None:
        return Decision(Outcome(OutcomeKind.DELETED, language=language))
    writes: tuple[Write, ...] = (DropAddresses(), DeleteResponses(), ForgetPerson())
    return Decision(Outcome(OutcomeKind.DELETED, language=language), writes)


def _pause(snapshot: Snapshot, now: datetime, language: str) -> Decision:
    response = snapshot.current() if snapshot.person is not None else None
    if response is None or not response.takes_answers(now):
        return Decision(Outcome(OutcomeKind.NOTHING_TO_PAUSE, language=language))
    writes: tuple[Write, ...] = () if response.paused else (SetPaused(response.id, True),)
    return Decision(_outcome(OutcomeKind.PAUSED, replace(response, paused=True), language), writes)


def _view(snapshot: Snapshot, who: Who, action: View, now: datetime, language: str) -> Decision:
    if snapshot.person is not None:
        if action.response_id is not None:
            named = snapshot.response(action.response_id)
            if named is not None and named.status == "completed":  # its thank-you (a repeated last answer)
                thanks = SurveyCompleted(named.campaign.survey.text(named.campaign.survey.thanks, language))
                return Decision(_outcome(OutcomeKind.EVENTS, named, language, (thanks,)))
            current = named if named is not None and named.in_progress else None
        else:
            current = snapshot.current()
        if current is not None:
            return _resume(current, language, resumed=False)
        latest = snapshot.responses[0] if snapshot.responses and action.latest else None
        if latest is not None and latest.status == "completed":
            thanks = SurveyCompleted(latest.campaign.survey.text(latest.campaign.survey.thanks, language))
            return Decision(_outcome(OutcomeKind.EVENTS, latest, language, (thanks,)))
    if action.start is not None:  # what a /start showed (a consent screen: nothing is stored before consent)
        return _start(snapshot, who, action.start, now, language, begin=False)
    return Decision(Outcome(OutcomeKind.NO_RESPONSE, language=language))


def state_after(response: ResponseState, writes: tuple[Write, ...], version: int | None = None) -> ResponseState:
    """The response as it is once `writes` are stored (for a cache of what this process last wrote), with the
    row's new `version` when given."""
    version = response.version if version is None else version
    if len(writes) == 2:  # the usual answer: a new answer, and the response touched (neither ward nor status)
        put, touch = writes
        if (
            isinstance(put, PutAnswer)
            and isinstance(touch, TouchResponse)
            and put.response_id == touch.response_id == response.id
            and isinstance(touch.ward_code, Unchanged)
            and not touch.completed
            and all(qid != put.question_id for qid, _ in response.answers)
        ):
            return replace(response, answers=(*response.answers, (put.question_id, put.value)), version=version)
    answers = dict(response.answers)
    order = [qid for qid, _ in response.answers]
    ward = response.ward_code
    status = response.status
    paused = response.paused
    for w in writes:
        if isinstance(w, PutAnswer) and w.response_id == response.id:
            if w.question_id not in answers:
                order.append(w.question_id)
            answers[w.question_id] = w.value
        elif isinstance(w, RemoveAnswer) and w.response_id == response.id:
            answers.pop(w.question_id, None)
            order.remove(w.question_id)
        elif isinstance(w, TouchResponse) and w.response_id == response.id:
            if not isinstance(w.ward_code, Unchanged):
                ward = w.ward_code
            if w.completed:
                status = "completed"
        elif isinstance(w, SetPaused) and w.response_id == response.id:
            paused = w.paused
    answered = tuple((q, answers[q]) for q in order)
    return replace(
        response,
        answers=answered,
        ward_code=ward,
        status=status,
        paused=paused,
        version=version,
    )
