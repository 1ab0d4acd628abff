"""`khaosat export`: CSV and XLSX read back with csv and openpyxl; bad paths; nothing half-written."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from reports import export as export_module
from reports.export import pseudonym
from storage.db import Database
from tests.operators.helpers import add_response, arun, audit_rows, cli, create, get_campaign, last_line, publish

T0 = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # 10:00 in Hà Nội
QUESTIONS = [
    "ward", "age_group", "gender", "used_service", "procedure_kind", "sat_access", "sat_procedures", "sat_staff",
    "sat_result", "visits", "informal_payment", "gave_feedback", "sat_feedback", "transparency", "environment",
    "top_issues.waste", "top_issues.pollution", "top_issues.flooding", "top_issues.security", "top_issues.traffic",
    "top_issues.health", "top_issues.schools", "top_issues.procedures", "overall_satisfaction", "comment",
]  # fmt: skip
HEADER = [
    "respondent", "ward_code", "ward_name", "status", "started_at", "completed_at", "channel", "quality_flags",
    *QUESTIONS,
]  # fmt: skip
FORMULA = '=HYPERLINK("http://example.com","bấm vào đây")'


def fill(url: str) -> Any:
    c = get_campaign(url, "hn-2026")

    async def go(db: Database) -> None:
        async with db.write() as conn:
            await add_response(
                conn, c.id, 70,
                {"ward": 70, "age_group": "30_44", "gender": None, "used_service": "no", "gave_feedback": "no",
                 "transparency": "dk", "environment": 4, "top_issues": ["waste", "traffic"],
                 "overall_satisfaction": 5, "comment": FORMULA},
                started_at=T0, completed_at=T0 + timedelta(minutes=4, seconds=30), key="alice",
            )  # fmt: skip
            await add_response(
                conn, c.id, 235, {"ward": 235, "age_group": "18_29"}, status="in_progress",
                started_at=T0 + timedelta(hours=1), key="bob",
            )  # fmt: skip
            await add_response(
                conn, c.id, 235,
                {"ward": 235, "age_group": "60_plus", "used_service": "in_person", "procedure_kind": "land",
                 "sat_access": 4, "sat_procedures": 2, "sat_staff": 5, "sat_result": "dk", "visits": 3,
                 "informal_payment": "prefer_not", "gave_feedback": "yes", "sat_feedback": 1, "transparency": 3,
                 "environment": 2, "top_issues": ["flooding"], "overall_satisfaction": 2,
                 "comment": "Đường hay ngập,\ncần nạo vét cống\x01"},
                started_at=T0 + timedelta(hours=2), completed_at=T0 + timedelta(hours=2, minutes=7), key="chi",
                channel="zalo",
            )  # fmt: skip
            await add_response(conn, c.id, None, {}, status="abandoned", started_at=T0 + timedelta(hours=3), key="dan")

    arun(url, go)
    return c


@pytest.fixture
def campaign(env: str) -> Any:
    publish()
    create("hn-2026", "70,235")
    return fill(env)


def test_export_csv(env: str, campaign: Any, tmp_path: Path) -> None:
    out = tmp_path / "hn-2026.csv"
    result = cli("export", "hn-2026", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"exported 4 responses of hn-2026 to {out} (csv, {out.stat().st_size:,} bytes)\n"
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: spreadsheet programs show Vietnamese right
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == HEADER
    assert len(rows) == 5
    alice, bob, chi, dan = (dict(zip(HEADER, row, strict=True)) for row in rows[1:])
    assert alice["respondent"] == pseudonym("hn-2026", "alice") and len(alice["respondent"]) == 16
    assert alice["respondent"] != "alice" and pseudonym("other", "alice") != alice["respondent"]
    assert [alice[k] for k in ("ward_code", "ward_name", "status", "started_at", "completed_at")] == [
        "70", "Phường Hoàn Kiếm", "completed", "2026-11-26T10:00:00+07:00", "2026-11-26T10:04:30+07:00"
    ]  # fmt: skip
    assert alice["gender"] == "" and alice["procedure_kind"] == ""  # skipped; hidden by skip logic
    assert (alice["transparency"], alice["environment"], alice["overall_satisfaction"]) == ("dk", "4", "5")
    assert [alice[f"top_issues.{o}"] for o in ("waste", "pollution", "flooding", "traffic")] == ["1", "0", "0", "1"]
    assert alice["comment"] == "'" + FORMULA  # never run as a formula by a spreadsheet
    assert (bob["status"], bob["completed_at"], bob["age_group"], bob["top_issues.waste"]) == (
        "in_progress",
        "",
        "18_29",
        "",
    )
    assert (chi["visits"], chi["sat_result"], chi["comment"]) == ("3", "dk", "Đường hay ngập,\ncần nạo vét cống\x01")
    assert [r["channel"] for r in (alice, bob, chi, dan)] == ["telegram", "telegram", "zalo", "telegram"]
    assert (dan["ward_code"], dan["ward_name"], dan["status"]) == ("", "", "abandoned")

    completed = tmp_path / "done.csv"
    result = cli("export", "hn-2026", "--format", "csv", "--out", str(completed), "--status", "completed")
    assert result.exit_code == 0, result.output
    with completed.open(encoding="utf-8-sig", newline="") as f:
        assert [row[3] for row in csv.reader(f)] == ["status", "completed", "completed"]
    assert [(o, args["rows"]) for a, o, args in audit_rows(env) if a == "export"] == [("ok", 4), ("ok", 2)]


def test_export_xlsx(env: str, campaign: Any, tmp_path: Path) -> None:
    out = tmp_path / "hn-2026.xlsx"
    result = cli("export", "hn-2026", "--out", str(out))
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["responses", "codebook", "summary"]
    sheet = book["responses"]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER and len(rows) == 5
    alice = dict(zip(HEADER, rows[1], strict=True))
    assert alice["started_at"] == datetime(2026, 11, 26, 10, 0)  # Hà Nội time; Excel has no time zones
    assert (alice["ward_code"], alice["overall_satisfaction"], alice["transparency"], alice["gender"]) == (
        70,
        5,
        "dk",
        None,
    )
    assert (alice["top_issues.waste"], alice["top_issues.pollution"]) == (1, 0)
    comment = sheet.cell(row=2, column=HEADER.index("comment") + 1)
    assert (comment.value, comment.data_type) == (FORMULA, "s")  # a string, not a formula
    chi = dict(zip(HEADER, rows[3], strict=True))
    assert chi["comment"] == "Đường hay ngập,\ncần nạo vét cống"  # a control character XLSX cannot hold is dropped
    assert chi["completed_at"] == datetime(2026, 11, 26, 12, 7)
    assert (alice["channel"], chi["channel"]) == ("telegram", "zalo")

    codebook = {row[0]: row for row in book["codebook"].iter_rows(min_row=2, values_only=True)}
    assert list(codebook) == HEADER
    assert codebook["top_issues.waste"][1:3] == ("top_issues", "multi_choice")
    assert codebook["top_issues.waste"][3].endswith("— Thu gom rác thải")
    assert codebook["top_issues.waste"][5] == "1 = chosen; 0 = not chosen; empty = not answered"
    assert codebook["overall_satisfaction"][5] == (
        "1 = Rất không hài lòng; 2 = Không hài lòng; 3 = Bình thường; 4 = Hài lòng; 5 = Rất hài lòng"
    )
    assert codebook["sat_access"][5].endswith("; dk = Không rõ") and codebook["sat_access"][6] == 'used_service != "no"'
    assert codebook["gender"][5] == "male = Nam; female = Nữ; other = Khác; empty = skipped (optional question)"
    assert codebook["started_at"][3].endswith("[Asia/Ho_Chi_Minh]")

    summary = [list(row) for row in book["summary"].iter_rows(values_only=True)]
    assert summary[0][:9] == [
        "ward_code", "ward_name", "started", "completed", "in_progress", "abandoned", "target", "of_target",
        "completion_rate",
    ]  # fmt: skip
    assert summary[1][:6] == [70, "Phường Hoàn Kiếm", 1, 1, 0, 0]
    assert summary[2][:6] == [235, "Phường Đống Đa", 2, 1, 1, 0]
    assert summary[2][8] == 0.5
    assert summary[3][:6] == [None, "Total", 4, 2, 1, 1]
    assert summary[3][9:] == [None, None, None, None, None, "<10"]  # two answers: nothing shown but "<10"


def test_export_bad_inputs(env: str, campaign: Any, tmp_path: Path) -> None:
    tmp_path = tmp_path / "exports"
    tmp_path.mkdir()
    unknown = cli("export", "zzz", "--out", str(tmp_path / "x.csv"))
    assert unknown.exit_code == 2
    assert (
        last_line(unknown.stderr)
        == "Error: Invalid value for 'CODE': no campaign with code 'zzz'; see 'khaosat campaign list'"
    )
    no_format = cli("export", "hn-2026", "--out", str(tmp_path / "x.txt"))
    assert no_format.exit_code == 2
    assert last_line(no_format.stderr) == (
        "Error: Invalid value for '--format': give --format csv or xlsx (or end the file name in .csv or .xlsx)"
    )
    mismatch = cli("export", "hn-2026", "--format", "xlsx", "--out", str(tmp_path / "x.csv"))
    assert mismatch.exit_code == 2
    assert (
        last_line(mismatch.stderr)
        == "Error: Invalid value for '--out': the file name ends in .csv but the format is xlsx"
    )
    bad_format = cli("export", "hn-2026", "--format", "pdf", "--out", str(tmp_path / "x.pdf"))
    assert bad_format.exit_code == 2
    assert last_line(bad_format.stderr) == "Error: Invalid value for '--format': 'pdf' is not one of 'csv', 'xlsx'."

    missing_dir = tmp_path / "nowhere" / "x.csv"
    result = cli("export", "hn-2026", "--out", str(missing_dir))
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: cannot write {missing_dir}: {missing_dir.parent} does not exist\n",
    )
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    result = cli("export", "hn-2026", "--out", str(a_file / "x.csv"))
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: cannot write {a_file / 'x.csv'}: {a_file} is not a folder\n",
    )
    if Path("/sys").is_dir():  # a folder nobody may write to, not even root
        result = cli("export", "hn-2026", "--out", "/sys/hn-2026.xlsx")
        assert (result.exit_code, result.stderr) == (1, "Error: cannot write /sys/hn-2026.xlsx: Permission denied\n")

    existing = tmp_path / "old.csv"
    existing.write_text("keep me")
    refused = cli("export", "hn-2026", "--out", str(existing))
    assert (refused.exit_code, refused.stderr) == (1, f"Error: {existing} already exists; add --force to replace it\n")
    assert existing.read_text() == "keep me"
    replaced = cli("export", "hn-2026", "--out", str(existing), "--force")
    assert replaced.exit_code == 0 and existing.read_text(encoding="utf-8-sig").startswith("respondent,")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "old.csv"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_failed_export_leaves_nothing_behind(
    env: str, campaign: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    tmp_path = tmp_path / "exports"
    tmp_path.mkdir()
    out = tmp_path / f"hn-2026.{fmt}"
    out.write_bytes(b"the previous export")
    calls = 0
    real = export_module.values

    def failing(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError(28, "No space left on device")
        return real(*args)

    monkeypatch.setattr(export_module, "values", failing)
    result = cli("export", "hn-2026", "--out", str(out), "--force")
    assert (result.exit_code, result.stderr) == (1, f"Error: cannot write {out}: No space left on device\n")
    assert out.read_bytes() == b"the previous export"
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left
    assert [o for a, o, _ in audit_rows(env) if a == "export"] == ["error"]


def test_progress_bar_only_for_long_exports_on_a_terminal() -> None:
    assert export_module._progress(10_000, show=True).disable is False
    assert export_module._progress(999, show=True).disable is True  # finishes before a bar is worth it
    assert export_module._progress(10_000, show=False).disable is True  # stderr is not a terminal
