from __future__ import annotations

from flows.questions.base import Context, JSONValue, Option, Parsed, QuestionKind, match_option, value_in
from flows.schema import RatingQuestion, Survey


class Rating(QuestionKind[RatingQuestion]):
    """A 0-10 rating, stored as an integer."""

    def options(self, q: RatingQuestion, survey: Survey, ctx: Context) -> list[Option]:
        return [Option(i, str(i)) for i in range(11)]

    def parse_value(self, q: RatingQuestion, survey: Survey, value: JSONValue, ctx: Context) -> Parsed:
        return value_in(value, self.options(q, survey, ctx))

    def parse_text(self, q: RatingQuestion, survey: Survey, text: str, ctx: Context) -> Parsed:
        return match_option(text, self.options(q, survey, ctx), ctx.language)

    def display(self, q: RatingQuestion, survey: Survey, value: JSONValue, ctx: Context) -> str:
        return f"{value}/10"
