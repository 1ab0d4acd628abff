"""Vietnamese alphabetical order for lists of names (the web survey's ward picker)."""

from __future__ import annotations

import unicodedata

from flows.text import collation_key


def ordered(*names: str) -> list[str]:
    return sorted(names, key=collation_key)


def test_letters_in_the_vietnamese_alphabet() -> None:
    assert ordered("Đa", "Dương", "Dân", "Đại", "Ê", "E", "Ơ", "Ô", "O", "Ư", "U", "Â", "Ă", "A", "Y", "X") == [
        "A", "Ă", "Â", "Dân", "Dương", "Đa", "Đại", "E", "Ê", "O", "Ô", "Ơ", "U", "Ư", "X", "Y",
    ]  # fmt: skip


def test_tones_only_decide_between_the_same_letters() -> None:
    assert ordered("bạ", "bá", "bã", "bả", "bà", "ba") == ["ba", "bà", "bả", "bã", "bá", "bạ"]
    assert ordered("Bá X", "Ba Y") == ["Bá X", "Ba Y"]  # letters first: x before y
    assert ordered("Bach", "Bà") == ["Bà", "Bach"]  # shorter first, whatever its tone
    assert ordered("Đống Đa", "Đông Ngạc") == ["Đống Đa", "Đông Ngạc"]  # đ before n


def test_case_spaces_and_decomposed_input() -> None:
    assert collation_key("Phường Đống Đa") == collation_key("phường đống đa")
    decomposed = unicodedata.normalize("NFD", "Phường Định Công")
    assert collation_key(decomposed) == collation_key("Phường Định Công")
    assert ordered("Ba Vì", "Bac", "Ba") == ["Ba", "Ba Vì", "Bac"]  # a space before any letter
    assert ordered("z", "f", "g", "1") == ["1", "f", "g", "z"]  # letters outside the alphabet where English has them
