"""`khaosat survey publish|list` and `khaosat campaign ...` on SQLite and PostgreSQL: success paths, bad
inputs with their exact messages and exit codes, and nothing written when a command fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from flows.loader import bundled_survey_path
from storage.db import Database
from storage.repo.sql import channel_address, respondent, response
from tests.operators.helpers import (
    SURVEY,
    add_response,
    arun,
    audit_rows,
    campaign_count,
    cli,
    create,
    get_campaign,
    last_line,
    publish,
)

# --- survey publish / list ------------------------------------------------------------------------------------


def test_survey_publish_list_and_refusals(env: str, tmp_path: Path) -> None:
    first = cli("survey", "publish")
    assert first.exit_code == 0, first.output
    assert first.stdout == (
        f"published {SURVEY} v2: 18 questions; use it with: khaosat campaign create --survey {SURVEY}@2 ...\n"
    )
    again = cli("survey", "publish", str(bundled_survey_path()))
    assert again.exit_code == 0
    assert again.stdout == f"{SURVEY} v2 is already published with this content; nothing changed\n"

    changed = tmp_path / "changed.yaml"
    changed.write_text(
        bundled_survey_path().read_text(encoding="utf-8").replace("Hello! This survey", "Hi! This survey"),
        encoding="utf-8",
    )
    refused = cli("survey", "publish", str(changed))
    assert refused.exit_code == 1
    assert refused.stderr == (
        f"Error: survey {SURVEY} v2 is already published with different content; "
        "raise 'version:' in the file (e.g. to 3) to publish the changes\n"
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\n", encoding="utf-8")
    bad = cli("survey", "publish", str(broken))
    assert bad.exit_code == 1 and bad.stderr.startswith(f"{broken}:")
    missing = cli("survey", "publish", str(tmp_path / "none.yaml"))
    assert (missing.exit_code, missing.stderr) == (1, f"{tmp_path / 'none.yaml'}:0: file not found\n")

    listed = cli("survey", "list")
    assert listed.exit_code == 0
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["Survey", "Version", "Questions", "Published", "Title"]
    assert lines[2].startswith(f"{SURVEY}         2          18   ")
    assert lines[2].endswith("Khảo sát sự hài lòng của người dân với chính quyền phường, xã")
    assert len(lines) == 3  # the changed file was not stored
    actions = [(a, o, args.get("created")) for a, o, args in audit_rows(env)]
    assert actions == [
        ("survey.publish", "ok", True),
        ("survey.publish", "ok", False),
        ("survey.publish", "error", None),
        ("survey.list", "ok", None),
    ]


def test_survey_list_when_empty(env: str) -> None:
    result = cli("survey", "list")
    assert (result.exit_code, result.stdout) == (
        0,
        "no survey published yet; publish one with 'khaosat survey publish FILE'\n",
    )


# --- campaign create ------------------------------------------------------------------------------------------


def test_campaign_create(env: str) -> None:
    publish()
    result = cli(
        "campaign", "create", "--code", "hn-2026", "--survey", f"{SURVEY}@2", "--wards", "235, 70,4,70",
        "--starts", "2099-12-01", "--ends", "2099-12-31", "--target", "100", "--title", "Khảo sát Hà Nội 2099",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "created campaign hn-2026 (draft): Khảo sát Hà Nội 2099\n"
        f"  survey:  {SURVEY} v2\n"
        "  wards:   3: Phường Ba Đình (4), Phường Hoàn Kiếm (70), Phường Đống Đa (235)\n"
        "  dates:   2099-12-01 00:00 to 2099-12-31 23:59 (Asia/Ho_Chi_Minh)\n"
        "  target:  100 completed responses per ward\n"
        "  reminders: after 24h and 72h without an answer, none 21:00-07:00 (Asia/Ho_Chi_Minh)\n"
        "  web:     30 new respondents per address and hour\n"
        "  flagged: responses with quality flags left out of the figures\n"
        "next: check it with 'khaosat campaign show hn-2026', then 'khaosat campaign launch hn-2026'\n"
    )
    c = get_campaign(env, "hn-2026")
    # dates without an offset are Hà Nội times (UTC+7), stored in UTC; a date alone for --ends is its end
    assert c.starts_at == datetime(2099, 11, 30, 17, 0, tzinfo=UTC)
    assert c.ends_at == datetime(2099, 12, 31, 16, 59, 59, tzinfo=UTC)
    assert (c.status, c.ward_codes, c.target_per_ward, c.timezone) == ("draft", (4, 70, 235), 100, "Asia/Ho_Chi_Minh")
    (action, outcome, arguments), *_ = [r for r in audit_rows(env) if r[0] == "campaign.create"]
    assert (action, outcome, arguments["code"], arguments["ward_count"]) == ("campaign.create", "ok", "hn-2026", 3)


def test_campaign_create_defaults_all_wards_and_explicit_offset(env: str) -> None:
    publish()
    before = datetime.now(UTC).replace(microsecond=0)
    result = cli("campaign", "create", "--code", "hn-all", "--survey", SURVEY, "--wards", "all")
    assert result.exit_code == 0, result.output
    assert "  wards:   126: Phường Ba Đình (4), Phường Ngọc Hà (8)" in result.stdout
    assert "(Khảo sát sự hài lòng của người dân" not in result.stdout  # the title is the survey's
    c = get_campaign(env, "hn-all")
    assert before <= c.starts_at <= datetime.now(UTC) and c.ends_at - c.starts_at == timedelta(days=30)
    assert c.title == "Khảo sát sự hài lòng của người dân với chính quyền phường, xã"
    result = cli(
        "campaign", "create", "--code", "hn-utc", "--survey", SURVEY, "--wards", "70",
        "--starts", "2099-01-01T08:00+00:00", "--ends", "2099-01-02T08:00Z",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    c = get_campaign(env, "hn-utc")
    assert (c.starts_at, c.ends_at) == (datetime(2099, 1, 1, 8, tzinfo=UTC), datetime(2099, 1, 2, 8, tzinfo=UTC))


CREATE_ERRORS = [
    (
        ["--code", "Bad Code"],
        2,
        "Error: Invalid value for '--code': 'Bad Code': use 3-32 lower-case letters, digits and '-' (e.g. hn-2026)",
    ),
    (
        ["--survey", "khong-co"],
        2,
        "Error: Invalid value for '--survey': no published survey khong-co; "
        "publish it with 'khaosat survey publish FILE'",
    ),
    (
        ["--survey", f"{SURVEY}@7"],
        2,
        f"Error: Invalid value for '--survey': no published survey {SURVEY} v7; "
        "publish it with 'khaosat survey publish FILE'",
    ),
    (
        ["--survey", f"{SURVEY}@abc"],
        2,
        f"Error: Invalid value for '--survey': 'abc' is not a version number (e.g. {SURVEY}@1)",
    ),
    (
        ["--wards", "70,abc"],
        2,
        "Error: Invalid value for '--wards': 'abc' is not a ward code: give numbers from 'khaosat wards list', "
        "comma-separated, or 'all'",
    ),
    (
        ["--wards", "70,99999,88888"],
        2,
        "Error: Invalid value for '--wards': unknown ward code(s): 88888, 99999; see 'khaosat wards list'",
    ),
    (
        ["--starts", "2099-12-10", "--ends", "2099-12-01"],
        2,
        "Error: Invalid value for '--ends': the campaign must end after it starts "
        "(starts 2099-12-10 00:00, ends the end of 2099-12-01)",
    ),
    (
        ["--starts", "2099-12-10T08:00", "--ends", "2099-12-10T08:00"],
        2,
        "Error: Invalid value for '--ends': the campaign must end after it starts "
        "(starts 2099-12-10 08:00, ends 2099-12-10 08:00)",
    ),
    (
        ["--starts", "10/12/2099"],
        2,
        "Error: Invalid value for '--starts': '10/12/2099' is not a date or time; use ISO format, e.g. 2026-12-01 or "
        "2026-12-01T08:00 (a time without an offset is in Asia/Ho_Chi_Minh)",
    ),
    (
        ["--starts", "2020-01-01", "--ends", "2020-01-31"],
        2,
        "Error: Invalid value for '--ends': 2020-01-31 23:59 is in the past",
    ),
    (["--target", "0"], 2, "Error: Invalid value for '--target': 0 is not in the range x>=1."),
]


@pytest.mark.parametrize(("change", "exit_code", "message"), CREATE_ERRORS)
def test_campaign_create_bad_inputs(env: str, change: list[str], exit_code: int, message: str) -> None:
    publish()
    options = {"--code": "hn-2026", "--survey": SURVEY, "--wards": "70,235", "--ends": "2099-12-31"}
    for name, value in zip(change[::2], change[1::2], strict=True):
        options[name] = value
    result = cli("campaign", "create", *[x for pair in options.items() for x in pair])
    assert result.exit_code == exit_code, result.output
    assert last_line(result.stderr) == message
    assert "Traceback" not in result.output
    assert campaign_count(env) == 0


def test_campaign_create_duplicate_code_and_missing_options(env: str) -> None:
    publish()
    create("hn-2026")
    result = cli("campaign", "create", "--code", "hn-2026", "--survey", SURVEY, "--wards", "4", "--ends", "2099-12-31")
    assert result.exit_code == 1
    assert result.stderr == "Error: a campaign with code 'hn-2026' already exists\n"
    missing = cli("campaign", "create", "--code", "hn-x", "--survey", SURVEY)
    assert missing.exit_code == 2 and last_line(missing.stderr) == "Error: Missing option '--wards'."
    assert campaign_count(env) == 1
    outcomes = [(a, o) for a, o, _ in audit_rows(env) if a == "campaign.create"]
    assert outcomes == [("campaign.create", "ok"), ("campaign.create", "error")]


# --- list / show / launch / close -----------------------------------------------------------------------------


def test_campaign_list_and_show(env: str) -> None:
    assert cli("campaign", "list").stdout == "no campaign yet; create one with 'khaosat campaign create --help'\n"
    publish()
    create("hn-2026", "70,235,4", "--target", "4")
    create("hn-b", "73")
    c = get_campaign(env, "hn-2026")
    now = datetime.now(UTC)

    async def fill(db: Database) -> None:
        async with db.write() as conn:
            for _ in range(4):
                await add_response(conn, c.id, 70, {}, started_at=now)
            await add_response(conn, c.id, 70, {}, status="in_progress", started_at=now)
            await add_response(conn, c.id, 70, {}, status="abandoned", started_at=now)
            await add_response(conn, c.id, 235, {}, started_at=now)
            await add_response(conn, c.id, None, {}, status="in_progress", started_at=now)

    arun(env, fill)
    listed = cli("campaign", "list")
    assert listed.exit_code == 0
    rows = [line.split("  ") for line in listed.stdout.splitlines()[2:]]
    rows = [[cell.strip() for cell in row if cell.strip()] for row in rows]
    assert [row[:3] + row[5:8] for row in rows] == [
        ["hn-b", "draft", f"{SURVEY}@2", "1", "0", "0"],
        ["hn-2026", "draft", f"{SURVEY}@2", "3", "5", "8"],
    ]
    shown = cli("campaign", "show", "hn-2026")
    assert shown.exit_code == 0, shown.output
    out = shown.stdout.splitlines()
    assert out[:13] == [
        "Campaign hn-2026: Khảo sát sự hài lòng của người dân với chính quyền phường, xã",
        "  status:      draft",
        f"  survey:      {SURVEY} v2",
        out[3],
        "  target:      4 completed responses per ward",
        "  reminders:   after 24h and 72h without an answer, none 21:00-07:00 (Asia/Ho_Chi_Minh)",
        "  invitations: no",
        "  web:         30 new respondents per address and hour",
        "  flagged:     0 completed responses (too_fast 0, straightlining 0, many_from_address 0); left out of the "
        "figures",
        "  responses:   8 started, 5 completed, 2 in progress, 1 abandoned; completion rate 63%",
        "               (1 in progress have not chosen their ward yet)",
        "  target met:  1 of 3 wards",
        "Code   Ward               Started   Completed   Target   Of target   Completion rate   In progress   "
        "Abandoned",
    ]
    assert out[3].startswith("  dates:       20") and out[3].endswith(" to 2099-12-31 23:59 (Asia/Ho_Chi_Minh)")
    assert [line.split() for line in out[14:]] == [
        ["4", "Phường", "Ba", "Đình", "0", "0", "4", "0%", "-", "0", "0"],
        ["70", "Phường", "Hoàn", "Kiếm", "6", "4", "4", "100%", "67%", "1", "1"],
        ["235", "Phường", "Đống", "Đa", "1", "1", "4", "25%", "100%", "0", "0"],
    ]
    unknown = cli("campaign", "show", "zzz")
    assert unknown.exit_code == 2
    assert (
        last_line(unknown.stderr)
        == "Error: Invalid value for 'CODE': no campaign with code 'zzz'; see 'khaosat campaign list'"
    )


def test_launch_and_overlapping_launch(env: str) -> None:
    publish()
    create("hn-2026", "70,235,4")
    create("hn-moi", "4,8,235,256")
    create("hn-xa", "9556")  # a commune elsewhere: no overlap
    launched = cli("campaign", "launch", "hn-2026")
    assert launched.exit_code == 0, launched.output
    assert launched.stdout == (
        "launched hn-2026 in 3 wards: taking answers until 2099-12-31 23:59 (Asia/Ho_Chi_Minh)\n"
        "links and posters: khaosat campaign links hn-2026 --channel web --qr posters-hn-2026\n"  # no Telegram bot
    )
    again = cli("campaign", "launch", "hn-2026")
    assert (again.exit_code, again.stderr) == (1, "Error: campaign 'hn-2026' is already active\n")
    c = get_campaign(env, "hn-2026")
    overlap = cli("campaign", "launch", "hn-moi")
    assert overlap.exit_code == 1
    starts = c.starts_at.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m-%d %H:%M")
    assert overlap.stderr == (
        f"Error: campaign 'hn-moi' overlaps active campaign 'hn-2026' ({starts} to 2099-12-31 23:59) in 2 wards: "
        "Phường Ba Đình (4), Phường Đống Đa (235); close 'hn-2026' first ('khaosat campaign close hn-2026'), "
        "launch it anyway with --allow-overlap, or create the campaign again with other wards or dates\n"
    )
    assert get_campaign(env, "hn-moi").status == "draft"
    assert cli("campaign", "launch", "hn-xa").exit_code == 0
    unknown = cli("campaign", "launch", "zzz")
    assert unknown.exit_code == 2
    assert (
        last_line(unknown.stderr)
        == "Error: Invalid value for 'CODE': no campaign with code 'zzz'; see 'khaosat campaign list'"
    )
    launches = [(o, args.get("error", "")[:40]) for a, o, args in audit_rows(env) if a == "campaign.launch"]
    assert launches == [
        ("ok", ""),
        ("error", "campaign 'hn-2026' is already active"),
        ("error", "campaign 'hn-moi' overlaps active campai"),
        ("ok", ""),
        ("error", "Invalid value for 'CODE': no campaign wi"),
    ]


def test_launch_refuses_more_than_three_shared_wards_by_name(env: str) -> None:
    publish()
    create("hn-a", "all")
    create("hn-b", "4,8,25,70,73")
    assert cli("campaign", "launch", "hn-a").exit_code == 0
    result = cli("campaign", "launch", "hn-b")
    assert result.exit_code == 1
    assert "in 5 wards: Phường Ba Đình (4), Phường Ngọc Hà (8), Phường Giảng Võ (25) and 2 more;" in result.stderr


def test_close_with_confirmation(env: str) -> None:
    publish()
    create("hn-2026", "70,235")
    assert cli("campaign", "launch", "hn-2026").exit_code == 0
    c = get_campaign(env, "hn-2026")
    now = datetime.now(UTC)

    async def fill(db: Database) -> None:
        async with db.write() as conn:
            done = await add_response(conn, c.id, 70, {"overall_satisfaction": 4}, started_at=now)
            busy = await add_response(conn, c.id, 235, {"age_group": "30_44"}, status="in_progress", started_at=now)
            for response_id in (done, busy):
                rid = (
                    await conn.execute(sa.select(response.c.respondent_id).where(response.c.id == response_id))
                ).scalar()
                await conn.execute(
                    channel_address.insert().values(
                        respondent_id=rid, channel="telegram", address=str(1000 + response_id), updated_at=now
                    )
                )

    arun(env, fill)
    declined = cli("campaign", "close", "hn-2026", input="n\n")
    assert declined.exit_code == 1
    assert declined.stdout.startswith(
        "Close campaign hn-2026 (Khảo sát sự hài lòng của người dân với chính quyền phường, xã)? 1 response(s) in "
        "progress will become abandoned and its respondents' chat addresses will be deleted. This cannot be undone. "
        "[y/N]: "
    )
    assert declined.stderr == "Aborted!\n"
    assert get_campaign(env, "hn-2026").status == "active"
    no_input = cli("campaign", "close", "hn-2026")
    assert no_input.exit_code == 1 and get_campaign(env, "hn-2026").status == "active"

    closed = cli("campaign", "close", "hn-2026", input="y\n")
    assert closed.exit_code == 0, closed.output
    assert closed.stdout.endswith(
        "closed hn-2026: 1 in-progress response(s) marked abandoned, 2 chat address(es) deleted\n"
    )

    async def check(db: Database) -> tuple[list[str], int, int]:
        async with db.read() as conn:
            statuses = sorted((await conn.execute(sa.select(response.c.status))).scalars())
            addresses = (await conn.execute(sa.select(sa.func.count()).select_from(channel_address))).scalar_one()
            people = (await conn.execute(sa.select(sa.func.count()).select_from(respondent))).scalar_one()
        return statuses, addresses, people

    assert arun(env, check) == (["abandoned", "completed"], 0, 2)
    assert get_campaign(env, "hn-2026").status == "closed"
    again = cli("campaign", "close", "hn-2026", "--yes")
    assert (again.exit_code, again.stderr) == (1, "Error: campaign 'hn-2026' is already closed\n")
    unknown = cli("campaign", "close", "zzz", "--yes")
    assert unknown.exit_code == 2
    closes = [(o, args.get("abandoned")) for a, o, args in audit_rows(env) if a == "campaign.close"]
    assert closes == [("ok", 1), ("error", None), ("error", None)]  # declining is not an action


def test_a_date_alone_for_ends_is_the_last_second_of_that_day_in_the_campaigns_zone() -> None:
    from zoneinfo import ZoneInfo

    from bot.commands.ops import local, parse_when

    ends = parse_when("2026-12-31", "Asia/Ho_Chi_Minh", end_of_day=True)
    assert ends == datetime(2026, 12, 31, 23, 59, 59, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    assert local(ends, "Asia/Ho_Chi_Minh") == "2026-12-31 23:59"  # never "2027-01-01 00:00"
    assert parse_when("2026-12-31", "Asia/Ho_Chi_Minh") == datetime(2026, 12, 31, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
