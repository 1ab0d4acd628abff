"""Reminders per campaign from the CLI (`--remind`, `--no-remind`, `--quiet-hours` on create and edit), the
`campaign edit` command, and `launch --allow-overlap`, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage.records import ReminderPolicy, format_delay
from tests.operators.helpers import SURVEY, audit_rows, cli, create, get_campaign, last_line, publish


def test_operators_set_reminders_and_quiet_hours_when_creating_a_campaign(env: str) -> None:
    publish()
    created = cli(
        "campaign", "create", "--code", "hn-2026", "--survey", SURVEY, "--wards", "70", "--ends", "2099-12-31",
        "--remind", "30m,12h,2d", "--quiet-hours", "20:00-08:00",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "  reminders: after 30m, 12h and 48h without an answer, none 20:00-08:00 (Asia/Ho_Chi_Minh)\n" in (
        created.stdout
    )
    policy = get_campaign(env, "hn-2026").reminder_policy
    assert policy == ReminderPolicy(delays_hours=(0.5, 12.0, 48.0), max_count=3, quiet_start="20:00", quiet_end="08:00")
    shown = cli("campaign", "show", "hn-2026").stdout
    assert "  reminders:   after 30m, 12h and 48h without an answer, none 20:00-08:00 (Asia/Ho_Chi_Minh)\n" in shown

    create("hn-yen", "235", "--no-remind", "--quiet-hours", "off")
    quiet = get_campaign(env, "hn-yen").reminder_policy
    assert (quiet.max_count, quiet.delays_hours, quiet.has_quiet_hours) == (0, (), False)
    assert "  reminders:   none\n" in cli("campaign", "show", "hn-yen").stdout


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--remind", "24"], "Invalid value for '--remind': '24' is not a delay: write a number and a unit, m "
         "(minutes), h (hours) or d (days), e.g. 30m, 24h, 3d"),
        (["--remind", "72h,24h"], "Invalid value for '--remind': the delays must rise, each counted from the last "
         "answer: '24h' comes after '72h' (e.g. 24h,72h)"),
        (["--remind", "5m"], "Invalid value for '--remind': '5m' is too soon: a reminder comes at least 10m after "
         "an answer"),
        (["--remind", "90d"], "Invalid value for '--remind': '90d' is too late: at most 60d after the last answer"),
        (["--remind", ","], "Invalid value for '--remind': give the delays after the last answer, e.g. 24h,72h "
         "(or --no-remind)"),
        (["--remind", "24h", "--no-remind"], "give --remind DELAYS or --no-remind, not both"),
        (["--quiet-hours", "21-7"], "Invalid value for '--quiet-hours': '21-7': write the quiet hours as "
         "HH:MM-HH:MM, e.g. 21:00-07:00 (or 'off')"),
        (["--quiet-hours", "25:00-07:00"], "Invalid value for '--quiet-hours': '25:00-07:00': 25:00 is not a time "
         "of day (00:00-23:59)"),
        (["--quiet-hours", "07:00-07:00"], "Invalid value for '--quiet-hours': '07:00-07:00': the quiet hours start "
         "and end at the same time; for none, say 'off'"),
    ],
)  # fmt: skip
def test_bad_reminder_values_are_refused_with_what_to_write(env: str, options: list[str], message: str) -> None:
    publish()
    result = cli("campaign", "create", "--code", "hn-2026", "--survey", SURVEY, "--wards", "70", *options)
    assert result.exit_code == 2, result.output
    assert last_line(result.stderr) == f"Error: {message}"
    edited = cli("campaign", "edit", "hn-2026", *options)  # edit checks the same way (the campaign is unknown)
    assert edited.exit_code == 2 and last_line(edited.stderr) == f"Error: {message}"


def test_campaign_edit_changes_reminders_dates_and_target_of_a_campaign_not_closed(env: str) -> None:
    publish()
    create("hn-2026", "70,235")
    edited = cli("campaign", "edit", "hn-2026", "--ends", "2099-06-30", "--target", "50", "--title", "Khảo sát mới")
    assert edited.exit_code == 0, edited.output
    assert edited.stdout.startswith("updated campaign hn-2026 (draft): Khảo sát mới\n")
    assert " to 2099-06-30 23:59 (Asia/Ho_Chi_Minh)\n" in edited.stdout
    c = get_campaign(env, "hn-2026")
    assert (c.title, c.target_per_ward, c.ends_at) == (
        "Khảo sát mới",
        50,
        datetime(2099, 6, 30, 16, 59, 59, tzinfo=UTC),
    )

    assert cli("campaign", "launch", "hn-2026").exit_code == 0
    reminded = cli("campaign", "edit", "hn-2026", "--remind", "1d,3d", "--invite")
    assert reminded.exit_code == 0, reminded.output
    assert "  reminders:   after 24h and 72h without an answer, none 21:00-07:00 (Asia/Ho_Chi_Minh)\n" in (
        reminded.stdout
    )
    assert "  invitations: yes, when it opens\n" in reminded.stdout
    policy = get_campaign(env, "hn-2026").reminder_policy
    assert (policy.delays_hours, policy.invite, policy.quiet_start) == ((24.0, 72.0), True, "21:00")
    assert cli("campaign", "edit", "hn-2026", "--no-remind").exit_code == 0
    assert not get_campaign(env, "hn-2026").reminder_policy.reminds

    started = cli("campaign", "edit", "hn-2026", "--starts", "2099-01-01")
    assert (started.exit_code, started.stderr) == (
        1,
        "Error: campaign 'hn-2026' is already active: its start can no longer be changed\n",
    )
    nothing = cli("campaign", "edit", "hn-2026")
    assert nothing.exit_code == 2 and last_line(nothing.stderr).startswith("Error: nothing to change: give at least")
    past = cli("campaign", "edit", "hn-2026", "--ends", "2020-01-31")
    assert (past.exit_code, last_line(past.stderr)) == (
        2,
        "Error: Invalid value for '--ends': 2020-01-31 23:59 is in the past",
    )
    assert cli("campaign", "close", "hn-2026", "--yes").exit_code == 0
    closed = cli("campaign", "edit", "hn-2026", "--target", "9")
    assert (closed.exit_code, closed.stderr) == (
        1,
        "Error: campaign 'hn-2026' is closed: it can no longer be changed\n",
    )
    edits = [
        (outcome, arguments.get("target"))
        for action, outcome, arguments in audit_rows(env)
        if action == "campaign.edit"
    ]
    assert edits == [("ok", 50), ("ok", None), ("ok", None), ("error", None), ("error", 9)]  # typos: no row


def test_a_later_end_must_not_run_into_another_active_campaign(env: str) -> None:
    publish()
    create("hn-a", "70", "--ends", "2099-03-31")
    cli("campaign", "edit", "hn-a", "--ends", "2099-01-31")
    assert cli("campaign", "launch", "hn-a").exit_code == 0
    create("hn-b", "70")
    assert cli("campaign", "edit", "hn-b", "--starts", "2099-02-01").exit_code == 0
    assert cli("campaign", "launch", "hn-b").exit_code == 0
    longer = cli("campaign", "edit", "hn-a", "--ends", "2099-03-31")
    assert longer.exit_code == 1
    assert "overlaps active campaign 'hn-b'" in longer.stderr and "or choose an earlier end" in longer.stderr


def test_launch_with_allow_overlap_launches_beside_another_active_campaign(
    env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish()
    create("hn-2026", "70,235")
    create("hn-bo-sung", "235")
    assert cli("campaign", "launch", "hn-2026").exit_code == 0
    refused = cli("campaign", "launch", "hn-bo-sung")
    assert refused.exit_code == 1 and "launch it anyway with --allow-overlap" in refused.stderr
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "khaosat_hanoi_bot")
    allowed = cli("campaign", "launch", "hn-bo-sung", "--allow-overlap")
    assert allowed.exit_code == 0, allowed.output
    assert allowed.stdout.endswith("links and posters: khaosat campaign links hn-bo-sung --qr posters-hn-bo-sung\n")
    assert get_campaign(env, "hn-bo-sung").status == "active"


def test_delays_are_written_in_the_unit_people_use() -> None:
    assert [format_delay(h) for h in (0.5, 1.0, 24.0, 72.0, 168.0, 1.25)] == ["30m", "1h", "24h", "72h", "7d", "75m"]
