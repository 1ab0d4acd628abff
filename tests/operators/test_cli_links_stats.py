"""`khaosat campaign links` (with QR posters), `khaosat stats`, `khaosat operators` and `khaosat audit`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from reports.posters import HEIGHT, INDEX_NAME, WIDTH, qr_geometry, qr_matrix
from storage.db import Database
from storage.repo import operators
from tests.fakebot import FakeBotAPI
from tests.operators.helpers import add_response, arun, audit_rows, cli, create, get_campaign, last_line, publish

NOT_AN_ID = (
    "Error: Invalid value for 'TELEGRAM_USER_ID': '{}' is not a Telegram user id (a positive number, e.g. 123456789)"
)
LINKS = [
    "4\tPhường Ba Đình\thttps://t.me/khaosat_hanoi_bot?start=hn-2026_4",
    "70\tPhường Hoàn Kiếm\thttps://t.me/khaosat_hanoi_bot?start=hn-2026_70",
    "235\tPhường Đống Đa\thttps://t.me/khaosat_hanoi_bot?start=hn-2026_235",
]


def decodes_to(path: Path, link: str) -> bool:
    """Every module of the poster's QR code has the colour of the code for `link`."""
    matrix = qr_matrix(link)
    left, top, box = qr_geometry(len(matrix))
    image = Image.open(path).convert("L")
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            pixel = image.getpixel((left + c * box + box // 2, top + r * box + box // 2))
            if (pixel < 128) != dark:
                return False
    return True


def test_links_and_posters(env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "@khaosat_hanoi_bot")
    publish()
    create("hn-2026", "70,235,4")
    result = cli("campaign", "links", "hn-2026")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == LINKS

    posters = tmp_path / "in" / "posters"
    result = cli("campaign", "links", "hn-2026", "--qr", str(posters))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == LINKS
    assert result.stderr == f"3 posters and index.html written to {posters}\n"
    assert sorted(p.name for p in posters.iterdir()) == [
        "235-phuong-dong-da.png",
        "4-phuong-ba-dinh.png",
        "70-phuong-hoan-kiem.png",
        INDEX_NAME,
    ]
    poster = posters / "70-phuong-hoan-kiem.png"
    with Image.open(poster) as image:
        assert image.size == (WIDTH, HEIGHT) and image.format == "PNG"
        assert image.text["Link"] == "https://t.me/khaosat_hanoi_bot?start=hn-2026_70"  # type: ignore[attr-defined]
        assert image.text["Title"] == "Phường Hoàn Kiếm · Khảo sát sự hài lòng của người dân với chính quyền phường, xã"  # type: ignore[attr-defined]
        below = image.convert("L").crop((0, 1150, WIDTH, HEIGHT))
        assert below.getextrema()[0] < 50  # the ward's name and the title are printed under the code
    assert decodes_to(poster, "https://t.me/khaosat_hanoi_bot?start=hn-2026_70")
    assert not decodes_to(poster, "https://t.me/khaosat_hanoi_bot?start=hn-2026_4")
    index = (posters / INDEX_NAME).read_text(encoding="utf-8")
    assert '<img src="70-phuong-hoan-kiem.png" alt="QR Phường Hoàn Kiếm">' in index
    assert "https://t.me/khaosat_hanoi_bot?start=hn-2026_235" in index and "page-break-before: always" in index
    assert [args.get("posters") for a, _, args in audit_rows(env) if a == "campaign.links"] == [None, 3]


def test_links_bad_inputs(env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    publish()
    create("hn-2026", "70")
    no_name = cli("campaign", "links", "hn-2026")
    assert no_name.exit_code == 1 and no_name.stderr.startswith("Error: Telegram links need the bot's username")
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "khaosat_hanoi_bot")
    unknown = cli("campaign", "links", "zzz")
    assert unknown.exit_code == 2
    assert (
        last_line(unknown.stderr)
        == "Error: Invalid value for 'CODE': no campaign with code 'zzz'; see 'khaosat campaign list'"
    )
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    not_dir = cli("campaign", "links", "hn-2026", "--qr", str(a_file))
    assert not_dir.exit_code == 2
    assert last_line(not_dir.stderr) == f"Error: Invalid value for '--qr': Directory '{a_file}' is a file."
    under_file = a_file / "posters"
    unwritable = cli("campaign", "links", "hn-2026", "--qr", str(under_file))
    assert unwritable.exit_code == 1
    assert unwritable.stderr == f"Error: cannot write the posters to {under_file}: Not a directory\n"
    assert unwritable.stdout == ""
    assert cli("campaign", "launch", "hn-2026").exit_code == 0
    assert cli("campaign", "close", "hn-2026", "--yes").exit_code == 0
    closed = cli("campaign", "links", "hn-2026")
    assert (closed.exit_code, closed.stderr) == (
        1,
        "Error: campaign 'hn-2026' is closed: its links no longer open the survey\n",
    )
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "https://t.me/khaosat_hanoi_bot")
    invalid = cli("campaign", "links", "hn-2026")
    assert invalid.exit_code == 1
    assert invalid.stderr == (
        "Error: invalid setting TELEGRAM_BOT_USERNAME: 'https://t.me/khaosat_hanoi_bot' is not a Telegram bot "
        "username (e.g. khaosat_hanoi_bot, without https://t.me/)\n"
    )


def test_links_ask_telegram_for_the_username(env: str, monkeypatch: pytest.MonkeyPatch, fake_api: FakeBotAPI) -> None:
    publish()
    create("hn-2026", "70")
    monkeypatch.setenv("TELEGRAM_API_BASE", fake_api.base_url)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:TEST")
    result = cli("campaign", "links", "hn-2026")
    assert result.exit_code == 0, result.output
    assert result.stdout == "70\tPhường Hoàn Kiếm\thttps://t.me/khaosat_test_bot?start=hn-2026_70\n"
    assert [c.method for c in fake_api.calls] == ["getMe"]
    fake_api.revoke("123456:TEST")
    refused = cli("campaign", "links", "hn-2026")
    assert (refused.exit_code, refused.stderr) == (
        1,
        "Error: Telegram refused TELEGRAM_BOT_TOKEN: check the token, or set TELEGRAM_BOT_USERNAME\n",
    )


# --- stats ------------------------------------------------------------------------------------------------------


def fill_for_stats(url: str) -> None:
    """Ward 70: 60 answers, 48 satisfied; 235: 35, 20; 4: 12, 9; 8: 5, 3; 73: none. Overall 80 of 112."""
    c = get_campaign(url, "hn-2026")
    now = datetime.now(UTC)
    plan: dict[int, list[Any]] = {
        70: [5] * 24 + [4] * 24 + [3] * 6 + [2] * 6,
        235: [5] * 10 + [4] * 10 + [3] * 10 + [1] * 5,
        4: [4] * 9 + [2] * 3,
        8: [5] * 3 + [1] * 2,
    }

    async def go(db: Database) -> None:
        async with db.write() as conn:
            for ward, answers in plan.items():
                for value in answers:
                    await add_response(
                        conn, c.id, ward, {"overall_satisfaction": value, "sat_staff": 4}, started_at=now
                    )
            await add_response(conn, c.id, 70, {"overall_satisfaction": 1}, status="in_progress", started_at=now)
            await add_response(conn, c.id, 70, {}, status="abandoned", started_at=now)

    arun(url, go)


def test_stats_table(env: str) -> None:
    publish()
    create("hn-2026", "70,235,4,8,73")
    fill_for_stats(env)
    result = cli("stats", "hn-2026")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Khảo sát sự hài lòng của người dân với chính quyền phường, xã (hn-2026), draft"
    assert lines[1] == (
        "Question overall_satisfaction: Nhìn chung, bạn hài lòng thế nào với chính quyền phường, xã nơi bạn sống?"
    )
    rows = [[cell.strip() for cell in line.split("   ") if cell.strip()] for line in lines[2:10]]
    assert set(lines[3]) == {"─"} and set(lines[9]) <= {"─", " "}  # rules under the header and above the total
    assert rows[:1] + rows[2:7] == [
        ["Code", "Ward", "Responses", "Completed", "Valid answers", "Satisfied (95% interval)"],
        ["4", "Phường Ba Đình", "12", "12", "12", "9/12 satisfied"],  # exact for operators: counts only under 30
        ["8", "Phường Ngọc Hà", "5", "5", "5", "3/5 satisfied"],
        ["70", "Phường Hoàn Kiếm", "62", "60", "60", "80% (68–88%)"],
        ["73", "Phường Cửa Nam", "0", "0", "0", "–"],
        ["235", "Phường Đống Đa", "35", "35", "35", "57% (41–72%) ⚠ few responses (n=35)"],
    ]
    assert [cell.strip() for cell in lines[10].split("   ") if cell.strip()] == [
        "All wards", "114", "112", "112", "71% (62–79%)"
    ]  # fmt: skip
    assert lines[11] == "Lowest (30+ answers): Phường Đống Đa 57%; Phường Hoàn Kiếm 80%"
    assert "it is not a margin of sampling error" in lines[13]

    staff = cli("stats", "hn-2026", "--question", "sat_staff")
    assert staff.exit_code == 0 and "All wards" in staff.stdout and "100% (97–100%)" in staff.stdout
    bad = cli("stats", "hn-2026", "--question", "top_issues")
    assert bad.exit_code == 2
    assert last_line(bad.stderr) == (
        "Error: Invalid value for '--question': 'top_issues' is not a 5-level question of hanoi-ward-satisfaction v2; "
        "choose one of: sat_access, sat_procedures, sat_staff, sat_result, sat_feedback, transparency, environment, "
        "overall_satisfaction"
    )
    unknown = cli("stats", "zzz")
    assert unknown.exit_code == 2
    assert (
        last_line(unknown.stderr)
        == "Error: Invalid value for 'CODE': no campaign with code 'zzz'; see 'khaosat campaign list'"
    )
    assert [(a, o) for a, o, _ in audit_rows(env) if a == "stats"] == [
        ("stats", "ok"),
        ("stats", "ok"),
        ("stats", "error"),
        ("stats", "error"),
    ]


# --- operators and audit -----------------------------------------------------------------------------------------


def test_operators_commands(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPERATOR_IDS", "111, 222")
    added = cli("operators", "add", "333", "--name", "Nguyễn Văn A")
    assert (added.exit_code, added.stdout) == (0, "333 is now an operator\n")
    again = cli("operators", "add", "333")
    assert (again.exit_code, again.stdout) == (0, "333 is already an operator; nothing changed\n")
    listed = cli("operators", "list")
    assert listed.exit_code == 0
    rows = [[c.strip() for c in line.split("   ") if c.strip()] for line in listed.stdout.splitlines()[2:]]
    assert [(r[0], r[-1]) for r in rows] == [
        ("111", "OPERATOR_IDS"),
        ("222", "OPERATOR_IDS"),
        ("333", "cli:" + rows[2][-1][4:]),
    ]
    assert rows[2][1] == "Nguyễn Văn A"

    removed = cli("operators", "remove", "333")
    assert (removed.exit_code, removed.stdout) == (0, "333 is no longer an operator\n")
    missing = cli("operators", "remove", "333")
    assert (missing.exit_code, missing.stderr) == (1, "Error: 333 is not an operator; see 'khaosat operators list'\n")
    seeded = cli("operators", "remove", "111")
    assert seeded.exit_code == 1
    assert seeded.stderr == (
        "Error: 111 is listed in OPERATOR_IDS, which adds it back at every start; remove it from OPERATOR_IDS "
        "(in .env) first\n"
    )
    for bad in ("abc", "0", "-5"):
        result = cli("operators", "add", bad)
        assert (result.exit_code, last_line(result.stderr)) == (2, NOT_AN_ID.format(bad))

    async def ids(db: Database) -> list[int]:
        async with db.read() as conn:
            return await operators.ids(conn)

    assert arun(env, ids) == [111, 222]
    monkeypatch.setenv("OPERATOR_IDS", "12,abc")
    broken = cli("operators", "list")
    assert broken.exit_code == 1
    assert (
        broken.stderr
        == "Error: invalid setting OPERATOR_IDS: 'abc' is not a Telegram user id (comma-separated numbers)\n"
    )
    outcomes = [(a, o) for a, o, _ in audit_rows(env)]
    assert outcomes == [
        ("operators.add", "ok"),
        ("operators.add", "ok"),
        ("operators.list", "ok"),
        ("operators.remove", "ok"),
        ("operators.remove", "error"),
        ("operators.remove", "error"),
    ]


def test_audit_command(env: str) -> None:
    empty = cli("audit")
    assert (empty.exit_code, empty.stdout) == (0, "no audit entries\n")
    publish()
    create("hn-2026", "70")
    cli("campaign", "launch", "zzz")
    result = cli("audit")
    assert result.exit_code == 0
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert [line[2:4] for line in lines] == [
        ["audit", "ok"],
        ["survey.publish", "ok"],
        ["campaign.create", "ok"],
        ["campaign.launch", "error"],
    ]
    assert all(line[1].startswith("cli:") for line in lines)
    assert (
        lines[3][4]
        == "code=zzz error=Invalid value for 'CODE': no campaign with code 'zzz'; see 'khaosat campaign list'"
    )
    assert datetime.strptime(lines[0][0], "%Y-%m-%d %H:%M:%S")
    recent = cli("audit", "--since", "1h", "--limit", "2")
    assert [line.split("\t")[2] for line in recent.stdout.splitlines()] == ["campaign.launch", "audit"]
    future = cli("audit", "--since", "2099-01-01")
    assert future.stdout == "no audit entries since 2099-01-01 00:00\n"
    bad = cli("audit", "--since", "last week")
    assert bad.exit_code == 2
    assert last_line(bad.stderr) == (
        "Error: Invalid value for '--since': 'last week' is not a date, a time or a duration; use e.g. 2026-12-01, "
        "2026-12-01T08:00, 24h or 7d"
    )


def test_output_into_a_closed_pipe_ends_quietly_not_as_a_database_error(env: str) -> None:
    import subprocess
    import sys

    publish()
    create("hn-2026", "all")
    reader = subprocess.Popen(
        [sys.executable, "-m", "bot", "campaign", "show", "hn-2026"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.close()  # as "| head -1" does once it has its line
    errors = reader.stderr.read().decode()
    reader.wait(60)
    assert "cannot reach the database" not in errors and "Traceback" not in errors
