"""The pure conversation engine.

``start(survey, ctx)`` and ``advance(survey, state, input, ctx)`` return a `Step`: the new state and the
events a channel should render. No I/O, no clock, no Telegram, no SQL. The answers given so far are the
state: the current question is always the first shown question without an answer, so a restart, a
reminder or another channel resumes at the right place with nothing else to keep in sync.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from flows import expr
from flows.events import (
    AnswerRecorded,
    AnswerRejected,
    AnswerRemoved,
    ConsentDeclined,
    ConsentRequested,
    Event,
    InputIgnored,
    QuestionAsked,
    SurveyCompleted,
)
from flows.i18n import message
from flows.questions import TYPED_ONLY, Accepted, Context, JSONValue, Rejected, kind_of
from flows.questions.multi_choice import MultiChoice
from flows.questions.number import Number
from flows.schema import MultiChoiceQuestion, NumberQuestion, Question, Survey

# --- state ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """Where a respondent is, derived entirely from their answers.

    `answers` keeps question ids in the order they were answered; a skipped optional question is
    stored with the value None. `fixed` names answers that came with the entry point (a ward from a
    per-ward link) and that "back" does not undo.
    """

    consented: bool = False
    answers: tuple[tuple[str, JSONValue], ...] = ()
    fixed: frozenset[str] = frozenset()

    @property
    def answer_map(self) -> dict[str, JSONValue]:
        return dict(self.answers)

    def to_json(self) -> dict[str, Any]:
        return {
            "consented": self.consented,
            "answers": [[qid, value] for qid, value in self.answers],
            "fixed": sorted(self.fixed),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> State:
        return cls(
            consented=bool(data.get("consented", False)),
            answers=tuple((str(qid), value) for qid, value in data.get("answers", [])),
            fixed=frozenset(str(q) for q in data.get("fixed", [])),
        )


# --- inputs -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Consent:
    agree: bool


@dataclass(frozen=True)
class Answer:
    """An answer given as a value (a button). `question_id` names the question the button belonged to."""

    value: JSONValue
    question_id: str | None = None


@dataclass(frozen=True)
class Text:
    """Free text typed by the respondent."""

    text: str
    question_id: str | None = None


@dataclass(frozen=True)
class Back:
    question_id: str | None = None


@dataclass(frozen=True)
class Skip:
    question_id: str | None = None


Input = Consent | Answer | Text | Back | Skip


@dataclass(frozen=True)
class Step:
    state: State
    events: tuple[Event, ...] = field(default_factory=tuple)

    @property
    def completed(self) -> bool:
        return any(isinstance(e, SurveyCompleted) for e in self.events)


# --- visibility and position ------------------------------------------------------------------------


def _normalise(survey: Survey, state: State) -> State:
    """Drop answers to unknown questions and to questions hidden by the answers before them."""
    given = state.answer_map
    kept: dict[str, JSONValue] = {}
    for q in survey.questions:
        if q.id in given and _visible(q, kept):
            kept[q.id] = given[q.id]
    if len(kept) == len(state.answers):
        return state
    answers = tuple((qid, value) for qid, value in state.answers if qid in kept)
    return replace(state, answers=answers, fixed=state.fixed & kept.keys())


def _visible(q: Question, answers: Mapping[str, JSONValue]) -> bool:
    cond = q.condition
    return cond is None or expr.evaluate(cond, answers) is True


def is_shown(q: Question, answers: Mapping[str, JSONValue]) -> bool:
    """Whether `q` is shown given the answers to the questions before it."""
    return _visible(q, answers)


def visible_questions(survey: Survey, state: State) -> list[Question]:
    """The questions shown given the answers so far (later ones are decided when reached)."""
    answers = state.answer_map
    return [q for q in survey.questions if _visible(q, answers)]


def current_question(survey: Survey, state: State) -> Question | None:
    """The first shown question without an answer, or None when the questionnaire is complete."""
    answers = state.answer_map
    for q in survey.questions:
        if q.id not in answers and _visible(q, answers):
            return q
    return None


def is_complete(survey: Survey, state: State) -> bool:
    return state.consented and current_question(survey, state) is None


def progress(survey: Survey, state: State, current: Question) -> tuple[int, int]:
    """(number, total): the current question's number, and the answers so far plus the longest path left.

    `number` is the count of questions answered so far plus one (answers fixed by the entry point are not
    counted), so it grows by exactly one with every answer. `total` counts the answered questions and the
    questions still to come that are shown, or whose condition depends on a question not answered yet: the
    longest path the remaining answers could take (exactly that when no two conditions exclude each other,
    as in the bundled survey; otherwise more). An answer removes the current question from the path and may
    hide others, never adds one, so `total` only shrinks and `percent_done` never goes down.
    """
    answers = state.answer_map
    pos = survey.index[current.id]
    number = 0
    total = 0
    for i, q in enumerate(survey.questions):
        if q.id in state.fixed:
            continue
        if i < pos:
            shown = q.id in answers
        elif q.condition is None or i == pos:
            shown = True
        else:
            refs = survey.condition_refs[q.id]
            pending = any(survey.index.get(r, -1) >= pos and r not in answers for r in refs)
            shown = pending or _visible(q, answers)
        if shown:
            total += 1
            if i <= pos:
                number += 1
    return number, total


def percent_done(number: int, total: int) -> int:
    """The share of the way done when asking question `number` of at most `total`, in whole percent, rounded
    down (so 100 only once everything is answered): answered / (answered + longest path left)."""
    if total <= 0:
        return 100
    return max(0, min(100, (100 * (number - 1)) // total))


@lru_cache(maxsize=4096)
def progress_text(number: int, total: int, language: str) -> str:
    """ "Câu 5 · đã xong 27%": the question's number and the share done, never a total that could jump."""
    return message("progress", language, number=number, percent=percent_done(number, total))


def _previous(survey: Survey, state: State, current: Question | None) -> str | None:
    """The question "back" returns to: the last answered, non-fixed question before the current one."""
    answers = state.answer_map
    limit = survey.index[current.id] if current is not None else len(survey.questions)
    for q in reversed(survey.questions[:limit]):
        if q.id in answers and q.id not in state.fixed:
            return q.id
    return None


def _ask(
    survey: Survey, state: State, ctx: Context, q: Question, previous: JSONValue = None, has_previous: bool = False
) -> QuestionAsked:
    kind = kind_of(q)
    number, total = progress(survey, state, q)
    hint = unit = ""
    if isinstance(q, NumberQuestion):
        hint = Number().hint(q, ctx)
        unit = survey.text(q.unit, ctx.language)
    max_selections = 1
    min_selections = 1
    if isinstance(q, MultiChoiceQuestion):
        min_selections, max_selections = MultiChoice().bounds(q, survey)
    return QuestionAsked(
        question_id=q.id,
        type=q.type,
        number=number,
        total=total,
        label=survey.text(q.label, ctx.language),
        help=survey.text(q.help, ctx.language),
        hint=hint,
        options=tuple(kind.options(q, survey, ctx)) if q.type not in TYPED_ONLY else (),
        required=q.required,
        can_go_back=_previous(survey, state, q) is not None,
        min_selections=min_selections,
        max_selections=max_selections,
        previous=previous,
        has_previous=has_previous,
        progress_text=progress_text(number, total, ctx.language),
        unit=unit,
        percent=percent_done(number, total),
    )


def _next(survey: Survey, state: State, ctx: Context) -> Event:
    q = current_question(survey, state)
    if q is None:
        return SurveyCompleted(text=survey.text(survey.thanks, ctx.language))
    return _ask(survey, state, ctx, q)


# --- the engine -------------------------------------------------------------------------------------


def start(
    survey: Survey, ctx: Context, prefill: Mapping[str, JSONValue] | None = None, consented: bool = False
) -> Step:
    """Begin a questionnaire. `prefill` answers questions fixed by the entry point (e.g. the ward of a
    per-ward link); values are checked like any answer and dropped if invalid."""
    answers: list[tuple[str, JSONValue]] = []
    for qid, raw in (prefill or {}).items():
        if qid not in survey.index:
            continue
        q = survey.question(qid)
        parsed = kind_of(q).parse_value(q, survey, raw, ctx)
        if isinstance(parsed, Accepted):
            answers.append((qid, parsed.value))
    ordered = sorted(answers, key=lambda a: survey.index[a[0]])
    state = State(
        consented=consented or survey.consent is None,
        answers=tuple(ordered),
        fixed=frozenset(qid for qid, _ in ordered),
    )
    state = _normalise(survey, state)
    return resume(survey, state, ctx)


def resume(survey: Survey, state: State, ctx: Context) -> Step:
    """What to show a respondent who comes back: consent, the current question, or the thank-you."""
    state = _normalise(survey, state)
    if not state.consented:
        return Step(state, (ConsentRequested(text=survey.text(survey.consent, ctx.language)),))
    return Step(state, (_next(survey, state, ctx),))


def advance(survey: Survey, state: State, inp: Input, ctx: Context) -> Step:
    """Apply one input. Never raises for anything a respondent can send."""
    state = _normalise(survey, state)
    lang = ctx.language
    if not state.consented:
        if isinstance(inp, Consent):
            if not inp.agree:
                return Step(state, (ConsentDeclined(),))
            state = replace(state, consented=True)
            return Step(state, (_next(survey, state, ctx),))
        return Step(state, (InputIgnored("consent_needed", message("consent_needed", lang)),))

    current = current_question(survey, state)
    if current is None:
        return Step(state, (InputIgnored("completed", message("completed", lang)),))
    if isinstance(inp, Consent):
        return Step(state, (_ask(survey, state, ctx, current),))
    if inp.question_id is not None and inp.question_id != current.id:
        # an old button: of a question answered already, or of one that is not (or no longer) asked
        reason = "already_answered" if inp.question_id in state.answer_map else "not_current"
        return Step(state, (InputIgnored(reason, message(reason, lang)),))

    if isinstance(inp, Back):
        prev = _previous(survey, state, current)
        if prev is None:
            reason = "no_previous"
            return Step(state, (AnswerRejected(current.id, reason, message(reason, lang)),))
        old = state.answer_map[prev]
        before = state
        state = _normalise(survey, replace(state, answers=tuple(a for a in state.answers if a[0] != prev)))
        target = survey.question(prev)
        return Step(state, (*_removed(before, state), _ask(survey, state, ctx, target, old, has_previous=True)))

    if isinstance(inp, Skip):
        if current.required:
            return Step(state, (AnswerRejected(current.id, "required", message("required", lang)),))
        return _record(survey, state, ctx, current, None)

    kind = kind_of(current)
    if isinstance(inp, Answer):
        parsed = kind.parse_value(current, survey, inp.value, ctx)
    else:
        parsed = kind.parse_text(current, survey, inp.text, ctx)
    if isinstance(parsed, Rejected):
        return Step(
            state,
            (AnswerRejected(current.id, parsed.reason, parsed.text(lang), parsed.candidates, dict(parsed.params)),),
        )
    return _record(survey, state, ctx, current, parsed.value)


def _record(survey: Survey, state: State, ctx: Context, q: Question, value: JSONValue) -> Step:
    number, total = progress(survey, state, q)
    recorded = AnswerRecorded(
        q.id,
        value,
        label=survey.text(q.label, ctx.language),
        display=display_answer(survey, q.id, value, ctx),
        progress_text=progress_text(number, total, ctx.language),
    )
    before = replace(state, answers=(*state.answers, (q.id, value)))
    state = _normalise(survey, before)
    return Step(state, (recorded, *_removed(before, state), _next(survey, state, ctx)))


def _removed(before: State, after: State) -> list[Event]:
    """AnswerRemoved for every answer in `before` that is gone from `after` (back, or now hidden)."""
    kept = after.answer_map
    return [AnswerRemoved(qid) for qid, _ in before.answers if qid not in kept]


def display_answer(survey: Survey, question_id: str, value: JSONValue, ctx: Context) -> str:
    """An answer as the respondent would read it ("Hài lòng", "3 lần", "(bỏ qua)")."""
    if value is None:
        return message("skipped", ctx.language)
    q = survey.question(question_id)
    return kind_of(q).display(q, survey, value, ctx)
