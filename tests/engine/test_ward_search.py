"""Ward search (`search_wards`, and the ward question's typed answers on every channel): what people type."""

from __future__ import annotations

import pytest

from flows.loader import bundled_survey_path, load_survey
from flows.questions import Accepted, Context, Rejected, WardOption, kind_of, search_wards

SURVEY = load_survey(bundled_survey_path())
WARDS = (
    WardOption(70, "Phường Hoàn Kiếm"),
    WardOption(235, "Phường Đống Đa"),
    WardOption(8, "Xã Đông Anh"),
    WardOption(9, "Phường Ba Đình"),
)
CTX = Context("vi", WARDS)


def codes(text: str) -> list[int]:
    return [w.code for w in search_wards(WARDS, text)]


def parse_text(text: str) -> Accepted | Rejected:
    q = SURVEY.question("ward")
    return kind_of(q).parse_text(q, SURVEY, text, CTX)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("hoankiem", 70),
        ("HoànKiếm", 70),
        ("dongda", 235),
        ("badinh", 9),
        ("phuonghoankiem", 70),
        ("donganh", 8),
    ],
)
def test_names_typed_without_spaces(typed: str, code: int) -> None:
    assert codes(typed) == [code]
    assert parse_text(typed) == Accepted(code)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("P.Hoàn Kiếm", 70),
        ("p. hoan kiem", 70),
        ("P Hoàn Kiếm", 70),
        ("Q.Đống Đa", 235),  # a district-era abbreviation: still the ward's name
        ("X.Đông Anh", 8),
        ("x dong anh", 8),
        ("Xã Đông Anh", 8),
        ("Phường Đống Đa", 235),
        ("xã hoàn kiếm", 70),  # the wrong kind still finds the name
        ("P.HoanKiem", 70),
    ],
)
def test_kind_words_and_abbreviations(typed: str, code: int) -> None:
    assert codes(typed) == [code]
    assert parse_text(typed) == Accepted(code)


def test_a_ward_code_typed_as_digits() -> None:
    assert codes("70") == [70]
    assert codes(" 235 ") == [235]
    assert codes("71") == []
    assert parse_text("8") == Accepted(8)
    assert parse_text("71") == Rejected("ward_not_found", {"text": "71"})


@pytest.mark.parametrize("typed", ["²", "7" * 5000, "٧٠"])
def test_odd_digits_find_nothing_and_do_not_fail(typed: str) -> None:
    assert codes(typed) == []
    result = parse_text(typed)
    assert isinstance(result, Rejected) and result.reason == "ward_not_found"
    q = SURVEY.question("ward")
    assert kind_of(q).parse_value(q, SURVEY, typed, CTX) == Rejected("invalid_choice")


def test_literal_matches_come_before_looser_readings() -> None:
    assert codes("dong") == [235, 8]  # contained in two names: both, as before
    assert codes("hoan kiem") == [70]
    assert codes("ba dinh") == [9]
    assert codes("zzz") == [] and codes("") == [] and codes("  ") == []
    assert codes("P.") == [70, 235, 9]  # just the kind: every ward of that kind, as "phường" does
    assert codes("phường") == [70, 235, 9]
