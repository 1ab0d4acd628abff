from __future__ import annotations

import re

from flows.questions.base import (
    Accepted,
    Context,
    JSONValue,
    Option,
    Parsed,
    QuestionKind,
    Rejected,
    label_of,
    match_option,
)
from flows.schema import MultiChoiceQuestion, Survey

_SEPARATORS = re.compile(r"[,;/\n]+|\s+và\s+|\s+and\s+")


class MultiChoice(QuestionKind[MultiChoiceQuestion]):
    def options(self, q: MultiChoiceQuestion, survey: Survey, ctx: Context) -> list[Option]:
        return [Option(c.value, survey.text(c.label, ctx.language)) for c in survey.choices(q)]

    def bounds(self, q: MultiChoiceQuestion, survey: Survey) -> tuple[int, int]:
        n = len(survey.choices(q))
        return q.min_selections, q.max_selections if q.max_selections is not None else n

    def parse_value(self, q: MultiChoiceQuestion, survey: Survey, value: JSONValue, ctx: Context) -> Parsed:
        """A list of choice values, or a bit mask over the choices in order (bit i = choice i), as a
        keyboard that keeps its selection in the button data sends it."""
        known = [o.value for o in self.options(q, survey, ctx)]
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0 or value >= 1 << len(known):
                return Rejected("invalid_choice")
            value = [str(v) for i, v in enumerate(known) if value & (1 << i)]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return Rejected("invalid_choice")
        if any(v not in known for v in value):
            return Rejected("invalid_choice")
        chosen = [v for v in known if v in value]  # questionnaire order, no duplicates
        return self._check_count(q, survey, chosen)

    def parse_text(self, q: MultiChoiceQuestion, survey: Survey, text: str, ctx: Context) -> Parsed:
        options = self.options(q, survey, ctx)
        parts = [p for p in _SEPARATORS.split(text) if p.strip()]
        if len(parts) == 1 and re.fullmatch(r"\s*\d+(\s+\d+)+\s*", parts[0]):
            parts = parts[0].split()  # "1 3 5": numbers separated by spaces
        if not parts:
            return Rejected("choose")
        picked: set[str | int] = set()
        for part in parts:
            result = match_option(part, options, ctx.language)
            if isinstance(result, Rejected):
                return result
            assert isinstance(result.value, (str, int))
            picked.add(result.value)
        chosen = [o.value for o in options if o.value in picked]
        return self._check_count(q, survey, chosen)

    def _check_count(self, q: MultiChoiceQuestion, survey: Survey, chosen: list[str | int]) -> Parsed:
        low, high = self.bounds(q, survey)
        if len(chosen) < low:
            return Rejected("too_few", {"min": low})
        if len(chosen) > high:
            return Rejected("too_many", {"max": high, "count": len(chosen)})
        return Accepted(list(chosen))

    def display(self, q: MultiChoiceQuestion, survey: Survey, value: JSONValue, ctx: Context) -> str:
        options = self.options(q, survey, ctx)
        if not isinstance(value, list):
            return str(value)
        return "; ".join(label_of(v, options) for v in value)
