"""`web.params`: the one reader of numbers in requests never raises, and reads only plain ASCII numbers."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from web.params import whole_number, whole_numbers

ASCII_NUMBER = re.compile(r"-?[0-9]{1,19}")


@given(st.text(), st.integers(-(2**70), 2**70), st.integers(-(2**70), 2**70))
def test_any_text_is_a_number_in_range_or_none(text: str, low: int, high: int) -> None:
    value = whole_number(text, low, high)
    if value is not None:
        assert ASCII_NUMBER.fullmatch(text) and int(text) == value and low <= value <= high


@given(st.integers(0, 10**18))
def test_plain_numbers_are_read(n: int) -> None:
    assert whole_number(str(n), 0, 10**18) == n


def test_odd_digits_and_huge_numbers_are_refused() -> None:
    for text in ["9" * 5000, "٧٠", "７０", "²", "1_000", " 7", "7\n", "+7", "", "-"]:
        assert whole_number(text, -(10**20), 10**20) is None, text
    assert whole_number("-0", 0, 9) is None and whole_number("-12", -20, 0) == -12
    assert whole_numbers("70, 235,", 0, 999) == [70, 235]
    assert whole_numbers("70,٧٠", 0, 999) is None and whole_numbers(" , ", 0, 9) is None
