"""What every question type provides, and the helpers they share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic, TypeVar

from flows.i18n import message
from flows.schema import Survey
from flows.text import fold

JSONValue = str | int | float | bool | None | list[Any] | dict[str, Any]


@dataclass(frozen=True)
class WardOption:
    """A ward (phường), commune (xã) or special zone (đặc khu) a respondent can pick."""

    code: int
    name: str

    @cached_property
    def key(self) -> str:
        return fold(self.name)

    @cached_property
    def short_key(self) -> str:
        """The folded name without its kind, e.g. "hoan kiem" for "Phường Hoàn Kiếm"."""
        for prefix in _WARD_PREFIXES:
            if self.key.startswith(prefix + " "):
                return self.key[len(prefix) + 1 :]
        return self.key


_WARD_PREFIXES = ("phuong", "xa", "dac khu", "thi tran")


@dataclass(frozen=True)
class Context:
    """What the engine needs to know that is not in the questionnaire or the answers."""

    language: str = "vi"
    wards: tuple[WardOption, ...] = ()

    @cached_property
    def ward_by_code(self) -> dict[int, WardOption]:
        return {w.code: w for w in self.wards}


@dataclass(frozen=True)
class Option:
    """A button: the value it answers with and the label shown on it."""

    value: str | int
    label: str


@dataclass(frozen=True)
class Accepted:
    value: JSONValue


@dataclass(frozen=True)
class Rejected:
    reason: str
    params: dict[str, Any] = field(default_factory=dict)
    candidates: tuple[Option, ...] = ()

    def text(self, language: str) -> str:
        return message(self.reason, language, **self.params)


Parsed = Accepted | Rejected
Q = TypeVar("Q")


class QuestionKind(Generic[Q]):
    """How one question type offers, parses and shows answers. Subclasses live one per module."""

    def options(self, q: Q, survey: Survey, ctx: Context) -> list[Option]:
        """Buttons to offer; empty for typed answers."""
        return []

    def parse_value(self, q: Q, survey: Survey, value: JSONValue, ctx: Context) -> Parsed:
        """An answer given as a value (a button press, a web form field)."""
        raise NotImplementedError

    def parse_text(self, q: Q, survey: Survey, text: str, ctx: Context) -> Parsed:
        """An answer typed as free text."""
        raise NotImplementedError

    def display(self, q: Q, survey: Survey, value: JSONValue, ctx: Context) -> str:
        """A stored answer as a person would read it."""
        raise NotImplementedError


def match_option(text: str, options: Sequence[Option], language: str) -> Parsed:
    """Match typed text to one option: by number, by value, by label (folded), or by a unique part of it."""
    stripped = text.strip()
    key = fold(stripped)
    if not key:
        return Rejected("choose")  # nothing chosen: a choice question asks to choose, not to type
    if key.isdigit():
        for option in options:
            if str(option.value) == key:
                return Accepted(option.value)
        n = int(key)
        if 1 <= n <= len(options):
            return Accepted(options[n - 1].value)
        return Rejected("no_match", {"text": stripped})
    for option in options:
        if fold(option.label) == key or fold(str(option.value)) == key:
            return Accepted(option.value)
    partial = [o for o in options if key in fold(o.label)]
    if len(partial) == 1:
        return Accepted(partial[0].value)
    if partial:
        return Rejected(
            "ambiguous",
            {"text": stripped, "options": ", ".join(f"“{o.label}”" for o in partial)},
            tuple(partial),
        )
    return Rejected("no_match", {"text": stripped})


def value_in(value: JSONValue, options: Sequence[Option]) -> Parsed:
    """Accept a button value that is one of the options (numbers and their strings alike)."""
    for option in options:
        if value == option.value or (isinstance(value, (str, int)) and str(value) == str(option.value)):
            return Accepted(option.value)
    return Rejected("invalid_choice")


def label_of(value: JSONValue, options: Sequence[Option]) -> str:
    for option in options:
        if option.value == value:
            return option.label
    return str(value)
