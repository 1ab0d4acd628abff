"""Each question type parses typed text and button values into a value or a reason to re-ask."""

from __future__ import annotations

import pytest

from flows.loader import bundled_survey_path, load_survey
from flows.questions import Accepted, Context, Rejected, WardOption, kind_of, search_wards
from flows.text import fold

SURVEY = load_survey(bundled_survey_path())
WARDS = (
    WardOption(70, "Phường Hoàn Kiếm"),
    WardOption(235, "Phường Đống Đa"),
    WardOption(8, "Xã Đông Anh"),
    WardOption(9, "Phường Ba Đình"),
)
VI = Context("vi", WARDS)
EN = Context("en", WARDS)


def parse_text(qid: str, text: str, ctx: Context = VI) -> Accepted | Rejected:
    q = SURVEY.question(qid)
    return kind_of(q).parse_text(q, SURVEY, text, ctx)


def test_fold() -> None:
    assert fold("Phường Đống Đa") == "phuong dong da"
    assert fold("  HOÀN   kiếm! ") == "hoan kiem"
    # decomposed input (as some keyboards send it) folds the same
    assert fold("Ho\u0300an Kie\u0302\u0301m") == "hoan kiem"


@pytest.mark.parametrize("typed", ["hoan kiem", "Hoàn Kiếm", "phuong hoan kiem", "HOAN KIEM", "70"])
def test_ward_search_folds_diacritics(typed: str) -> None:
    assert parse_text("ward", typed) == Accepted(70)


@pytest.mark.parametrize("typed", ["Đống Đa", "dong da", "đống đa"])
def test_ward_search_with_d_stroke(typed: str) -> None:
    assert parse_text("ward", typed) == Accepted(235)


def test_ward_ambiguous_offers_candidates() -> None:
    result = parse_text("ward", "dong")
    assert isinstance(result, Rejected) and result.reason == "ward_ambiguous"
    assert [c.value for c in result.candidates] == [235, 8]
    assert search_wards(WARDS, "ba dinh")[0].code == 9


@pytest.mark.parametrize(
    ("typed", "value"),
    [("4", 4), ("hài lòng", 4), ("Hai long", 4), ("rat hai long", 5), ("không rõ", "dk"), ("6", "dk")],
)
def test_likert_typed(typed: str, value: object) -> None:
    assert parse_text("sat_access", typed) == Accepted(value)


def test_likert_english_labels() -> None:
    assert parse_text("sat_access", "very dissatisfied", EN) == Accepted(1)
    assert parse_text("sat_access", "don't know", EN) == Accepted("dk")


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("3", 3), ("2,0", 2), ("2,5", None), ("", None), ("1 000", None), ("20", 20), ("1e3", None),
        ("20.000", None), ("1.000", None),  # twenty thousand and one thousand (Vietnamese dots), not 20 and 1
    ],
)  # fmt: skip
def test_number_integer(typed: str, value: int | None) -> None:
    result = parse_text("visits", typed)
    if value is None:
        assert isinstance(result, Rejected)
    else:
        assert result == Accepted(value)


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("20.000", 20000), ("1.000.000", 1000000), ("1.000.000,5", 1000000.5), ("1,000,000", 1000000),
        ("1,000,000.5", 1000000.5), ("2,5", 2.5), ("2.5", 2.5), ("2,500", 2.5), ("12.34", 12.34), ("-1.000", -1000),
    ],
)  # fmt: skip
def test_number_thousands_separators(typed: str, value: float) -> None:
    from flows.questions.number import Number
    from flows.schema import NumberQuestion

    q = NumberQuestion.model_validate({"id": "x", "type": "number", "label": {"vi": "x"}, "integer": False})
    assert Number().parse_text(q, SURVEY, typed, Context()) == Accepted(value)


def test_number_rejection_says_the_range() -> None:
    result = parse_text("visits", "21")
    assert isinstance(result, Rejected)
    assert result.text("en") == "Please type a whole number between 1 and 20."
    assert result.text("vi") == "Vui lòng nhập một số nguyên từ 1 đến 20."


def test_multi_choice_typed_numbers_and_labels() -> None:
    assert parse_text("top_issues", "1, 3") == Accepted(["waste", "flooding"])
    assert parse_text("top_issues", " 1 3 ") == Accepted(["waste", "flooding"])  # spaces only, between numbers
    assert parse_text("top_issues", "trường học; rác thải") == Accepted(["waste", "schools"])
    too_many = parse_text("top_issues", "1,2,3,4")
    assert isinstance(too_many, Rejected) and too_many.reason == "too_many"


def test_text_strips_control_characters() -> None:
    assert parse_text("comment", "  a\x00b\x07c \n") == Accepted("abc")
    assert isinstance(parse_text("comment", "x" * 1001), Rejected)


@pytest.mark.parametrize(("typed", "value"), [("có", "yes"), ("Co", "yes"), ("ko", "no"), ("No", "no"), ("2", "no")])
def test_yes_no(typed: str, value: str) -> None:
    assert parse_text("gave_feedback", typed) == Accepted(value)


def test_display() -> None:
    from flows.engine import display_answer

    assert display_answer(SURVEY, "ward", 70, VI) == "Phường Hoàn Kiếm"
    assert display_answer(SURVEY, "visits", 3, EN) == "3 times"
    assert display_answer(SURVEY, "sat_access", "dk", VI) == "Không rõ"
    assert display_answer(SURVEY, "gender", None, EN) == "(skipped)"
    assert display_answer(SURVEY, "top_issues", ["waste", "schools"], VI) == "Thu gom rác thải; Trường học"
