from __future__ import annotations

from flows.i18n import likert_labels, message
from flows.questions.base import (
    Context,
    JSONValue,
    Option,
    Parsed,
    QuestionKind,
    label_of,
    match_option,
    value_in,
)
from flows.schema import DONT_KNOW, Likert5Question, Survey


class Likert5(QuestionKind[Likert5Question]):
    """A five-level scale stored as 1-5, plus an optional "don't know" stored as "dk"."""

    def options(self, q: Likert5Question, survey: Survey, ctx: Context) -> list[Option]:
        labels = likert_labels(q.scale, ctx.language)
        options = [Option(i + 1, label) for i, label in enumerate(labels)]
        if q.dont_know:
            options.append(Option(DONT_KNOW, message("dont_know", ctx.language)))
        return options

    def parse_value(self, q: Likert5Question, survey: Survey, value: JSONValue, ctx: Context) -> Parsed:
        return value_in(value, self.options(q, survey, ctx))

    def parse_text(self, q: Likert5Question, survey: Survey, text: str, ctx: Context) -> Parsed:
        return match_option(text, self.options(q, survey, ctx), ctx.language)

    def display(self, q: Likert5Question, survey: Survey, value: JSONValue, ctx: Context) -> str:
        label = label_of(value, self.options(q, survey, ctx))
        return label if value == DONT_KNOW else f"{value} – {label}"
