from __future__ import annotations

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
from flows.schema import Survey, WardQuestion
from flows.text import fold

MAX_CANDIDATES = 8


def search_wards(wards: tuple[WardOption, ...], text: str) -> list[WardOption]:
    """Wards whose folded name matches: exact (with or without "phường"/"xã") first, then containing."""
    key = fold(text)
    if not key:
        return []
    exact = [w for w in wards if key in (w.key, w.short_key)]
    if exact:
        return exact
    return [w for w in wards if key in w.key]


class Ward(QuestionKind[WardQuestion]):
    """The respondent's ward, from the campaign's wards (supplied at run time in the context)."""

    def options(self, q: WardQuestion, survey: Survey, ctx: Context) -> list[Option]:
        return [Option(w.code, w.name) for w in ctx.wards]

    def parse_value(self, q: WardQuestion, survey: Survey, value: JSONValue, ctx: Context) -> Parsed:
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and value in ctx.ward_by_code:
            return Accepted(value)
        return Rejected("invalid_choice")

    def parse_text(self, q: WardQuestion, survey: Survey, text: str, ctx: Context) -> Parsed:
        stripped = text.strip()
        if not fold(stripped):
            return Rejected("empty")
        if stripped.isdigit() and int(stripped) in ctx.ward_by_code:
            return Accepted(int(stripped))
        found = search_wards(ctx.wards, stripped)
        if len(found) == 1:
            return Accepted(found[0].code)
        if not found:
            return Rejected("ward_not_found", {"text": stripped})
        return Rejected(
            "ward_ambiguous",
            {"text": stripped, "count": len(found)},
            tuple(Option(w.code, w.name) for w in found[:MAX_CANDIDATES]),
        )

    def display(self, q: WardQuestion, survey: Survey, value: JSONValue, ctx: Context) -> str:
        if isinstance(value, int) and value in ctx.ward_by_code:
            return ctx.ward_by_code[value].name
        return str(value)
