"""The questionnaire format as typed models (pydantic v2).

A questionnaire is data: these models describe its shape; `flows.loader` reads a YAML file into them
and checks everything the models alone cannot (references, languages, callback-data sizes).
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from flows import expr

# Telegram's callback_data is 1-64 bytes. Adapters encode a button as
# "<prefix>:<response id>:<question id>:<value>"; 16 bytes are kept for the prefix and the
# response id, so a question id and a choice value together must fit in the rest.
CALLBACK_DATA_LIMIT = 64
CALLBACK_RESERVED = 16
CALLBACK_BUDGET = CALLBACK_DATA_LIMIT - CALLBACK_RESERVED

ID_PATTERN = r"^[a-z][a-z0-9_]*$"
VALUE_PATTERN = r"^[A-Za-z0-9_.\-]+$"
SUPPORTED_LANGUAGES = ("vi", "en")

LocalizedText = dict[str, str]
"""Text per language code, e.g. ``{"vi": "Phường của bạn?", "en": "Your ward?"}``."""

DONT_KNOW = "dk"
"""The stored value of a likert5 "don't know" answer; reports exclude it."""
SKIPPED = None
"""The stored value of a skipped optional question."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Choice(_Model):
    value: str
    label: LocalizedText


PAPI_DIMENSIONS = (1, 2, 3, 4, 5, 6, 7, 8)
"""PAPI's eight content dimensions, by number (their names are in the catalog, section `papi`)."""

Scoring = Literal["share", "score"]
"""How a factor's figure is made: "share" (SIPAS: the share of answers 4-5 among valid answers of its 5-level
questions) or "score" (PAPI-style: each respondent's mean of their scored answers, put on 1-10; the figure is
the mean over respondents)."""


class Factor(_Model):
    """A reporting figure: a SIPAS factor, a PAPI dimension's sub-dimension, or the overall index."""

    id: str
    label: LocalizedText
    framework: Literal["sipas", "papi", "overall", "other"] = "other"
    dimension: int | None = None
    """The PAPI dimension (1-8) this factor belongs to: it is then one of that dimension's sub-dimensions."""
    subdimension: int | None = None
    """Its number within the dimension (2 for sub-dimension 5.2)."""
    scoring: Scoring = "share"


class Reporting(_Model):
    """Which questions the digests and dashboards read for their headline lines."""

    overall: str | None = None
    issues: str | None = None
    comments: list[str] = Field(default_factory=list)


class _QuestionBase(_Model):
    id: str
    label: LocalizedText
    help: LocalizedText | None = None
    required: bool = True
    factor: str | None = None
    show_if: str | None = None
    scores: dict[str, float] | None = None
    """For a factor scored 1-10: each answer's item score, 0 (worst) to 1 (best), e.g. {"yes": 0, "no": 1};
    answers left out count for nothing. A likert5 question is scored 1 -> 0 ... 5 -> 1 and a rating v/10 unless
    given here."""

    @cached_property
    def condition(self) -> expr.Node | None:
        """The parsed `show_if` (the loader has already checked that it parses)."""
        return expr.parse(self.show_if) if self.show_if else None


class SingleChoiceQuestion(_QuestionBase):
    type: Literal["single_choice"]
    choices: list[Choice] = Field(default_factory=list)
    choice_list: str | None = None
    """The name of a shared list under `choice_lists`, instead of inline `choices`."""


class MultiChoiceQuestion(_QuestionBase):
    type: Literal["multi_choice"]
    choices: list[Choice] = Field(default_factory=list)
    choice_list: str | None = None
    min_selections: int = 1
    max_selections: int | None = None


class Likert5Question(_QuestionBase):
    type: Literal["likert5"]
    scale: Literal["satisfaction", "agreement"] = "satisfaction"
    dont_know: bool = False


class RatingQuestion(_QuestionBase):
    type: Literal["rating"]
    low_label: LocalizedText | None = None
    high_label: LocalizedText | None = None


class NumberQuestion(_QuestionBase):
    type: Literal["number"]
    min: float | None = None
    max: float | None = None
    integer: bool = True
    unit: LocalizedText | None = None


class TextQuestion(_QuestionBase):
    type: Literal["text"]
    max_length: int = 1000


class YesNoQuestion(_QuestionBase):
    type: Literal["yes_no"]


class WardQuestion(_QuestionBase):
    type: Literal["ward"]


Question = Annotated[
    SingleChoiceQuestion
    | MultiChoiceQuestion
    | Likert5Question
    | RatingQuestion
    | NumberQuestion
    | TextQuestion
    | YesNoQuestion
    | WardQuestion,
    Field(discriminator="type"),
]
QUESTION_TYPES = (
    "single_choice",
    "multi_choice",
    "likert5",
    "rating",
    "number",
    "text",
    "yes_no",
    "ward",
)
ChoiceQuestion = SingleChoiceQuestion | MultiChoiceQuestion


class Survey(_Model):
    id: str
    version: int
    languages: list[str]
    title: LocalizedText
    intro: LocalizedText | None = None
    consent: LocalizedText | None = None
    consent_web: LocalizedText | None = None
    """The consent as the web survey shows it, where Telegram's commands and chat addresses mean nothing
    (default: `consent`)."""
    thanks: LocalizedText
    factors: list[Factor] = Field(default_factory=list)
    choice_lists: dict[str, list[Choice]] = Field(default_factory=dict)
    reporting: Reporting = Field(default_factory=Reporting)
    questions: list[Question]

    @property
    def default_language(self) -> str:
        return self.languages[0]

    @cached_property
    def index(self) -> dict[str, int]:
        """Question id -> position in the questionnaire."""
        return {q.id: i for i, q in enumerate(self.questions)}

    @cached_property
    def condition_refs(self) -> dict[str, tuple[str, ...]]:
        """Question id -> the questions its `show_if` refers to (parsed once)."""
        return {q.id: tuple(r.name for r in expr.references(q.condition)) for q in self.questions if q.condition}

    @cached_property
    def ward_question(self) -> str | None:
        """The id of the ward question (its answer is the response's ward), or None."""
        return next((q.id for q in self.questions if q.type == "ward"), None)

    def question(self, question_id: str) -> Question:
        return self.questions[self.index[question_id]]

    def choices(self, question: ChoiceQuestion) -> list[Choice]:
        """The choices of a choice question, resolving a shared list by name."""
        if question.choice_list is not None:
            return self.choice_lists[question.choice_list]
        return question.choices

    def text(self, field: LocalizedText | None, language: str) -> str:
        """Text in a language, falling back to the survey's default language."""
        if not field:
            return ""
        return field.get(language) or field.get(self.default_language) or next(iter(field.values()))
