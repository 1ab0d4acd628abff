"""The bundled PAPI-structured questionnaire: it validates, names PAPI's eight dimensions with their
sub-dimensions, and walks to the end in both languages (with skip logic) through `khaosat survey preview`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from bot.cli import main
from flows.loader import SurveyError, bundled_surveys, load_survey
from flows.xlsform import build_xlsform, read_xlsform
from reports.plan import plan_of
from storage.repo.surveys import content_hash

VI_WALK = [
    "1",  # consent
    "hoan kiem",
    "2",  # age
    "1",  # knows the right to take part
    "1",  # invited to a meeting
    "4",  # ... was heard
    "1",  # contributed
    "1",  # ... and it was overseen
    "5",
    "3",  # poor households' list: not sure
    "2",
    "1",  # gave feedback
    "2",  # ... answered
    "1",
    "1",  # "pay something extra": strongly disagree (scored best)
    "2",
    "2",  # does not know where to report
    "1",  # used a service in person
    "4",
    "5",
    "co",  # on time
    "1",  # once
    "5",
    "4",
    "2",
    "4",
    "4",
    "4",
    "1",  # used the portal
    "5",
    "1",  # internet
    "1,3",
    "4",
    "Góp ý",
]
EN_WALK = [
    "yes",
    "dong da",
    "60 or over",
    "no",  # does not know the right
    "no",  # not invited: the follow-up is not asked
    "no",  # no contribution: not asked about its oversight
    "5",
    "1",
    "6",  # don't know
    "no",  # no feedback
    "2",
    "4",
    "5",
    "yes",
    "No",  # no service: the service block is not asked
    "3",
    "2",
    "5",
    "3",
    "3",
    "3",
    "no",  # no portal
    "yes",
    "5",
    "3",
    "-",
]


def preview(answers: list[str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["survey", "preview", "papi", *args], input="\n".join(answers) + "\n")
    return result.exit_code, result.stdout


def test_the_papi_questionnaire_validates_by_its_short_name() -> None:
    result = CliRunner().invoke(main, ["survey", "validate", "papi"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "OK papi-ward-governance v1: 33 questions, 22 factors\n"


def test_it_covers_the_eight_dimensions_with_numbered_sub_dimensions_scored_1_to_10() -> None:
    survey = load_survey(bundled_surveys()["papi"])
    plan = plan_of(survey)
    assert [d.number for d in plan.dimensions] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert all(d.scoring == "score" for d in plan.dimensions)
    assert [f.code for f in plan.dimensions[4].factors] == ["5.1", "5.2", "5.3"]
    assert {q.id for d in plan.dimensions for f in d.factors for q in f.scored} >= {"d5_on_time", "d4_connections"}
    assert 25 <= len(survey.questions) <= 35


def test_the_vietnamese_walk_reaches_the_end() -> None:
    code, out = preview(VI_WALK)
    assert code == 0, out[-2000:]
    assert "Câu 1 · đã xong 0% · Bạn đang sinh sống ở phường, xã nào?" in out
    assert "Bạn có nhận được kết quả đúng hẹn không?" in out
    assert "Cảm ơn bạn đã hoàn thành khảo sát!" in out
    assert "  d5_visits: Một lần" in out and "  comment: Góp ý" in out


def test_the_english_walk_skips_what_the_person_did_not_do() -> None:
    code, out = preview(EN_WALK, "--lang", "en")
    assert code == 0, out[-2000:]
    assert "Which ward or commune do you live in?" in out
    assert "Thank you for completing the survey!" in out
    for not_asked in (
        "was noted and answered",
        "Was that contribution",
        "answer to your feedback",
        "by the date you were given",
        "doing it online",
    ):
        assert not_asked not in out, not_asked
    assert "  d5_clear:" not in out and "  used_service: No" in out


def test_it_goes_to_an_xlsform_and_back_unchanged(tmp_path: Path) -> None:
    original = load_survey(bundled_surveys()["papi"])
    path = tmp_path / "papi.xlsx"
    build_xlsform(original, [(70, "Phường Hoàn Kiếm")]).save(path)
    imported = read_xlsform(path)
    assert imported.warnings == ()
    assert imported.survey.model_dump(mode="json") == original.model_dump(mode="json")
    assert content_hash(imported.survey) == content_hash(original)
    book = load_workbook(path)
    factors = [[c.value for c in row] for row in book["khaosat_factors"].iter_rows()]
    assert factors[0][-3:] == ["dimension", "subdimension", "scoring"] and factors[1][-3:] == [1, 1, "score"]
    survey = [[c.value for c in row] for row in book["survey"].iter_rows()]
    column = survey[0].index("khaosat::scores")
    assert "1=1; 2=0.75; 3=0.5; 4=0.25; 5=0" in [row[column] for row in survey]


def test_an_xlsform_with_unreadable_scores_names_the_cell(tmp_path: Path) -> None:
    original = load_survey(bundled_surveys()["papi"])
    path = tmp_path / "papi.xlsx"
    book = build_xlsform(original, [(70, "Phường Hoàn Kiếm")])
    sheet = book["survey"]
    column = [c.value for c in sheet[1]].index("khaosat::scores") + 1
    row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, column).value == "yes=1; no=0")
    sheet.cell(row, column).value = "yes: 1, no: 0"
    book.save(path)
    with pytest.raises(SurveyError) as info:
        read_xlsform(path)
    assert any(
        "'yes: 1, no: 0': write each answer's score as value=score, separated by ';' (e.g. yes=1; no=0)" in str(p)
        for p in info.value.problems
    )
