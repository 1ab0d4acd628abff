"""Digest schedules: parsing, fire times and the periods they define."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from reports.schedule import ScheduleError, parse_schedule

HN = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # Thursday 10:00 in Hà Nội


def local(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=HN)


@pytest.mark.parametrize(
    ("text", "normal", "last", "before", "following"),
    [
        ("daily 08:00", "daily 08:00", "2026-11-26 08:00", "2026-11-25 08:00", "2026-11-27 08:00"),
        ("Daily 7:05", "daily 07:05", "2026-11-26 07:05", "2026-11-25 07:05", "2026-11-27 07:05"),
        ("weekly mon 08:00", "weekly mon 08:00", "2026-11-23 08:00", "2026-11-16 08:00", "2026-11-30 08:00"),
        ("weekly Thursday 10:00", "weekly thu 10:00", "2026-11-26 10:00", "2026-11-19 10:00", "2026-12-03 10:00"),
        ("0 8 * * 1", "0 8 * * 1", "2026-11-23 08:00", "2026-11-16 08:00", "2026-11-30 08:00"),  # cron: 1 = Monday
        ("0 17 * * 0", "0 17 * * 0", "2026-11-22 17:00", "2026-11-15 17:00", "2026-11-29 17:00"),  # 0 = Sunday
        ("30 7 1 * *", "30 7 1 * *", "2026-11-01 07:30", "2026-10-01 07:30", "2026-12-01 07:30"),
        ("0 */6 * * *", "0 */6 * * *", "2026-11-26 06:00", "2026-11-26 00:00", "2026-11-26 12:00"),
    ],
)
def test_fire_times(text: str, normal: str, last: str, before: str, following: str) -> None:
    schedule = parse_schedule(text)
    assert schedule.text == normal
    fire = schedule.last_fire(NOW, HN)
    assert fire == local(last)
    assert schedule.previous_fire(fire, HN) == local(before)
    assert schedule.next_fire(NOW, HN) == local(following)


def test_a_fire_time_is_its_own_last_fire() -> None:
    schedule = parse_schedule("daily 10:00")
    assert schedule.last_fire(NOW, HN) == local("2026-11-26 10:00")
    assert schedule.next_fire(NOW, HN) == local("2026-11-27 10:00")


def test_descriptions() -> None:
    assert parse_schedule("daily 08:00").describe("vi") == "hằng ngày lúc 08:00"
    assert parse_schedule("weekly mon 08:00").describe("vi") == "thứ Hai hằng tuần lúc 08:00"
    assert parse_schedule("weekly sun 18:30").describe("en") == "every Sunday at 18:30"
    assert parse_schedule("0 8 * * 1-5").describe("en") == "on the cron schedule “0 8 * * 1-5”"


USAGE = 'use "daily HH:MM", "weekly DAY HH:MM" (DAY: mon..sun) or a cron expression such as "0 8 * * 1"'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", f"empty schedule: {USAGE}"),
        ("daily", f"invalid schedule 'daily': {USAGE}"),
        ("daily 24:00", "invalid time '24:00' in schedule 'daily 24:00': use HH:MM, e.g. 08:00"),
        (
            "weekly funday 08:00",
            "unknown day 'funday' in schedule 'weekly funday 08:00': use one of mon, tue, wed, thu, fri, sat, sun",
        ),
        ("0 8 * *", f"invalid schedule '0 8 * *': {USAGE}"),
        ("* 8 * * *", "schedule '* 8 * * *' fires more than once an hour; digests go out at most hourly"),
        ("0 8 * * 9", f"invalid cron expression '0 8 * * 9' (day of week '9' out of range 0-7): {USAGE}"),
    ],
)
def test_bad_schedules(text: str, message: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(text)
    assert str(caught.value) == message
