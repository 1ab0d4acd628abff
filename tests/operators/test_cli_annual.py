"""`khaosat report annual`, on SQLite and PostgreSQL: two years of PAPI campaigns, the year's workbook and its
printable page, with scores, intervals, changes from the previous year, ranks and ties, counts and notes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from openpyxl import load_workbook

from storage.db import Database
from tests.operators.helpers import arun, audit_rows, cli
from tests.papi.support import BEST, FAIR, GOOD, POOR, add_answers, papi_campaign, rows


def seed(url: str) -> None:
    async def go(db: Database) -> None:
        last = await papi_campaign(db, datetime(2025, 11, 1, 1, tzinfo=UTC), code="papi-2025", wards=[70, 235, 4, 8])
        this = await papi_campaign(db, datetime(2026, 11, 1, 1, tzinfo=UTC), code="papi-2026", wards=[70, 235, 4, 8])
        at_last, at_this = datetime(2025, 11, 5, 3, tzinfo=UTC), datetime(2026, 11, 5, 3, tzinfo=UTC)
        await add_answers(db, last, rows(70, (FAIR, 40)) + rows(235, (BEST, 20), (GOOD, 20)), at_last)
        await add_answers(db, last, rows(4, (GOOD, 12)), at_last)
        # 2026: Hoàn Kiếm and Đống Đa alike (tied), Ba Đình clearly lower, Ngọc Hà 10 responses (not ranked)
        await add_answers(db, this, rows(70, (BEST, 20), (GOOD, 20)) + rows(235, (GOOD, 20), (BEST, 20)), at_this)
        await add_answers(db, this, rows(4, (FAIR, 20), (POOR, 20)) + rows(8, (GOOD, 10)), at_this)
        await add_answers(db, this, rows(70, (POOR, 5)), datetime(2027, 1, 2, tzinfo=UTC))  # next year: not counted

    arun(url, go)


def test_the_annual_workbook_ranks_wards_honestly_and_compares_with_last_year(env: str, tmp_path: Path) -> None:
    assert cli("survey", "publish", "papi").exit_code == 0
    assert cli("departments", "add", "SNV", "--name", "Sở Nội vụ").exit_code == 0
    assert cli("departments", "assign", "SNV", "--dimensions", "5").exit_code == 0
    seed(env)
    out = tmp_path / "ranking-2026.xlsx"
    r = cli("report", "annual", "--year", "2026", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert r.stdout == (
        f"wrote {out}: 2026, 4 wards (3 ranked in at least one dimension), dimensions 1,2,3,4,5,6,7,8; "
        "campaigns: papi-2026\n"
    )
    book = load_workbook(out)
    assert book.sheetnames == ["Tổng hợp", "Chi tiết", "Cách tính"]
    summary = [[c.value for c in row] for row in book["Tổng hợp"].iter_rows()]
    assert summary[0][0].startswith("Kết quả khảo sát năm 2026 theo các lĩnh vực PAPI")
    head = summary[1]
    assert head[:3] == ["Mã", "Phường, xã", "Phiếu hoàn thành"]
    assert head[3:5] == ["1. Tham gia của người dân ở cấp cơ sở", "1. Hạng"] and head[-2:] == [
        "Tổng điểm (8–80)",
        "Hạng",
    ]
    by_ward = {row[0]: row for row in summary[2:]}
    assert [row[0] for row in summary[2:]] == [235, 70, 4, 8]  # the best totals first (tied: by name), unranked last
    d5 = head.index("5. Thủ tục hành chính công")
    assert by_ward[70][d5].startswith("8,88 (") and by_ward[70][d5 + 1] == "=1"
    assert by_ward[235][d5 + 1] == "=1" and by_ward[4][d5 + 1] == "3"
    assert (by_ward[8][2], by_ward[8][d5], by_ward[8][d5 + 1]) == (10, "n=10", "–")
    assert by_ward[70][2] == 40  # the five responses of January 2027 are not counted

    details = [[c.value for c in row] for row in book["Chi tiết"].iter_rows()]
    columns = details[0]
    assert columns[:7] == ["Mã", "Phường, xã", "Lĩnh vực", "Tên lĩnh vực", "Đơn vị chủ trì", "Cách tính", "n"]
    line = {(row[0], row[2]): dict(zip(columns, row, strict=True)) for row in details[1:]}
    ha = line[(70, 5)]
    assert ha["Đơn vị chủ trì"] == "Sở Nội vụ" and ha["n"] == 40 and ha["Giá trị"] == 8.88
    assert ha["Cận dưới"] < 8.88 < ha["Cận trên"]
    assert (ha["So với năm trước"], ha["Thay đổi rõ rệt"], ha["Hạng"], ha["Đồng hạng"]) == ("+4,50", "▲", 1, 1)
    dd = line[(235, 5)]
    assert (dd["So với năm trước"], dd["Thay đổi rõ rệt"]) == ("+0,00", None)  # as in 2025 (empty cell)
    assert line[(4, 5)]["So với năm trước"] is None  # 12 responses in 2025: no score to compare with
    assert line[(8, 5)]["Giá trị"] is None and line[(8, 5)]["Hạng"] is None
    assert line[(70, 6)]["Hạng"] == 1 and line[(4, 6)]["Đồng hạng"] == 1  # everyone alike in dimension 6
    notes = " ".join(str(row[0].value) for row in book["Cách tính"].iter_rows())
    assert "papi-2026" in notes and "So với năm 2025 (các đợt: papi-2025)" in notes
    assert "Thứ hạng: 1 + số phường, xã" in notes and "khoảng tin cậy t 95%" in notes

    r = cli("report", "annual", "--year", "2026", "--out", str(out))
    assert r.exit_code == 1 and "already exists; add --force" in r.stderr
    assert ("report.annual", "ok") in [(a, o) for a, o, _ in audit_rows(env)]


def test_the_printable_page_in_english(env: str, tmp_path: Path) -> None:
    assert cli("survey", "publish", "papi").exit_code == 0
    seed(env)
    out = tmp_path / "ranking.html"
    r = cli("report", "annual", "--year", "2026", "--out", str(out), "--lang", "en")
    assert r.exit_code == 0, r.output
    page = out.read_text(encoding="utf-8")
    assert "<title>Survey results for 2026 by PAPI dimension" in page
    d5 = page.split('data-testid="dimension-5"')[1].split("</table>")[0]
    assert '<tr data-ward="70">' in d5 and "=1</td>" in d5 and '+4.50 <span class="up">▲</span>' in d5
    assert '<tr data-ward="4">' in d5 and '<td class="num">3</td>' in d5
    assert "Lead department: not assigned yet" in page
    assert "Rank: 1 + the number of wards whose interval lies entirely above" in page
    assert "@page { size: A4 landscape" in page


def test_a_year_without_papi_campaigns_is_said_plainly(env: str, tmp_path: Path) -> None:
    assert cli("survey", "publish").exit_code == 0
    r = cli("report", "annual", "--year", "2024", "--out", str(tmp_path / "x.xlsx"))
    assert r.exit_code == 1
    assert r.stderr.startswith("Error: no campaign measured PAPI dimensions in 2024")
    r = cli("report", "annual", "--year", "2026", "--out", str(tmp_path / "x.pdf"))
    assert r.exit_code == 2 and "end the file name in .xlsx" in r.stderr
    assert not (tmp_path / "x.xlsx").exists()
