from __future__ import annotations

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
from flows.schema import SingleChoiceQuestion, Survey


class SingleChoice(QuestionKind[SingleChoiceQuestion]):
    def options(self, q: SingleChoiceQuestion, survey: Survey, ctx: Context) -> list[Option]:
        return [Option(c.value, survey.text(c.label, ctx.language)) for c in survey.choices(q)]

    def parse_value(self, q: SingleChoiceQuestion, survey: Survey, value: JSONValue, ctx: Context) -> Parsed:
        return value_in(value, self.options(q, survey, ctx))

    def parse_text(self, q: SingleChoiceQuestion, survey: Survey, text: str, ctx: Context) -> Parsed:
        return match_option(text, self.options(q, survey, ctx), ctx.language)

    def display(self, q: SingleChoiceQuestion, survey: Survey, value: JSONValue, ctx: Context) -> str:
        return label_of(value, self.options(q, survey, ctx))
