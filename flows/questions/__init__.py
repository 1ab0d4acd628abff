"""One module per question type; `kind_of(question)` gives the object that parses and shows its answers."""

from __future__ import annotations

from typing import Any

from flows.questions.base import (
    Accepted,
    Context,
    JSONValue,
    Option,
    Parsed,
    QuestionKind,
    Rejected,
    WardOption,
)
from flows.questions.likert5 import Likert5
from flows.questions.multi_choice import MultiChoice
from flows.questions.number import Number
from flows.questions.rating import Rating
from flows.questions.single_choice import SingleChoice
from flows.questions.text import Text
from flows.questions.ward import Ward, search_wards
from flows.questions.yes_no import YesNo
from flows.schema import Question

KINDS: dict[str, QuestionKind[Any]] = {
    "single_choice": SingleChoice(),
    "multi_choice": MultiChoice(),
    "likert5": Likert5(),
    "rating": Rating(),
    "number": Number(),
    "text": Text(),
    "yes_no": YesNo(),
    "ward": Ward(),
}

TYPED_ONLY = frozenset({"number", "text"})
"""Question types answered by typing rather than with buttons."""


def kind_of(question: Question) -> QuestionKind[Any]:
    return KINDS[question.type]


__all__ = [
    "KINDS",
    "TYPED_ONLY",
    "Accepted",
    "Context",
    "JSONValue",
    "Option",
    "Parsed",
    "Rejected",
    "WardOption",
    "kind_of",
    "search_wards",
]
