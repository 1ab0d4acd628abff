"""`khaosat survey import --publish` and `khaosat survey export` on SQLite and PostgreSQL: a published
questionnaire exported as an XLSForm reads back to the same one, and publishing it again changes nothing."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from flows.loader import bundled_survey_path, load_survey, load_survey_text
from flows.xlsform import read_xlsform
from tests.operators.helpers import SURVEY, audit_rows, cli, publish
from tests.xlsforms import CLINIC, sheets, write_workbook


def test_import_publish_stores_the_form_like_survey_publish(env: str, tmp_path: Path) -> None:
    form = write_workbook(tmp_path / "clinic.xlsx", CLINIC)
    first = cli("survey", "import", str(form), "--publish")
    assert first.exit_code == 0, first.output
    assert first.stdout == (
        "published clinic-2026 v3: 6 questions; use it with: khaosat campaign create --survey clinic-2026@3 ...\n"
    )
    again = cli("survey", "import", str(form), "--publish")
    assert again.stdout == "clinic-2026 v3 is already published with this content; nothing changed\n"
    direct = cli("survey", "publish", str(form))  # survey publish reads a workbook too
    assert direct.stdout == "clinic-2026 v3 is already published with this content; nothing changed\n"

    changed = sheets()
    changed["survey"][4][3] = "Did you use a public service?"
    refused = cli("survey", "import", str(write_workbook(tmp_path / "changed.xlsx", changed)), "--publish")
    assert refused.exit_code == 1
    assert refused.stderr.splitlines()[-1] == (
        "Error: survey clinic-2026 v3 is already published with different content; "
        "raise 'version:' in the file (e.g. to 4) to publish the changes"
    )
    listed = cli("survey", "list").stdout.splitlines()
    assert len(listed) == 3 and listed[2].startswith("clinic-2026   ")
    assert [(a, o, args.get("path"), args.get("created")) for a, o, args in audit_rows(env)] == [
        ("survey.publish", "ok", str(form), True),
        ("survey.publish", "ok", str(form), False),
        ("survey.publish", "ok", str(form), False),
        ("survey.publish", "error", str(tmp_path / "changed.xlsx"), None),
        ("survey.list", "ok", None, None),
    ]


def test_import_publish_of_a_broken_form_publishes_nothing(env: str, tmp_path: Path) -> None:
    form = sheets()
    form["survey"][7][0] = "geopoint"
    result = cli("survey", "import", str(write_workbook(tmp_path / "broken.xlsx", form)), "--publish")
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "broken.xlsx: survey!A8 (type): type 'geopoint' cannot be represented (khaosat does not collect locations)\n"
    )
    assert cli("survey", "list").stdout.startswith("no survey published yet")


def test_export_writes_the_published_survey_as_an_xlsform_that_imports_back_unchanged(env: str, tmp_path: Path) -> None:
    publish()
    out = tmp_path / "hanoi.xlsx"
    result = cli("survey", "export", SURVEY, "--format", "xlsform", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {out}: {SURVEY} v2 (18 questions) as xlsform\n"
    imported = read_xlsform(out)
    assert imported.warnings == ()
    original = load_survey(bundled_survey_path())
    assert imported.survey.model_dump(mode="json") == original.model_dump(mode="json")
    wards = [r for r in openpyxl.load_workbook(out)["choices"].iter_rows(values_only=True) if r[0] == "wards"]
    assert len(wards) == 126 and ("wards", "70", "Phường Hoàn Kiếm", "Phường Hoàn Kiếm") in wards  # PROVINCE 1

    again = cli("survey", "import", str(out), "--publish")
    assert again.stdout == f"{SURVEY} v2 is already published with this content; nothing changed\n"
    assert [(a, o) for a, o, _ in audit_rows(env)] == [
        ("survey.publish", "ok"),
        ("survey.export", "ok"),
        ("survey.publish", "ok"),
    ]


def test_export_as_yaml_and_of_a_chosen_version(env: str, tmp_path: Path) -> None:
    publish()
    out = tmp_path / "hanoi.yaml"
    result = cli("survey", "export", f"{SURVEY}@2", "--format", "yaml", "--out", str(out))
    assert result.exit_code == 0, result.output
    original = load_survey(bundled_survey_path())
    assert load_survey_text(out.read_text(encoding="utf-8")).model_dump() == original.model_dump()


def test_export_refusals_name_what_is_wrong(env: str, tmp_path: Path) -> None:
    unknown = cli("survey", "export", "no-such-survey", "--out", str(tmp_path / "x.xlsx"))
    assert unknown.exit_code == 2
    assert unknown.stderr.splitlines()[-1] == (
        "Error: Invalid value for 'ID[@VERSION]': no published survey no-such-survey; "
        "publish it with 'khaosat survey publish FILE'"
    )
    publish()
    bad_version = cli("survey", "export", f"{SURVEY}@x", "--out", str(tmp_path / "x.xlsx"))
    assert bad_version.exit_code == 2
    assert bad_version.stderr.splitlines()[-1] == (
        f"Error: Invalid value for 'ID[@VERSION]': 'x' is not a version number (e.g. {SURVEY}@1)"
    )
    not_xlsx = cli("survey", "export", SURVEY, "--out", str(tmp_path / "form.xls"))
    assert not_xlsx.exit_code == 2
    assert not_xlsx.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--out': an XLSForm is an Excel workbook: end the file name in .xlsx"
    )
    no_folder = tmp_path / "missing" / "form.xlsx"
    failed = cli("survey", "export", SURVEY, "--out", str(no_folder))
    assert (failed.exit_code, failed.stderr) == (
        1,
        f"Error: cannot write {no_folder}: {no_folder.parent} does not exist\n",
    )
    existing = tmp_path / "form.xlsx"
    existing.write_bytes(b"keep me")
    kept = cli("survey", "export", SURVEY, "--out", str(existing))
    assert (kept.exit_code, existing.read_bytes()) == (1, b"keep me")
    assert kept.stderr == f"Error: {existing} already exists; add --force to replace it\n"
    assert cli("survey", "export", SURVEY, "--out", str(existing), "--force").exit_code == 0
    assert read_xlsform(existing).survey.id == SURVEY
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left
