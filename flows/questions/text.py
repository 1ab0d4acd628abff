from __future__ import annotations

import re

from flows.questions.base import Accepted, Context, JSONValue, Parsed, QuestionKind, Rejected
from flows.schema import Survey, TextQuestion

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Text(QuestionKind[TextQuestion]):
    """Free text, stripped of control characters and surrounding space, at most `max_length` long."""

    def parse_value(self, q: TextQuestion, survey: Survey, value: JSONValue, ctx: Context) -> Parsed:
        if not isinstance(value, str):
            return Rejected("empty")
        return self.parse_text(q, survey, value, ctx)

    def parse_text(self, q: TextQuestion, survey: Survey, text: str, ctx: Context) -> Parsed:
        cleaned = _CONTROL.sub("", text).strip()
        if not cleaned:
            return Rejected("empty")
        if len(cleaned) > q.max_length:
            return Rejected("too_long", {"max": q.max_length, "length": len(cleaned)})
        return Accepted(cleaned)

    def display(self, q: TextQuestion, survey: Survey, value: JSONValue, ctx: Context) -> str:
        return str(value)
