"""Whole numbers from requests (query strings, forms, paths), the one way every route reads them.

`int(text)` after `text.isdigit()` is not enough: `isdigit` is true for "²" (which `int` refuses) and for
Arabic-Indic or full-width digits (which `int` reads), and `int` refuses more than 4,300 digits with a
ValueError. Here a number is 1 to `MAX_DIGITS` ASCII digits (with a leading "-" where negatives are allowed)
within the caller's range; anything else is None, which the route answers with its own 4xx.
"""

from __future__ import annotations

import re

MAX_DIGITS = 19
"""Enough for any 64-bit id (a Telegram chat id has up to 14)."""

_NUMBER = re.compile(rf"-?[0-9]{{1,{MAX_DIGITS}}}", re.ASCII)


def whole_number(text: str | None, low: int, high: int) -> int | None:
    """The number `text` spells, if it lies in [low, high]; None for anything else (missing, empty, too long,
    not ASCII digits, out of range)."""
    if text is None or len(text) > MAX_DIGITS + 1 or not _NUMBER.fullmatch(text):
        return None
    if text.startswith("-") and low >= 0:
        return None
    value = int(text)
    return value if low <= value <= high else None


def whole_numbers(text: str | None, low: int, high: int) -> list[int] | None:
    """A comma-separated list of numbers in [low, high] ("70, 235"), or None if empty or any part is not one."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    values = [whole_number(p, low, high) for p in parts]
    if not values or any(v is None for v in values):
        return None
    return [v for v in values if v is not None]
