"""What the engine tells a channel to show. Plain, serialisable data; one class per event."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from flows.questions.base import JSONValue, Option


@dataclass(frozen=True)
class ConsentRequested:
    text: str
    kind: str = field(default="consent_requested", init=False)


@dataclass(frozen=True)
class ConsentDeclined:
    kind: str = field(default="consent_declined", init=False)


@dataclass(frozen=True)
class QuestionAsked:
    question_id: str
    type: str
    number: int
    total: int
    label: str
    help: str = ""
    hint: str = ""
    options: tuple[Option, ...] = ()
    required: bool = True
    can_go_back: bool = False
    min_selections: int = 1
    max_selections: int = 1
    previous: JSONValue = None
    """The answer being changed, when the respondent came back to this question."""
    has_previous: bool = False
    progress_text: str = ""
    unit: str = ""
    """A number question's unit in the respondent's language ("lần"), or empty."""
    percent: int = 0
    """How far along, 0-100: answered / (answered + the longest path left); never goes down as answers come."""
    kind: str = field(default="question_asked", init=False)


@dataclass(frozen=True)
class AnswerRecorded:
    question_id: str
    value: JSONValue
    label: str = ""
    """The question, as it was asked (for a channel to show "question: answer")."""
    display: str = ""
    """The answer as the respondent reads it ("Hài lòng", "3 lần", "(bỏ qua)")."""
    progress_text: str = ""
    kind: str = field(default="answer_recorded", init=False)


@dataclass(frozen=True)
class AnswerRemoved:
    question_id: str
    kind: str = field(default="answer_removed", init=False)


@dataclass(frozen=True)
class AnswerRejected:
    question_id: str
    reason: str
    text: str
    candidates: tuple[Option, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    """The values in the reason's text ({"text": "xyz"} for "no_match"), for a channel that words it its own way."""
    kind: str = field(default="answer_rejected", init=False)


@dataclass(frozen=True)
class InputIgnored:
    """An input that does not apply any more (a stale button, a completed survey)."""

    reason: str
    text: str
    kind: str = field(default="input_ignored", init=False)


@dataclass(frozen=True)
class SurveyCompleted:
    text: str
    kind: str = field(default="survey_completed", init=False)


Event = (
    ConsentRequested
    | ConsentDeclined
    | QuestionAsked
    | AnswerRecorded
    | AnswerRemoved
    | AnswerRejected
    | InputIgnored
    | SurveyCompleted
)


def event_to_json(event: Event) -> dict[str, Any]:
    return asdict(event)
