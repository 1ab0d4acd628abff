"""`khaosat survey import|validate|preview` with XLSForm workbooks (.xlsx), without a database."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from flows.loader import load_survey_text
from tests.xlsforms import CLINIC, sheets, write_workbook

WARNINGS = [
    "survey!A2 (type): warning: ignored: 'start' is form metadata (khaosat records its own times)",
    "survey!A7 (type): warning: list 'sat' is read as a satisfaction scale (likert5), shown with khaosat's labels "
    "(Rất không hài lòng ... Rất hài lòng); its '99' is stored as 'dk'",
    "survey!J8 (constraint_message::English (en)): warning: dropped: khaosat shows its own message for an answer "
    "out of range",
]


def run(args: list[str], stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, input=stdin)
    return result.exit_code, result.stdout, result.stderr


def clinic(tmp_path: Path) -> Path:
    return write_workbook(tmp_path / "clinic.xlsx", CLINIC)


def broken(tmp_path: Path) -> Path:
    form = sheets()
    form["survey"][7][7] = "count-selected(${issues}) > 1"  # visits, row 8
    form["survey"].insert(8, ["geopoint", "where", "Ở đâu?", "Where?"])  # row 9
    return write_workbook(tmp_path / "broken.xlsx", form)


BROKEN = [
    "survey!H8 (relevant): unknown function 'count-selected' (relevant may use selected() and not())",
    "survey!A9 (type): type 'geopoint' cannot be represented (khaosat does not collect locations)",
]


def test_import_prints_the_yaml_and_the_warnings(tmp_path: Path) -> None:
    form = clinic(tmp_path)
    code, out, err = run(["survey", "import", str(form)])
    assert code == 0, err
    assert err.splitlines() == [f"{form}: {w}" for w in WARNINGS]
    assert out.startswith("# Imported from clinic.xlsx by 'khaosat survey import'.\nid: clinic-2026\nversion: 3\n")
    survey = load_survey_text(out)
    assert [q.id for q in survey.questions] == ["ward", "used", "sat", "visits", "issues", "comment"]


def test_import_writes_the_yaml_file_and_does_not_replace_one_without_force(tmp_path: Path) -> None:
    form, out_file = clinic(tmp_path), tmp_path / "clinic.yaml"
    code, out, _ = run(["survey", "import", str(form), "--out", str(out_file)])
    assert (code, out) == (0, f"wrote {out_file}: clinic-2026 v3, 6 questions, 0 factors\n")
    assert run(["survey", "validate", str(out_file)])[:2] == (0, "OK clinic-2026 v3: 6 questions, 0 factors\n")
    code, _, err = run(["survey", "import", str(form), "--out", str(out_file)])
    assert (code, err.splitlines()[-1]) == (1, f"Error: {out_file} already exists; add --force to replace it")
    assert run(["survey", "import", str(form), "--out", str(out_file), "--force"])[0] == 0


def test_import_refuses_a_form_with_every_problem_and_no_traceback(tmp_path: Path) -> None:
    form, out_file = broken(tmp_path), tmp_path / "broken.yaml"
    code, out, err = run(["survey", "import", str(form), "--out", str(out_file)])
    assert (code, out) == (1, "")
    assert err.splitlines() == [f"{form}: {p}" for p in BROKEN]
    assert not out_file.exists()


def test_import_of_a_file_that_is_not_a_workbook_says_so_in_one_line(tmp_path: Path) -> None:
    text = tmp_path / "survey.xlsx"
    text.write_text("id: not-a-workbook\n", encoding="utf-8")
    assert run(["survey", "import", str(text)]) == (1, "", f"{text}: not an Excel workbook (.xlsx)\n")
    missing = tmp_path / "none.xlsx"
    assert run(["survey", "import", str(missing)]) == (1, "", f"{missing}: file not found\n")
    no_survey = write_workbook(tmp_path / "other.xlsx", {"Data": [["a", "b"], [1, 2]]})
    assert run(["survey", "import", str(no_survey)]) == (
        1,
        "",
        f"{no_survey}: no 'survey' sheet (an XLSForm has the sheets survey, choices and settings; found 'Data')\n",
    )


def test_validate_accepts_workbooks_next_to_yaml_files(tmp_path: Path) -> None:
    good, bad = clinic(tmp_path), broken(tmp_path)
    code, out, err = run(["survey", "validate", str(good), str(bad)])
    assert code == 1
    assert out == "OK clinic-2026 v3: 6 questions, 0 factors\n"
    assert err.splitlines() == [f"{good}: {w}" for w in WARNINGS] + [f"{bad}: {p}" for p in BROKEN]


def test_preview_walks_a_form_with_a_group_and_selected_to_the_end(tmp_path: Path) -> None:
    answers = ["hoan kiem", "1", "4", "abc", "7", "1", "Phòng khám <b>tốt</b>"]
    code, out, _ = run(["survey", "preview", str(clinic(tmp_path)), "--lang", "en"], "\n".join(answers) + "\n")
    assert code == 0, out
    assert out.startswith("Clinic survey (clinic-2026 v3)\nHello!\n")
    assert re.search(r"Question 3 · \d+% done · Are you satisfied\?", out)  # in the group shown by used = yes
    assert "  6. Don't know" in out
    assert "  ! Please type a whole number between 1 and 20." in out
    assert re.search(r"Question 6 · \d+% done · Comments\?", out)  # shown by selected(${issues}, 'waste')
    assert out.rstrip().endswith(
        "Thank you!\n\nYour answers:\n  ward: Phường Hoàn Kiếm\n  used: Yes\n  sat: 4 – Satisfied\n  visits: 7\n"
        "  issues: Waste\n  comment: Phòng khám <b>tốt</b>"
    )


def test_preview_skips_the_group_and_the_comment_their_conditions_hide(tmp_path: Path) -> None:
    code, out, _ = run(["survey", "preview", str(clinic(tmp_path))], "hoan kiem\n2\n2\n")
    assert code == 0, out
    assert "Bạn hài lòng không?" not in out and "Góp ý?" not in out
    assert re.search(r"Câu 3 · đã xong \d+% · Vấn đề nào\?", out)
    assert out.rstrip().endswith(
        "Cảm ơn!\n\nCâu trả lời của bạn:\n  ward: Phường Hoàn Kiếm\n  used: Không\n  issues: Đường sá"
    )


def readme_example() -> tuple[dict[str, list[list[object]]], str, str]:
    """The README's example XLSForm (its three tables), the YAML it says the import prints, and the warning."""
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = text.split("### Questionnaires from Excel (XLSForm)", 1)[1].split("\n## ", 1)[0]
    form: dict[str, list[list[object]]] = {}
    for name in ("survey", "choices", "settings"):
        table = section.split(f"**{name}** sheet\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
        rows = [[cell.strip() or None for cell in line.strip().strip("|").split("|")] for line in table]
        form[name] = [rows[0], *rows[2:]]  # without the |---| line
    yaml_block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    warning = section.split("```\nward-survey.xlsx: ", 1)[1].split("\n```", 1)[0]
    return form, yaml_block, warning


def test_the_readme_example_imports_as_the_readme_shows(tmp_path: Path) -> None:
    form, yaml_block, warning = readme_example()
    path = write_workbook(tmp_path / "ward-survey.xlsx", form)
    code, out, err = run(["survey", "import", str(path)])
    assert code == 0, err
    assert yaml_block in out
    assert err == f"{path}: {warning}\n"
