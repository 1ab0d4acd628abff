"""XLSForm workbooks read into questionnaires (refused with every problem placed by sheet, row and column),
and questionnaires written as XLSForms that read back to the same questionnaire."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from flows.loader import SurveyError, bundled_survey_path, load_survey, load_survey_text
from flows.schema import Survey
from flows.xlsform import Imported, build_xlsform, read_xlsform, relevant_text, to_yaml
from storage.repo.surveys import content_hash
from tests.xlsforms import SURVEY_HEADER, Sheets, sheets, write_workbook


def read(tmp_path: Path, form: Sheets) -> Imported:
    return read_xlsform(write_workbook(tmp_path / "FORM.xlsx", form))


def problems(tmp_path: Path, form: Sheets) -> list[str]:
    path = write_workbook(tmp_path / "FORM.xlsx", form)
    with pytest.raises(SurveyError) as info:
        read_xlsform(path)
    return [str(p).removeprefix(f"{path}: ") for p in info.value.problems]


def exported(tmp_path: Path, survey: Survey) -> Survey:
    """The questionnaire written as an XLSForm and read back."""
    path = tmp_path / "exported.xlsx"
    build_xlsform(survey, [(70, "Phường Hoàn Kiếm"), (235, "Phường Đống Đa")]).save(path)
    imported = read_xlsform(path)
    assert imported.warnings == ()
    return imported.survey


# --- a form that maps -------------------------------------------------------------------------------------------


def test_a_kobo_style_form_becomes_a_questionnaire(tmp_path: Path) -> None:
    s = read(tmp_path, sheets()).survey
    assert (s.id, s.version, s.languages) == ("clinic-2026", 3, ["vi", "en"])
    assert s.title == {"vi": "Khảo sát phòng khám", "en": "Clinic survey"}
    assert s.intro == {"vi": "Xin chào!", "en": "Hello!"}
    assert s.thanks == {"vi": "Cảm ơn!", "en": "Thank you!"}
    assert s.consent is None
    assert [(q.id, q.type, q.required, q.show_if) for q in s.questions] == [
        ("ward", "ward", True, None),
        ("used", "yes_no", True, None),
        ("sat", "likert5", True, 'used == "yes"'),
        ("visits", "number", True, 'used == "yes" and sat != "dk"'),
        ("issues", "multi_choice", True, None),
        ("comment", "text", False, 'selected(issues, "waste") or visits > 5'),
    ]
    sat, visits, issues = s.question("sat"), s.question("visits"), s.question("issues")
    assert sat.model_dump(include={"scale", "dont_know"}) == {"scale": "satisfaction", "dont_know": True}
    assert visits.model_dump(include={"min", "max", "integer", "help"}) == {
        "min": 1,
        "max": 20,
        "integer": True,
        "help": {"vi": "Từ 1 đến 20", "en": "From 1 to 20"},
    }
    assert issues.model_dump(include={"max_selections", "min_selections"}) == {"min_selections": 1, "max_selections": 2}
    assert [c.value for c in s.choices(issues)] == ["waste", "roads"]  # the choice_filter area = 'city'
    assert s.choice_lists == {}  # every list was used as a type or filtered into a question's own choices


def test_what_is_left_out_is_listed_as_warnings(tmp_path: Path) -> None:
    form = sheets()
    form["survey"][0].append("appearance")
    form["survey"][5].extend([None, None, None, "field-list"])
    warnings = [str(w).removeprefix(f"{tmp_path / 'FORM.xlsx'}: ") for w in read(tmp_path, form).warnings]
    assert warnings == [
        "survey!L1 (appearance): warning: ignored (khaosat decides how a question looks on each channel)",
        "survey!A2 (type): warning: ignored: 'start' is form metadata (khaosat records its own times)",
        "survey!A7 (type): warning: list 'sat' is read as a satisfaction scale (likert5), shown with khaosat's "
        "labels (Rất không hài lòng ... Rất hài lòng); its '99' is stored as 'dk'",
        "survey!J8 (constraint_message::English (en)): warning: dropped: khaosat shows its own message for an "
        "answer out of range",
    ]


def test_the_yaml_of_an_imported_form_loads_to_the_same_questionnaire(tmp_path: Path) -> None:
    s = read(tmp_path, sheets()).survey
    text = to_yaml(s, "FORM.xlsx")
    assert text.startswith("# Imported from FORM.xlsx by 'khaosat survey import'.\nid: clinic-2026\nversion: 3\n")
    assert "  min: 1\n  max: 20\n" in text
    assert load_survey_text(text).model_dump() == s.model_dump()


def test_a_plain_label_column_is_the_default_language(tmp_path: Path) -> None:
    form: Sheets = {
        "survey": [
            ["type", "name", "label", "required"],
            ["integer", "age", "Bạn bao nhiêu tuổi?", "yes"],
        ],
        "settings": [["form_id", "form_title", "version"], ["tuoi", "Tuổi", 1]],
    }
    s = read(tmp_path, form).survey
    assert s.languages == ["vi"]
    assert s.question("age").label == {"vi": "Bạn bao nhiêu tuổi?"}
    assert s.thanks == {"vi": "Cảm ơn bạn đã hoàn thành khảo sát!"}  # no closing note: the default message


def test_english_as_default_language_puts_plain_labels_in_english(tmp_path: Path) -> None:
    form: Sheets = {
        "survey": [
            ["type", "name", "label", "label::Vietnamese (vi)"],
            ["text", "name_of_street", "Your street?", "Đường phố của bạn?"],
        ],
        "settings": [
            ["form_id", "form_title", "default_language", "khaosat::title::Vietnamese (vi)"],
            ["street", "Streets", "English (en)", "Đường phố"],
        ],
    }
    s = read(tmp_path, form).survey
    assert s.languages == ["en", "vi"]
    assert s.question("name_of_street").label == {"en": "Your street?", "vi": "Đường phố của bạn?"}
    assert s.title == {"en": "Streets", "vi": "Đường phố"}


def test_the_first_acknowledge_is_the_consent_and_a_later_one_a_single_ok(tmp_path: Path) -> None:
    form = sheets()
    form["survey"].insert(3, ["acknowledge", "consent", "Bạn đồng ý chứ?", "Do you agree?", None, None, "yes"])
    form["survey"].insert(6, ["acknowledge", "read", "Bạn đã đọc?", "Have you read it?", None, None, "yes"])
    s = read(tmp_path, form).survey
    assert s.consent == {"vi": "Bạn đồng ý chứ?", "en": "Do you agree?"}
    read_q = s.question("read")
    assert read_q.type == "single_choice"
    assert [(c.value, c.label) for c in s.choices(read_q)] == [("OK", {"vi": "Xác nhận", "en": "OK"})]  # type: ignore[arg-type]


def test_factors_and_reporting_come_from_khaosat_columns(tmp_path: Path) -> None:
    form = sheets()
    form["survey"][0] += ["khaosat::factor", "khaosat::reporting"]
    form["survey"][6] += [None] * 4 + ["overall", "overall"]  # sat
    form["survey"][9] += ["", "issues"]  # issues
    form["survey"][10] += [None] * 3 + ["", "comment"]  # comment
    form["khaosat_factors"] = [
        ["name", "label::Vietnamese (vi)", "label::English (en)", "framework"],
        ["overall", "Hài lòng chung", "Overall", "overall"],
    ]
    s = read(tmp_path, form).survey
    assert [(f.id, f.framework) for f in s.factors] == [("overall", "overall")]
    assert s.question("sat").factor == "overall"
    assert s.reporting.model_dump() == {"overall": "sat", "issues": "issues", "comments": ["comment"]}


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            [
                ["agree", i, label, label]
                for i, label in enumerate(
                    ["Rất không đồng ý", "Không đồng ý", "Bình thường", "Đồng ý", "Rất đồng ý"], start=1
                )
            ],
            ("likert5", {"scale": "agreement", "dont_know": False}),
            id="agreement-scale",
        ),
        pytest.param(
            [["agree", i, label, label] for i, label in enumerate(["Kém", "Tạm", "Khá", "Tốt", "Rất tốt"], start=1)],
            ("single_choice", {}),
            id="five-points-of-something-else",
        ),
        pytest.param(
            [["agree", "yes", "Đúng", "True"], ["agree", "no", "Sai", "False"]],
            ("single_choice", {}),
            id="yes-no-with-other-words",
        ),
        pytest.param(
            [["agree", i, str(i), str(i)] for i in range(11)],
            ("rating", {}),
            id="zero-to-ten",
        ),
    ],
)
def test_a_select_one_list_is_read_by_its_shape(
    tmp_path: Path, rows: list[list[object]], expected: tuple[str, dict[str, object]]
) -> None:
    form = sheets()
    form["survey"][7][0] = "select_one agree"  # visits
    form["survey"][7][8] = None  # its range
    form["survey"][10][7] = "selected(${issues}, 'waste')"  # no longer compares visits with a number
    form["choices"] += rows
    q = read(tmp_path, form).survey.question("visits")
    assert (q.type, q.model_dump(include={"scale", "dont_know"})) == expected


def test_khaosat_type_keeps_a_scale_as_plain_choices_and_marks_a_ward_question(tmp_path: Path) -> None:
    form = sheets()
    form["survey"][0].append("khaosat::type")
    form["survey"][6] += [None] * 4 + ["single_choice"]  # sat
    form["survey"][3][0] = "select_one phuong"  # ward, by its list's name no more
    form["survey"][3] += [None] * 4 + ["ward"]
    s = read(tmp_path, form).survey
    assert s.question("ward").type == "ward"
    sat = s.question("sat")
    assert sat.type == "single_choice"
    assert [c.value for c in s.choices(sat)] == ["1", "2", "3", "4", "5", "99"]  # type: ignore[arg-type]


RELEVANT_CASES = [
    ("${kind} = 'a'", 'kind == "a"'),
    ("${kind}!='a'", 'kind != "a"'),
    ("selected(${kind}, 'b')", 'kind == "b"'),  # selected() on a select_one, as ODK allows
    ("selected(${many}, 'b') and not(${n} < 3)", 'selected(many, "b") and not (n < 3)'),
    ("(${kind} = 'a' or ${kind} = 'b') and ${n} >= '4'", '(kind == "a" or kind == "b") and n >= 4'),
    ("not(${kind} = 'a' or selected(${many}, 'c'))", 'not (kind == "a" or selected(many, "c"))'),
    ('${n} > -1.5 or ${kind} = "c"', 'n > -1.5 or kind == "c"'),
]


@pytest.mark.parametrize(("relevant", "show_if"), RELEVANT_CASES)
def test_relevant_becomes_show_if(tmp_path: Path, relevant: str, show_if: str) -> None:
    choices = [["abc", v, v, v] for v in ("a", "b", "c")]
    form: Sheets = {
        "survey": [
            SURVEY_HEADER,
            ["select_one abc", "kind", "Loại?", "Kind?"],
            ["select_multiple abc", "many", "Những loại?", "Kinds?"],
            ["decimal", "n", "Số?", "Number?"],
            ["text", "why", "Tại sao?", "Why?", None, None, None, relevant],
        ],
        "choices": [["list_name", "name", "label::Vietnamese (vi)", "label::English (en)"], *choices],
        "settings": [["form_id", "form_title", "khaosat::title::English (en)"], ["relevant-test", "R", "R"]],
    }
    assert read(tmp_path, form).survey.question("why").show_if == show_if


CONSTRAINT_CASES = [
    ("integer", ". > 0 and . < 10", {"min": 1, "max": 9}),
    ("integer", "0 <= .", {"min": 0}),
    ("decimal", ". >= 0.5", {"min": 0.5}),
    ("text", "string-length(.) < 100", {"max_length": 99}),
    ("text", "string-length(.) >= 1 and string-length(.) <= 280", {"max_length": 280}),
    (
        "select_multiple abc",
        "count-selected(.) >= 2 and count-selected(.) <= 3",
        {"min_selections": 2, "max_selections": 3},
    ),
    ("select_multiple abc", "count-selected(.) = 2", {"min_selections": 2, "max_selections": 2}),
]


@pytest.mark.parametrize(("kind", "constraint", "expected"), CONSTRAINT_CASES)
def test_a_range_constraint_becomes_limits(
    tmp_path: Path, kind: str, constraint: str, expected: dict[str, object]
) -> None:
    form: Sheets = {
        "survey": [SURVEY_HEADER, [kind, "q", "Hỏi?", "Ask?", None, None, None, None, constraint]],
        "choices": [["list_name", "name", "label::Vietnamese (vi)", "label::English (en)"]]
        + [["abc", v, v, v] for v in ("a", "b", "c", "d")],
        "settings": [["form_id", "form_title", "khaosat::title::English (en)"], ["constraint-test", "C", "C"]],
    }
    q = read(tmp_path, form).survey.question("q")
    assert q.model_dump(include=set(expected)) == expected


# --- refusals ---------------------------------------------------------------------------------------------------


def edit(change: Callable[[Sheets], None]) -> Sheets:
    form = sheets()
    change(form)
    return form


def row(form: Sheets, number: int) -> list[object]:
    """The survey sheet's row as Excel numbers it (1 is the header), padded to every column."""
    cells = form["survey"][number - 1]
    cells += [None] * (len(SURVEY_HEADER) - len(cells))
    return cells


def setcell(number: int, column: str, value: object) -> Callable[[Sheets], None]:
    return lambda form: row(form, number).__setitem__(ord(column) - ord("A"), value)


def insert(number: int, cells: list[object]) -> Callable[[Sheets], None]:
    return lambda form: form["survey"].insert(number - 1, cells)


REFUSALS = [
    pytest.param(
        insert(9, ["geopoint", "where", "Ở đâu?", "Where?"]),
        ["survey!A9 (type): type 'geopoint' cannot be represented (khaosat does not collect locations)"],
        id="geopoint",
    ),
    pytest.param(
        insert(9, ["calculate", "total", None, None, None, None, None, None, None, None, None]),
        ["survey!A9 (type): type 'calculate' cannot be represented (khaosat has no calculated fields)"],
        id="calculate",
    ),
    pytest.param(
        lambda form: (insert(9, ["begin_repeat", "people"])(form), insert(10, ["end_repeat"])(form)),
        ["survey!A9 (type): type 'begin_repeat' cannot be represented (khaosat asks each question once)"],
        id="repeat",
    ),
    pytest.param(
        setcell(8, "H", "count-selected(${issues}) > 1"),
        ["survey!H8 (relevant): unknown function 'count-selected' (relevant may use selected() and not())"],
        id="unknown-function",
    ),
    pytest.param(
        setcell(11, "H", "${isues} = 'waste'"),
        ["survey!H11 (relevant): ${isues} does not exist (did you mean ${issues}?)"],
        id="unknown-name",
    ),
    pytest.param(
        setcell(7, "H", "${visits} > 2"),
        ["survey!H7 (relevant): ${visits} comes later (row 8): a condition can only use earlier answers"],
        id="later-question",
    ),
    pytest.param(
        setcell(11, "H", "${issues} = 'waste'"),
        ["survey!H11 (relevant): ${issues} is a select_multiple: use selected(${issues}, 'value')"],
        id="equals-on-select-multiple",
    ),
    pytest.param(
        setcell(11, "H", "${used} != ''"),
        [
            "survey!H11 (relevant): comparing with '' (no answer) cannot be represented: khaosat hides a question "
            "whose condition uses an unanswered question"
        ],
        id="empty-string",
    ),
    pytest.param(
        setcell(11, "H", "${visits} + 1 > 3"),
        ["survey!H11 (relevant): arithmetic ('+') cannot be represented"],
        id="arithmetic",
    ),
    pytest.param(
        setcell(11, "H", "${used} == 'yes'"),
        ["survey!H11 (relevant): syntax error at character 9: use '=' to compare (XLSForm has no '==')"],
        id="double-equals",
    ),
    pytest.param(
        setcell(11, "H", "${used} = 'maybe'"),
        ["survey!H11 (relevant): 'maybe' is not a possible answer of 'used'"],
        id="value-not-a-choice",
    ),
    pytest.param(
        setcell(5, "A", "select_one yesno"),
        ["survey!A5 (type): select list 'yesno' is missing from the choices sheet"],
        id="missing-list",
    ),
    pytest.param(
        setcell(5, "A", "select_one yn or_other"),
        ["survey!A5 (type): an 'or_other' free-text answer cannot be represented (write select_one yn)"],
        id="or-other",
    ),
    pytest.param(
        setcell(4, "A", "dateTime"),
        ["survey!A4 (type): type 'dateTime' cannot be represented (khaosat has no date or time question)"],
        id="date",
    ),
    pytest.param(
        setcell(4, "A", "interger"),
        [
            "survey!A4 (type): unknown type 'interger' (did you mean 'integer'?) (khaosat reads: select_one, "
            "select_multiple, integer, decimal, text, note, acknowledge, begin_group, end_group)"
        ],
        id="unknown-type",
    ),
    pytest.param(
        insert(8, ["note", "between", "Phần B", "Part B"]),
        [
            "survey!A8 (type): a note between questions cannot be shown on its own: put its text in the next "
            "question's hint, or move it before the first question (the introduction) or after the last (the "
            "closing message)"
        ],
        id="note-between-questions",
    ),
    pytest.param(
        setcell(8, "I", "regex(., '^[0-9]+$')"),
        ["survey!I8 (constraint): unknown function 'regex' (only a range can be represented, e.g. . >= 0 and . <= 20)"],
        id="constraint-function",
    ),
    pytest.param(
        setcell(8, "I", ". >= ${visits_min}"),
        ["survey!I8 (constraint): a constraint that depends on another answer (${visits_min}) cannot be represented"],
        id="constraint-reference",
    ),
    pytest.param(
        setcell(5, "I", ". != 'no'"),
        [
            "survey!I5 (constraint): a constraint on select_one cannot be represented (khaosat reads a range on "
            "integer and decimal, string-length(.) on text, count-selected(.) on select_multiple)"
        ],
        id="constraint-on-select-one",
    ),
    pytest.param(
        setcell(8, "I", ". >= 30 and . <= 20"),
        ["survey!I8 (constraint): min (30) is greater than max (20)"],
        id="empty-range",
    ),
    pytest.param(
        setcell(10, "K", "district = ${district}"),
        [
            "survey!K10 (choice_filter): a choice_filter that depends on an answer (${district}) cannot be "
            "represented (khaosat has no cascading selects)"
        ],
        id="cascading-select",
    ),
    pytest.param(
        setcell(10, "K", "kind = 'city'"),
        ["survey!K10 (choice_filter): 'kind' is not a column of the choices sheet"],
        id="filter-on-unknown-column",
    ),
    pytest.param(
        setcell(7, "G", "${used} = 'yes'"),
        ["survey!G7 (required): required is yes or no: ${used} = 'yes' cannot be represented"],
        id="conditional-required",
    ),
    pytest.param(
        setcell(8, "B", "Visits"),
        [
            "survey!B8 (name): 'Visits' is not a valid question id (start with a lower-case letter; then letters, "
            "digits, '_')",
            "survey!H11 (relevant): ${visits} does not exist (did you mean ${Visits}?)",
        ],
        id="bad-name",
    ),
    pytest.param(
        setcell(11, "B", "visits"),
        ["survey!B11 (name): the name 'visits' is already used in row 8"],
        id="duplicate-name",
    ),
    pytest.param(
        setcell(8, "D", None),
        ["survey!D8 (label::English (en)): missing text for language 'en'"],
        id="missing-english-label",
    ),
    pytest.param(
        lambda form: form["survey"].pop(8),  # the end_group: the closing note is in the group
        [
            "survey!A6 (type): begin_group without an end",
            "survey!H11 (relevant): a note cannot have a condition (relevant)",
        ],
        id="group-without-end",
    ),
    pytest.param(
        lambda form: form["settings"][1].__setitem__(2, "2026.1"),
        ["settings!C2 (version): '2026.1' is not a whole number (khaosat numbers versions 1, 2, 3 ...)"],
        id="version-not-a-number",
    ),
    pytest.param(
        lambda form: form["settings"][1].__setitem__(0, None),
        ["settings!A2 (form_id): no form_id: give the survey's id (e.g. hanoi-2026) in the settings sheet"],
        id="no-form-id",
    ),
    pytest.param(
        lambda form: form["settings"][1].__setitem__(4, None),
        ["settings!E2 (khaosat::title::English (en)): missing text for language 'en'"],
        id="no-english-title",
    ),
    pytest.param(
        lambda form: [r.pop(4) for r in form["settings"]],
        [
            "settings!B2 (form_title): missing text for language 'en' (give it in a settings column "
            "khaosat::title::English (en))"
        ],
        id="no-english-title-column",
    ),
    pytest.param(
        lambda form: form["choices"].append(["yn", "yes", "Vâng", "Yes"]),
        ["choices!B13 (name): list 'yn' already has a choice named 'yes' (row 2)"],
        id="duplicate-choice",
    ),
]


@pytest.mark.parametrize(("change", "expected"), REFUSALS)
def test_a_form_that_cannot_be_represented_is_refused(
    tmp_path: Path, change: Callable[[Sheets], None], expected: list[str]
) -> None:
    assert problems(tmp_path, edit(change)) == expected


def test_every_problem_is_listed_in_sheet_row_and_column_order(tmp_path: Path) -> None:
    form = edit(setcell(11, "H", "${nope} = 'x'"))
    setcell(8, "H", "count-selected(${issues}) > 1")(form)
    insert(9, ["geopoint", "where", "Ở đâu?", "Where?"])(form)
    form["settings"][1][2] = "v2"
    assert problems(tmp_path, form) == [
        "settings!C2 (version): 'v2' is not a whole number (khaosat numbers versions 1, 2, 3 ...)",
        "survey!H8 (relevant): unknown function 'count-selected' (relevant may use selected() and not())",
        "survey!A9 (type): type 'geopoint' cannot be represented (khaosat does not collect locations)",
        "survey!H12 (relevant): ${nope} does not exist",
    ]


def test_a_form_without_vietnamese_is_refused_once(tmp_path: Path) -> None:
    form: Sheets = {
        "survey": [["type", "name", "label::English (en)"], ["text", "a", "A?"], ["text", "b", "B?"]],
        "settings": [["form_id", "form_title", "default_language"], ["english", "English", "English (en)"]],
    }
    assert problems(tmp_path, form) == [
        "survey: no Vietnamese text: khaosat surveys are in Vietnamese first; add label::Vietnamese (vi) columns"
    ]


def test_a_consent_condition_is_refused_with_the_reason(tmp_path: Path) -> None:
    form = edit(insert(4, ["acknowledge", "consent", "Đồng ý?", "Agree?"]))
    setcell(6, "H", "${consent} = 'OK'")(form)
    assert problems(tmp_path, form) == [
        "survey!H6 (relevant): ${consent} is the consent (the first acknowledge): every question is asked after "
        "consent, remove this condition"
    ]


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        pytest.param(lambda p: p / "none.xlsx", "none.xlsx: file not found", id="missing"),
        pytest.param(lambda p: p, ": is a directory, not an XLSForm workbook", id="directory"),
        pytest.param(
            lambda p: (p / "text.xlsx", (p / "text.xlsx").write_text("id: x\n"))[0],
            "text.xlsx: not an Excel workbook (.xlsx)",
            id="not-a-workbook",
        ),
        pytest.param(
            lambda p: (p / "old.xls", (p / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0"))[0],
            "old.xls: an old Excel 97-2003 workbook (.xls): open it in Excel or LibreOffice and save it as .xlsx",
            id="old-xls",
        ),
        pytest.param(
            lambda p: write_workbook(p / "nosurvey.xlsx", {"Sheet1": [["type", "name"]]}),
            "nosurvey.xlsx: no 'survey' sheet (an XLSForm has the sheets survey, choices and settings; found 'Sheet1')",
            id="no-survey-sheet",
        ),
    ],
)
def test_a_file_that_is_not_an_xlsform_gets_one_line(
    tmp_path: Path, make: Callable[[Path], Path], expected: str
) -> None:
    path = make(tmp_path)
    with pytest.raises(SurveyError) as info:
        read_xlsform(path)
    assert [str(p) for p in info.value.problems] == [f"{tmp_path}/{expected}".replace("/:", ":")]


# --- export and the round trip ------------------------------------------------------------------------------------


def test_the_bundled_survey_exports_and_imports_back_to_the_same_questionnaire(tmp_path: Path) -> None:
    original = load_survey(bundled_survey_path())
    back = exported(tmp_path, original)
    assert back.model_dump(mode="json") == original.model_dump(mode="json")
    assert content_hash(back) == content_hash(original)  # publishing it again changes nothing


EVERY_TYPE = """\
id: every-type
version: 2
languages: [vi, en]
title: {vi: Mọi loại câu hỏi, en: Every question type}
thanks: {vi: Cảm ơn, en: Thanks}
choice_lists:
  scale5:  # shaped like a satisfaction scale, but meant as plain choices
    - {value: "1", label: {vi: Rất không hài lòng, en: Very dissatisfied}}
    - {value: "2", label: {vi: Không hài lòng, en: Dissatisfied}}
    - {value: "3", label: {vi: Bình thường, en: Neutral}}
    - {value: "4", label: {vi: Hài lòng, en: Satisfied}}
    - {value: "5", label: {vi: Rất hài lòng, en: Very satisfied}}
  unused:
    - {value: x, label: {vi: X, en: X}}
questions:
  - {id: ward, type: ward, label: {vi: "Phường?", en: "Ward?"}}
  - {id: pick, type: single_choice, choice_list: scale5, label: {vi: "Chọn?", en: "Pick?"}}
  - id: yn_inline
    type: single_choice
    label: {vi: "Có không?", en: "Yes or no?"}
    choices:
      - {value: "yes", label: {vi: Có, en: "Yes"}}
      - {value: "no", label: {vi: Không, en: "No"}}
  - {id: paid, type: yes_no, required: false, label: {vi: "Đã trả?", en: "Paid?"}}
  - {id: agree, type: likert5, scale: agreement, label: {vi: "Đồng ý?", en: "Agree?"}}
  - {id: sat, type: likert5, dont_know: true, label: {vi: "Hài lòng?", en: "Satisfied?"}}
  - id: score
    type: rating
    label: {vi: "Điểm?", en: "Score?"}
    low_label: {vi: Rất tệ, en: Very bad}
    high_label: {vi: Rất tốt, en: Very good}
  - {id: plain_score, type: rating, label: {vi: "Điểm nữa?", en: "Another score?"}}
  - id: count
    type: number
    min: 0
    max: 12
    unit: {vi: người, en: people}
    label: {vi: "Mấy người?", en: "How many?"}
  - {id: amount, type: number, integer: false, min: 0.5, label: {vi: "Bao nhiêu?", en: "How much?"}}
  - {id: free, type: number, integer: false, label: {vi: "Số bất kỳ?", en: "Any number?"}}
  - id: topics
    type: multi_choice
    min_selections: 2
    max_selections: 3
    show_if: not (score <= 5 or paid == "no") and sat != "dk"
    label: {vi: "Chủ đề?", en: "Topics?"}
    choices:
      - {value: a, label: {vi: A, en: A}}
      - {value: b, label: {vi: B, en: B}}
      - {value: c, label: {vi: C, en: C}}
      - {value: d, label: {vi: D, en: D}}
  - id: optional_topics
    type: multi_choice
    min_selections: 0
    required: false
    choice_list: unused
    label: {vi: "Chủ đề khác?", en: "Other topics?"}
  - id: note
    type: text
    max_length: 200
    required: false
    show_if: selected(topics, "a") or (agree >= 4 and count < 3)
    help: {vi: Tối đa 200 ký tự, en: At most 200 characters}
    label: {vi: "Ghi chú?", en: "Notes?"}
"""


def test_every_question_type_exports_to_something_that_imports_back_identically(tmp_path: Path) -> None:
    original = load_survey_text(EVERY_TYPE)
    back = exported(tmp_path, original)
    assert back.model_dump(mode="json") == original.model_dump(mode="json")


def test_an_in_list_exports_as_an_or_of_equalities(tmp_path: Path) -> None:
    text = EVERY_TYPE.replace(
        'show_if: not (score <= 5 or paid == "no") and sat != "dk"', 'show_if: pick in ["1", "2"]'
    )
    original = load_survey_text(text)
    assert relevant_text(original.question("topics").condition) == "(${pick} = '1' or ${pick} = '2')"  # type: ignore[arg-type]
    assert exported(tmp_path, original).question("topics").show_if == 'pick == "1" or pick == "2"'


def test_the_exported_workbook_looks_like_an_xlsform(tmp_path: Path) -> None:
    import openpyxl

    path = tmp_path / "hanoi.xlsx"
    build_xlsform(load_survey(bundled_survey_path()), [(70, "Phường Hoàn Kiếm")]).save(path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["survey", "choices", "settings", "khaosat_factors"]
    survey = [list(r) for r in book["survey"].iter_rows(values_only=True)]
    assert survey[0][:8] == [
        "type",
        "name",
        "label::Vietnamese (vi)",
        "label::English (en)",
        "hint::Vietnamese (vi)",
        "hint::English (en)",
        "required",
        "relevant",
    ]
    types = {r[1]: r[0] for r in survey[1:]}
    assert types["intro"] == "note" and types["consent"] == "acknowledge" and types["thanks"] == "note"
    assert types["ward"] == "select_one wards"
    assert types["visits"] == "integer"
    assert types["top_issues"] == "select_multiple issues"
    visits = next(r for r in survey if r[1] == "visits")
    assert ". >= 1 and . <= 20" in visits and "${used_service} != 'no'" in visits
    wards = [r for r in book["choices"].iter_rows(values_only=True) if r[0] == "wards"]
    assert wards == [("wards", "70", "Phường Hoàn Kiếm", "Phường Hoàn Kiếm")]
    settings = list(book["settings"].iter_rows(values_only=True))
    assert settings[1][:4] == (
        "Khảo sát sự hài lòng của người dân với chính quyền phường, xã",
        "hanoi-ward-satisfaction",
        2,
        "Vietnamese (vi)",
    )
    assert "khaosat::consent_web::Vietnamese (vi)" in settings[0]  # the web's own consent text
