"""The loader refuses bad questionnaires with every problem, each with file, line and field path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from flows.loader import SurveyError, bundled_survey_path, load_survey, load_survey_text

BASE = """\
id: test-survey
version: 1
languages: [vi, en]
title: {vi: Khảo sát, en: Survey}
thanks: {vi: Cảm ơn, en: Thanks}
factors:
  - id: overall
    label: {vi: Chung, en: Overall}
choice_lists:
  yesno3:
    - {value: "yes", label: {vi: Có, en: "Yes"}}
    - {value: "no", label: {vi: Không, en: "No"}}
questions:
  - id: q1
    type: single_choice
    label: {vi: Câu một, en: Question one}
    choice_list: yesno3
  - id: q2
    type: multi_choice
    label: {vi: Câu hai, en: Question two}
    max_selections: 2
    choices:
      - {value: a, label: {vi: A, en: A}}
      - {value: b, label: {vi: B, en: B}}
      - {value: c, label: {vi: C, en: C}}
  - id: q3
    type: likert5
    factor: overall
    label: {vi: Câu ba, en: Question three}
    show_if: q1 == "yes" and selected(q2, "a")
  - id: q4
    type: number
    min: 0
    max: 20
    label: {vi: Câu bốn, en: Question four}
"""


def problems(text: str, name: str = "survey.yaml") -> list[str]:
    with pytest.raises(SurveyError) as info:
        load_survey_text(text, name)
    return [str(p) for p in info.value.problems]


def edit(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


def test_base_is_valid() -> None:
    s = load_survey_text(BASE, "survey.yaml")
    assert [q.id for q in s.questions] == ["q1", "q2", "q3", "q4"]


def test_bundled_survey_validates() -> None:
    s = load_survey(bundled_survey_path())
    assert 15 <= len(s.questions) <= 18
    assert s.languages == ["vi", "en"]
    types = {q.type for q in s.questions}
    assert {"ward", "likert5", "multi_choice", "number", "text", "yes_no", "single_choice"} <= types


CASES = [
    pytest.param(
        "id: x\n  version: 1\n bad: [\n",
        ["survey.yaml:2: YAML syntax error: mapping values are not allowed here"],
        id="yaml-syntax",
    ),
    pytest.param(
        edit("    choice_list: yesno3\n", "    choice_list: yesno3\n    lable: {vi: x, en: x}\n"),
        ["survey.yaml:18: questions[0]: unknown key 'lable' (did you mean 'label'?)"],
        id="unknown-key-question",
    ),
    pytest.param(
        edit("version: 1\n", "version: 1\ncolour: red\n"),
        ["survey.yaml:3: unknown key 'colour'"],
        id="unknown-key-top",
    ),
    pytest.param(
        edit("label: {vi: Câu một, en: Question one}", "label: {vi: Câu một}"),
        ["survey.yaml:16: questions[0].label: missing text for language 'en'"],
        id="missing-language-label",
    ),
    pytest.param(
        edit("title: {vi: Khảo sát, en: Survey}", "title: {vi: Khảo sát, en: Survey, fr: Enquête}"),
        ["survey.yaml:4: title.fr: language 'fr' is not declared in languages"],
        id="undeclared-language",
    ),
    pytest.param(
        edit("  - id: q2\n", "  - id: q1\n"),
        [
            "survey.yaml:18: questions[1].id: duplicate question id 'q1' (first at questions[0])",
            "survey.yaml:30: questions[2].show_if: unknown question 'q2'",
        ],
        id="duplicate-id",
    ),
    pytest.param(
        edit('show_if: q1 == "yes" and selected(q2, "a")', 'show_if: q_foo == "yes"'),
        ["survey.yaml:30: questions[2].show_if: unknown question 'q_foo'"],
        id="unknown-reference",
    ),
    pytest.param(
        edit('show_if: q1 == "yes" and selected(q2, "a")', "show_if: q4 > 3"),
        [
            "survey.yaml:30: questions[2].show_if: refers to later question 'q4' "
            "(show_if may only look at earlier questions)"
        ],
        id="later-reference",
    ),
    pytest.param(
        edit('show_if: q1 == "yes" and selected(q2, "a")', "show_if: q3 == 4"),
        ["survey.yaml:30: questions[2].show_if: refers to its own question 'q3'"],
        id="self-reference",
    ),
    pytest.param(
        edit('show_if: q1 == "yes" and selected(q2, "a")', 'show_if: q1 == "yes" and'),
        ["survey.yaml:30: questions[2].show_if: syntax error at column 16: expected a value, found end of expression"],
        id="show-if-syntax",
    ),
    pytest.param(
        edit('show_if: q1 == "yes" and selected(q2, "a")', 'show_if: q1 = "yes"'),
        ["survey.yaml:30: questions[2].show_if: syntax error at column 4: use '==' to compare"],
        id="show-if-single-equals",
    ),
    pytest.param(
        edit('show_if: q1 == "yes" and selected(q2, "a")', 'show_if: selected(q1, "yes")'),
        ["survey.yaml:30: questions[2].show_if: selected() needs a multi-choice question; 'q1' is single_choice"],
        id="selected-on-single",
    ),
    pytest.param(
        edit('show_if: q1 == "yes" and selected(q2, "a")', 'show_if: selected(q2, "z")'),
        ["survey.yaml:30: questions[2].show_if: 'z' is not a choice of 'q2'"],
        id="selected-unknown-value",
    ),
    pytest.param(
        edit('show_if: q1 == "yes" and selected(q2, "a")', 'show_if: q1 == "maybe"'),
        ["survey.yaml:30: questions[2].show_if: 'maybe' is not a possible answer of 'q1'"],
        id="compare-unknown-value",
    ),
    pytest.param(
        edit('show_if: q1 == "yes" and selected(q2, "a")', "show_if: q1"),
        ["survey.yaml:30: questions[2].show_if: 'q1' is not a condition (e.g. q1 == \"yes\")"],
        id="bare-name",
    ),
    pytest.param(
        edit("choice_lists:\n  yesno3:\n", "choice_lists:\n  empty: []\n  yesno3:\n"),
        ["survey.yaml:10: choice_lists.empty: the choice list is empty"],
        id="empty-choice-list",
    ),
    pytest.param(
        edit(
            "    max_selections: 2\n    choices:\n      - {value: a, label: {vi: A, en: A}}\n"
            "      - {value: b, label: {vi: B, en: B}}\n      - {value: c, label: {vi: C, en: C}}\n",
            "    choices: []\n",
        ),
        ["survey.yaml:21: questions[1].choices: the choice list is empty"],
        id="empty-inline-choices",
    ),
    pytest.param(
        edit("    min: 0\n    max: 20\n", "    min: 30\n    max: 20\n"),
        ["survey.yaml:33: questions[3].min: min (30) is greater than max (20)"],
        id="number-min-gt-max",
    ),
    pytest.param(
        edit("    max_selections: 2\n", "    min_selections: 3\n    max_selections: 2\n"),
        ["survey.yaml:21: questions[1].min_selections: min_selections (3) is greater than max_selections (2)"],
        id="multi-min-gt-max",
    ),
    pytest.param(
        edit("- {value: c, label: {vi: C, en: C}}", "- {value: " + "a" * 50 + ", label: {vi: C, en: C}}"),
        [
            "survey.yaml:25: questions[1].choices[2].value: question id and choice value '"
            + "a" * 50
            + "' take 53 bytes; Telegram button data allows 48 for them"
        ],
        id="callback-too-long",
    ),
    pytest.param(
        edit("  - id: q4\n", "  - id: " + "q" * 41 + "\n"),
        ["survey.yaml:31: questions[3].id: '" + "q" * 41 + "' is too long for Telegram button data (at most 40 bytes)"],
        id="question-id-too-long",
    ),
    pytest.param(
        edit("    type: likert5\n", "    type: likert7\n"),
        [
            "survey.yaml:27: questions[2].type: unknown question type 'likert7' (did you mean 'likert5'?) "
            "(expected one of: single_choice, multi_choice, likert5, rating, number, text, yes_no, ward)"
        ],
        id="unknown-type",
    ),
    pytest.param(
        edit("    choice_list: yesno3\n", "    choice_list: yesno4\n"),
        ["survey.yaml:17: questions[0].choice_list: unknown choice list 'yesno4' (did you mean 'yesno3'?)"],
        id="unknown-choice-list",
    ),
    pytest.param(
        edit("    factor: overall\n", "    factor: overal\n"),
        ["survey.yaml:28: questions[2].factor: unknown factor 'overal' (did you mean 'overall'?)"],
        id="unknown-factor",
    ),
    pytest.param(
        edit("languages: [vi, en]", "languages: [en]"),
        ["survey.yaml:3: languages: must include 'vi' (Vietnamese)"],
        id="vi-required",
    ),
    pytest.param(
        edit("thanks: {vi: Cảm ơn, en: Thanks}\n", ""),
        ["survey.yaml:1: missing required field 'thanks'"],
        id="missing-field",
    ),
    pytest.param(
        edit("version: 1", "version: one"),
        ["survey.yaml:2: version: expected a whole number, got 'one'"],
        id="version-not-number",
    ),
    pytest.param(
        edit("label: {vi: Câu bốn, en: Question four}", "label: Câu bốn"),
        ["survey.yaml:35: questions[3].label: expected text per language (e.g. vi: ..., en: ...), got plain text"],
        id="label-plain-string",
    ),
    pytest.param(
        edit("  - id: q1\n", "  - id: Q-1\n"),
        [
            "survey.yaml:14: questions[0].id: 'Q-1' is not a valid question id "
            "(start with a lower-case letter; then letters, digits, '_')",
            "survey.yaml:30: questions[2].show_if: unknown question 'q1'",
        ],
        id="bad-id",
    ),
    pytest.param(
        edit('    - {value: "no", label: {vi: Không, en: "No"}}', '    - {value: "yes", label: {vi: Không, en: "No"}}'),
        ["survey.yaml:12: choice_lists.yesno3[1].value: duplicate choice value 'yes' (first at [0])"],
        id="duplicate-choice-value",
    ),
    pytest.param(
        edit("title: {vi: Khảo sát, en: Survey}", "title: {vi: Khảo sát, vi: Lặp, en: Survey}"),
        ["survey.yaml:4: title.vi: duplicate key 'vi' (first at line 4)"],
        id="duplicate-yaml-key",
    ),
    pytest.param(
        edit('show_if: q1 == "yes" and selected(q2, "a")', 'show_if: q2 == "a"'),
        ["survey.yaml:30: questions[2].show_if: 'q2' is multi-choice: use selected(q2, \"value\")"],
        id="compare-multi-choice",
    ),
    pytest.param(
        edit('show_if: q1 == "yes" and selected(q2, "a")', "show_if: q1 > 2"),
        ["survey.yaml:30: questions[2].show_if: '>' compares numbers, but 'q1' is single_choice"],
        id="ordering-on-choice",
    ),
    pytest.param("", ["survey.yaml:1: the file is empty"], id="empty-file"),
    pytest.param(
        edit("questions:\n", "reporting:\n  overall: q9\n  issues: q1\n  comments: [q4]\nquestions:\n"),
        [
            "survey.yaml:14: reporting.overall: unknown question 'q9'",
            "survey.yaml:16: reporting.comments[0]: 'q4' is number; expected text",
        ],
        id="reporting-references",
    ),
    pytest.param(
        edit("title: {vi: Khảo sát, en: Survey}", "title: {vi: Khảo sát?, en: Survey}"),
        [
            "survey.yaml:4: YAML syntax error: expected ',' or '}', but got '?' (while parsing a flow mapping; "
            "put text that contains '?', ':', ',' or '#' inside { } or [ ] in quotes)"
        ],
        id="yaml-flow-question-mark",
    ),
    pytest.param("- a\n- b\n", ["survey.yaml:1: the file must be a mapping (id:, version:, ...)"], id="not-mapping"),
    pytest.param(
        edit("  - id: q4\n    type: number\n", "  - id: q4\n"),
        ["survey.yaml:31: questions[3]: missing required field 'type'"],
        id="missing-type",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_malformed(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


def test_every_problem_is_listed() -> None:
    text = edit("    factor: overall\n", "    factor: nope\n").replace("min: 0\n    max: 20", "min: 5\n    max: 1")
    text = text.replace("label: {vi: Câu một, en: Question one}", "label: {vi: Câu một}")
    found = problems(text)
    assert found == [
        "survey.yaml:16: questions[0].label: missing text for language 'en'",
        "survey.yaml:28: questions[2].factor: unknown factor 'nope'",
        "survey.yaml:33: questions[3].min: min (5) is greater than max (1)",
    ]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SurveyError) as info:
        load_survey(tmp_path / "nope.yaml")
    assert str(info.value) == f"{tmp_path / 'nope.yaml'}:0: file not found"


def test_reads_file_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(BASE).replace("version: 1", "version: 0"), encoding="utf-8")
    with pytest.raises(SurveyError) as info:
        load_survey(path)
    assert str(info.value) == f"{path}:2: version: must be 1 or more"
