from __future__ import annotations

from flows.i18n import message
from flows.questions.base import (
    Accepted,
    Context,
    JSONValue,
    Option,
    Parsed,
    QuestionKind,
    label_of,
    match_option,
    value_in,
)
from flows.schema import Survey, YesNoQuestion
from flows.text import fold

_WORDS = {
    "yes": {"co", "c", "yes", "y", "dung", "u", "vang", "da", "ok"},
    "no": {"khong", "k", "ko", "no", "n", "sai"},
}


class YesNo(QuestionKind[YesNoQuestion]):
    """Stored as "yes" or "no" so skip logic reads naturally: `paid == "yes"`."""

    def options(self, q: YesNoQuestion, survey: Survey, ctx: Context) -> list[Option]:
        return [Option("yes", message("yes", ctx.language)), Option("no", message("no", ctx.language))]

    def parse_value(self, q: YesNoQuestion, survey: Survey, value: JSONValue, ctx: Context) -> Parsed:
        return value_in(value, self.options(q, survey, ctx))

    def parse_text(self, q: YesNoQuestion, survey: Survey, text: str, ctx: Context) -> Parsed:
        key = fold(text)
        for value, words in _WORDS.items():
            if key in words:
                return Accepted(value)
        return match_option(text, self.options(q, survey, ctx), ctx.language)

    def display(self, q: YesNoQuestion, survey: Survey, value: JSONValue, ctx: Context) -> str:
        return label_of(value, self.options(q, survey, ctx))
