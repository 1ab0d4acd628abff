"""The questionnaire format's PAPI fields (a factor's dimension, sub-dimension and scoring; a question's item
scores): accepted when right, refused with file, line and field when not."""

from __future__ import annotations

import pytest

from flows.loader import SurveyError, load_survey_text

BASE = """\
id: dims
version: 1
languages: [vi, en]
title: {vi: Khảo sát, en: Survey}
thanks: {vi: Cảm ơn, en: Thanks}
factors:
  - id: d5_procedures
    dimension: 5
    subdimension: 1
    scoring: score
    label: {vi: Thủ tục, en: Procedures}
  - id: d5_results
    dimension: 5
    subdimension: 2
    scoring: score
    label: {vi: Kết quả, en: Results}
  - id: sipas_staff
    label: {vi: Công chức, en: Civil servant}
questions:
  - id: used
    type: yes_no
    label: {vi: "Có làm thủ tục?", en: "Used a service?"}
  - id: clear
    type: likert5
    factor: d5_procedures
    show_if: used == "yes"
    label: {vi: "Rõ ràng?", en: "Clear?"}
  - id: on_time
    type: yes_no
    factor: d5_results
    scores: {"yes": 1, "no": 0}
    show_if: used == "yes"
    label: {vi: "Đúng hẹn?", en: "On time?"}
  - id: staff
    type: likert5
    factor: sipas_staff
    label: {vi: "Công chức?", en: "Civil servant?"}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(SurveyError) as info:
        load_survey_text(text, "dims.yaml")
    return [str(p) for p in info.value.problems]


def edit(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


def test_a_dimension_with_scored_sub_dimensions_loads() -> None:
    s = load_survey_text(BASE, "dims.yaml")
    assert [(f.dimension, f.subdimension, f.scoring) for f in s.factors] == [
        (5, 1, "score"),
        (5, 2, "score"),
        (None, None, "share"),
    ]
    assert s.question("on_time").scores == {"yes": 1.0, "no": 0.0}


CASES = [
    pytest.param(
        edit("    dimension: 5\n    subdimension: 1\n", "    dimension: 9\n    subdimension: 1\n"),
        ["dims.yaml:8: factors[0].dimension: 9 is not one of PAPI's eight dimensions (1-8)"],
        id="dimension-out-of-range",
    ),
    pytest.param(
        edit("    subdimension: 2\n", "    subdimension: 1\n"),
        ["dims.yaml:14: factors[1].subdimension: sub-dimension 5.1 is already factors[0]"],
        id="subdimension-twice",
    ),
    pytest.param(
        edit("  - id: sipas_staff\n", "  - id: sipas_staff\n    subdimension: 3\n"),
        ["dims.yaml:18: factors[2].subdimension: a sub-dimension needs its 'dimension' (1-8)"],
        id="subdimension-without-dimension",
    ),
    pytest.param(
        edit("    subdimension: 2\n    scoring: score\n", "    subdimension: 2\n    scoring: share\n"),
        [
            "dims.yaml:15: factors[1].scoring: dimension 5 is scored 'score' at factors[0]: the factors of a "
            "dimension are scored the same way",
            "dims.yaml:31: questions[2].scores: 'scores' count only for a question of a factor scored 1-10 "
            "(scoring: score)",
        ],
        id="one-method-per-dimension",
    ),
    pytest.param(
        edit("    scoring: score\n", "    scoring: mean\n"),
        ["dims.yaml:10: factors[0].scoring: must be one of 'share' or 'score', got 'mean'"],
        id="unknown-method",
    ),
    pytest.param(
        edit('    scores: {"yes": 1, "no": 0}\n', "    scores: {yes: 1, no: 0}\n"),
        [
            "dims.yaml:31: questions[2].scores.False: 'False' is not a possible answer of 'on_time' (YAML reads an "
            'unquoted yes or no as true or false: write "yes" or "no" in quotes)',
            "dims.yaml:31: questions[2].scores.True: 'True' is not a possible answer of 'on_time' (YAML reads an "
            'unquoted yes or no as true or false: write "yes" or "no" in quotes)',
        ],
        id="unquoted-yes-no",
    ),
    pytest.param(
        edit('    scores: {"yes": 1, "no": 0}\n', '    scores: {"yes": 2, "no": 0}\n'),
        ["dims.yaml:31: questions[2].scores.yes: a score is between 0 (worst) and 1 (best), not 2"],
        id="score-out-of-range",
    ),
    pytest.param(
        edit('    scores: {"yes": 1, "no": 0}\n', ""),
        [
            "dims.yaml:28: questions[2]: factor 'd5_results' is scored 1-10: give 'scores' for this question's "
            'answers (e.g. scores: {"yes": 0, "no": 1})'
        ],
        id="yes-no-needs-scores",
    ),
    pytest.param(
        edit("  - id: staff\n    type: likert5\n", '  - id: staff\n    type: likert5\n    scores: {"1": 0}\n'),
        [
            "dims.yaml:36: questions[3].scores: 'scores' count only for a question of a factor scored 1-10 "
            "(scoring: score)"
        ],
        id="scores-on-a-share-factor",
    ),
    pytest.param(
        edit("  - id: used\n    type: yes_no\n", "  - id: used\n    type: text\n    factor: d5_results\n"),
        [
            "dims.yaml:22: questions[0].factor: factor 'd5_results' is scored 1-10, but a text question cannot be "
            "scored (only likert5, rating, yes_no, single_choice)",
        ],
        id="unscoreable-type",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_problems(text: str, expected: list[str]) -> None:
    assert problems(text) == expected
