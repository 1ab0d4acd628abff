"""XLSForm workbooks written with openpyxl for the tests: a valid form to start from, and a writer."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path

import openpyxl

Sheets = dict[str, list[list[object]]]

SURVEY_HEADER = [
    "type",
    "name",
    "label::Vietnamese (vi)",
    "label::English (en)",
    "hint::Vietnamese (vi)",
    "hint::English (en)",
    "required",
    "relevant",
    "constraint",
    "constraint_message::English (en)",
    "choice_filter",
]
# Column letters of SURVEY_HEADER, for the problems' cells: A type, B name, C/D label, E/F hint, G required,
# H relevant, I constraint, J constraint_message, K choice_filter.

CLINIC: Sheets = {
    "survey": [
        SURVEY_HEADER,
        ["start", "start"],  # row 2
        ["note", "intro", "Xin chào!", "Hello!"],  # row 3
        ["select_one wards", "ward", "Phường của bạn?", "Your ward?", None, None, "yes"],  # row 4
        ["select_one yn", "used", "Bạn có làm thủ tục không?", "Did you use a service?", None, None, "yes"],  # 5
        ["begin_group", "service", "Dịch vụ", "Service", None, None, None, "${used} = 'yes'"],  # row 6
        ["select_one sat", "sat", "Bạn hài lòng không?", "Are you satisfied?", None, None, "yes"],  # row 7
        [
            "integer",
            "visits",
            "Mấy lần?",
            "How many visits?",
            "Từ 1 đến 20",
            "From 1 to 20",
            "yes",
            "${sat} != '99'",
            ". >= 1 and . <= 20",
            "1 to 20",
        ],  # row 8
        ["end_group"],  # row 9
        [
            "select_multiple issues",
            "issues",
            "Vấn đề nào?",
            "Which issues?",
            None,
            None,
            "yes",
            None,
            "count-selected(.) <= 2",
            None,
            "area = 'city'",
        ],  # row 10
        [
            "text",
            "comment",
            "Góp ý?",
            "Comments?",
            None,
            None,
            "no",
            "selected(${issues}, 'waste') or ${visits} > 5",
        ],  # row 11
        ["note", "bye", "Cảm ơn!", "Thank you!"],  # row 12
    ],
    "choices": [
        ["list_name", "name", "label::Vietnamese (vi)", "label::English (en)", "area"],
        ["yn", "yes", "Có", "Yes"],
        ["yn", "no", "Không", "No"],
        ["sat", 1, "Rất không hài lòng", "Very unsatisfied"],
        ["sat", 2, "Không hài lòng", "Unsatisfied"],
        ["sat", 3, "Trung lập", "Neutral"],
        ["sat", 4, "Hài lòng", "Satisfied"],
        ["sat", 5, "Rất hài lòng", "Very satisfied"],
        ["sat", 99, "Không biết", "Don't know"],
        ["issues", "waste", "Rác thải", "Waste", "city"],
        ["issues", "roads", "Đường sá", "Roads", "city"],
        ["issues", "farming", "Nông nghiệp", "Farming", "rural"],
    ],
    "settings": [
        ["form_id", "form_title", "version", "default_language", "khaosat::title::English (en)"],
        ["clinic-2026", "Khảo sát phòng khám", 3, "Vietnamese (vi)", "Clinic survey"],
    ],
}


def sheets(base: Sheets = CLINIC) -> Sheets:
    """A deep copy of a form, to change in a test."""
    return copy.deepcopy(base)


def write_workbook(path: Path, form: Mapping[str, Sequence[Sequence[object]]]) -> Path:
    """Save the sheets (name -> rows, header first) as an .xlsx workbook."""
    book = openpyxl.Workbook()
    default = book.active
    assert default is not None
    book.remove(default)
    for name, rows in form.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
    book.save(path)
    return path
