from __future__ import annotations

import math
import re

from flows.i18n import message
from flows.questions.base import Accepted, Context, JSONValue, Parsed, QuestionKind, Rejected
from flows.schema import NumberQuestion, Survey

_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d+)?|[.,]\d+)$")
_GROUPED = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$|^[+-]?\d{1,3}(,\d{3}){2,}(\.\d+)?$")
"""Digits in groups of three: "20.000" and "1.000.000,5" as Vietnamese writes them (a dot between the
thousands, a decimal comma), or "1,000,000" (at least two comma groups: "2,500" stays two and a half)."""


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


class Number(QuestionKind[NumberQuestion]):
    """A typed number; Vietnamese decimal commas ("2,5") and thousands dots ("20.000") are understood."""

    def hint_reason(self, q: NumberQuestion) -> tuple[str, dict[str, str]]:
        suffix = "_integer" if q.integer else ""
        params = {"min": _fmt(q.min) if q.min is not None else "", "max": _fmt(q.max) if q.max is not None else ""}
        if q.min is not None and q.max is not None:
            return "number_range" + suffix, params
        if q.min is not None:
            return "number_min" + suffix, params
        if q.max is not None:
            return "number_max" + suffix, params
        return "number_any" + suffix, params

    def hint(self, q: NumberQuestion, ctx: Context) -> str:
        reason, params = self.hint_reason(q)
        return message(reason, ctx.language, **params)

    def _check(self, q: NumberQuestion, x: float) -> Parsed:
        reason, params = self.hint_reason(q)
        if not math.isfinite(x) or (q.integer and not float(x).is_integer()):
            return Rejected(reason, params)
        if (q.min is not None and x < q.min) or (q.max is not None and x > q.max):
            return Rejected(reason, params)
        return Accepted(int(x) if q.integer else float(x))

    def parse_value(self, q: NumberQuestion, survey: Survey, value: JSONValue, ctx: Context) -> Parsed:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if isinstance(value, str):
                return self.parse_text(q, survey, value, ctx)
            return Rejected(*self.hint_reason(q))
        return self._check(q, float(value))

    def parse_text(self, q: NumberQuestion, survey: Survey, text: str, ctx: Context) -> Parsed:
        cleaned = text.strip().replace(" ", "")
        if not cleaned:
            return Rejected("empty")
        if _GROUPED.match(cleaned) and len(cleaned) <= 30:
            if "." in cleaned and ("," not in cleaned or cleaned.index(".") < cleaned.index(",")):
                cleaned = cleaned.replace(".", "")  # 20.000 / 1.000.000,5
            else:
                cleaned = cleaned.replace(",", "")  # 1,000,000.5
        if not _NUMBER.match(cleaned) or len(cleaned) > 30:
            reason, params = self.hint_reason(q)
            return Rejected(reason, params)
        return self._check(q, float(cleaned.replace(",", ".")))

    def display(self, q: NumberQuestion, survey: Survey, value: JSONValue, ctx: Context) -> str:
        shown = _fmt(value) if isinstance(value, (int, float)) else str(value)
        unit = survey.text(q.unit, ctx.language)
        return f"{shown} {unit}" if unit else shown
