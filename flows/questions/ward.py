from __future__ import annotations

import re
from collections.abc import Callable

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

_ABBREVIATION = re.compile(r"^\s*[^\W\d_]\s*\.\s*")
"""A leading one-letter abbreviation with a dot: "P.Hoàn Kiếm", "X. Đông Anh", "Q.Đống Đa"."""
_KIND_WORDS = ("phuong", "xa", "dac khu", "thi tran", "p", "x")
"""What people type before a name, folded: "phường", "xã", and "P"/"X" without the dot."""


def search_wards(wards: tuple[WardOption, ...], text: str) -> list[WardOption]:
    """The wards `text` names, best matches first.

    A ward code typed as digits ("70") is that ward. Otherwise the folded text is matched against the folded
    names: exact (with or without "phường"/"xã") first, then containing. Only when nothing matches are looser
    readings tried, in order: without a leading abbreviation ("P.", "Q.", "X.") or kind ("phường", "xã",
    "P ", "X "), then ignoring spaces ("hoankiem", "dongda").
    """
    stripped = text.strip()
    if stripped.isascii() and stripped.isdigit():
        code = int(stripped) if _is_code(stripped) else -1
        return [w for w in wards if w.code == code]
    keys = _readings(stripped)
    for key in keys:
        found = _matching(wards, key, lambda w: (w.key, w.short_key))
        if found:
            return found
    for key in keys:
        found = _matching(wards, key.replace(" ", ""), _compact)
        if found:
            return found
    return []


def _is_code(text: str) -> bool:
    """ASCII digits short enough to be a ward code (int() refuses "²" and very long numbers)."""
    return text.isascii() and text.isdigit() and len(text) <= 9


def _readings(text: str) -> list[str]:
    """The folded keys `text` may mean, the literal one first (no empty keys, no repeats)."""
    keys = [fold(text), fold(_ABBREVIATION.sub("", text, count=1))]
    for key in list(keys):
        for word in _KIND_WORDS:
            if key.startswith(word + " "):
                keys.append(key[len(word) + 1 :])
    return [k for i, k in enumerate(keys) if k and k not in keys[:i]]


def _compact(w: WardOption) -> tuple[str, str]:
    return w.key.replace(" ", ""), w.short_key.replace(" ", "")


def _matching(
    wards: tuple[WardOption, ...], key: str, keys_of: Callable[[WardOption], tuple[str, str]]
) -> list[WardOption]:
    """Wards whose name (or name without its kind) is `key`; if none, those whose name contains it."""
    if not key:
        return []
    exact = [w for w in wards if key in keys_of(w)]
    if exact:
        return exact
    return [w for w in wards if key in keys_of(w)[0]]


class Ward(QuestionKind[WardQuestion]):
    """The respondent's ward, from the campaign's wards (supplied at run time in the context)."""

    def options(self, q: WardQuestion, survey: Survey, ctx: Context) -> list[Option]:
        return [Option(w.code, w.name) for w in ctx.wards]

    def parse_value(self, q: WardQuestion, survey: Survey, value: JSONValue, ctx: Context) -> Parsed:
        if isinstance(value, str) and _is_code(value):
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and value in ctx.ward_by_code:
            return Accepted(value)
        return Rejected("invalid_choice")

    def parse_text(self, q: WardQuestion, survey: Survey, text: str, ctx: Context) -> Parsed:
        stripped = text.strip()
        if not fold(stripped):
            return Rejected("choose_ward")
        found = search_wards(ctx.wards, stripped)
        if len(found) == 1:
            return Accepted(found[0].code)
        if not found:
            return Rejected("ward_not_found", {"text": stripped})
        return Rejected(
            "ward_ambiguous",
            {"text": stripped, "count": len(found)},
            tuple(Option(w.code, w.name) for w in found),  # every match: each channel shows what it can
        )

    def display(self, q: WardQuestion, survey: Survey, value: JSONValue, ctx: Context) -> str:
        if isinstance(value, int) and value in ctx.ward_by_code:
            return ctx.ward_by_code[value].name
        return str(value)
