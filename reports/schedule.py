"""Digest schedules: "daily 08:00", "weekly mon 08:00" or a five-field cron expression, in the TZ time zone.

A digest covers the period between two fire times: the one due at fire time F covers [previous fire, F).
The scheduler's minute tick asks, for each chat, for the latest fire time not after now (`last_fire`); a
digest not yet queued for it is built then (so one missed while the scheduler was down is sent late, once,
and older missed ones are not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from flows.i18n import Section

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
t = Section("schedule")
_FULL_DAYS = {t(f"day_{short}", "en").lower(): short for short in DAYS}
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
MIN_INTERVAL = timedelta(hours=1)
_LOOKBACK_LIMIT = timedelta(days=800)


class ScheduleError(ValueError):
    """A schedule that cannot be used; the message says what to write instead."""


@dataclass(frozen=True)
class Schedule:
    text: str
    """The normalised spelling, as stored: "daily 08:00", "weekly mon 08:00" or the cron expression."""
    kind: str  # daily | weekly | cron
    hour: int = 0
    minute: int = 0
    day: int = 0  # 0 = Monday (weekly)

    def trigger(self, tz: ZoneInfo) -> CronTrigger:
        if self.kind == "daily":
            return CronTrigger(hour=self.hour, minute=self.minute, second=0, timezone=tz)
        if self.kind == "weekly":
            return CronTrigger(day_of_week=DAYS[self.day], hour=self.hour, minute=self.minute, second=0, timezone=tz)
        return CronTrigger.from_crontab(_standard_weekdays(self.text), timezone=tz)

    def next_fire(self, after: datetime, tz: ZoneInfo) -> datetime:
        """The first fire time strictly after `after`."""
        fire = self.trigger(tz).get_next_fire_time(None, after + timedelta(seconds=1))
        if fire is None:  # pragma: no cover - our triggers never end
            raise ScheduleError(f"schedule {self.text!r} never fires")
        return _second(fire)

    def last_fire(self, at: datetime, tz: ZoneInfo) -> datetime | None:
        """The latest fire time not after `at` (None if it never fired in the last two years)."""
        at = _second(at)
        trigger = self.trigger(tz)
        span = timedelta(hours=1)
        while span <= _LOOKBACK_LIMIT:
            found = None
            fire = trigger.get_next_fire_time(None, at - span)
            while fire is not None and fire <= at:
                found = fire
                fire = trigger.get_next_fire_time(None, fire + timedelta(seconds=1))
            if found is not None:
                return _second(found)
            span *= 2
        return None

    def previous_fire(self, fire: datetime, tz: ZoneInfo) -> datetime:
        """The fire time before `fire` (the start of the period that `fire` ends)."""
        found = self.last_fire(fire - timedelta(seconds=1), tz)
        if found is None:  # pragma: no cover - a valid schedule fires at least every year
            raise ScheduleError(f"schedule {self.text!r} has no fire time before {fire}")
        return found

    def describe(self, lang: str) -> str:
        at = f"{self.hour:02d}:{self.minute:02d}"
        if self.kind == "daily":
            return t("daily", lang, at=at)
        if self.kind == "weekly":
            return t("weekly", lang, day=t(f"day_{DAYS[self.day]}", lang), at=at)
        return t("cron", lang, text=self.text)


_DOW_TOKEN = re.compile(r"^(\*|(\d)(?:-(\d))?)(?:/(\d+))?$")


def _standard_weekdays(expression: str) -> str:
    """Cron numbers days of the week 0-7 from Sunday (0 and 7), but APScheduler 3 numbers them from Monday:
    "0 8 * * 1" must fire on Mondays. Numeric day-of-week fields are rewritten with day names."""
    fields = expression.split()
    if len(fields) != 5 or not any(ch.isdigit() for ch in fields[4]):
        return expression
    days: set[int] = set()
    for token in fields[4].split(","):
        match = _DOW_TOKEN.match(token)
        if match is None:
            raise ValueError(f"cannot read day of week {token!r} (use 0-7 or mon..sun)")
        star, first, last, step = match.groups()
        low, high = (0, 6) if star == "*" else (int(first), int(last) if last is not None else int(first))
        if not (0 <= low <= 7 and 0 <= high <= 7 and low <= high):
            raise ValueError(f"day of week {token!r} out of range 0-7")
        if step is not None and int(step) < 1:
            raise ValueError(f"step of {token!r} must be at least 1")
        if step is not None and star != "*" and last is None:
            high = 7  # "5/2": from Friday on, every second day
        days.update(range(low, high + 1, int(step) if step else 1))
    names = [("sun", "mon", "tue", "wed", "thu", "fri", "sat")[d % 7] for d in sorted(days)]
    fields[4] = ",".join(dict.fromkeys(names))
    return " ".join(fields)


def _second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def _hhmm(text: str, original: str) -> tuple[int, int]:
    match = _TIME.match(text)
    if match is None:
        raise ScheduleError(f"invalid time {text!r} in schedule {original!r}: use HH:MM, e.g. 08:00")
    return int(match.group(1)), int(match.group(2))


USAGE = 'use "daily HH:MM", "weekly DAY HH:MM" (DAY: mon..sun) or a cron expression such as "0 8 * * 1"'


def parse_schedule(text: str) -> Schedule:
    """Parse and check a schedule; raises ScheduleError with what to write instead."""
    original = text
    words = text.strip().split()
    if not words:
        raise ScheduleError(f"empty schedule: {USAGE}")
    head = words[0].lower()
    if head == "daily":
        if len(words) != 2:
            raise ScheduleError(f"invalid schedule {original!r}: {USAGE}")
        hour, minute = _hhmm(words[1], original)
        return Schedule(f"daily {hour:02d}:{minute:02d}", "daily", hour, minute)
    if head == "weekly":
        if len(words) != 3:
            raise ScheduleError(f"invalid schedule {original!r}: {USAGE}")
        day = words[1].lower()
        day = _FULL_DAYS.get(day, day[:3] if day[:3] in DAYS and len(day) == 3 else day)
        if day not in DAYS:
            raise ScheduleError(f"unknown day {words[1]!r} in schedule {original!r}: use one of {', '.join(DAYS)}")
        hour, minute = _hhmm(words[2], original)
        return Schedule(f"weekly {day} {hour:02d}:{minute:02d}", "weekly", hour, minute, DAYS.index(day))
    if len(words) != 5:
        raise ScheduleError(f"invalid schedule {original!r}: {USAGE}")
    expression = " ".join(words)
    try:
        trigger = CronTrigger.from_crontab(_standard_weekdays(expression), timezone=ZoneInfo("UTC"))
    except ValueError as e:
        raise ScheduleError(f"invalid cron expression {expression!r} ({e}): {USAGE}") from None
    schedule = Schedule(expression, "cron")
    # A digest more often than hourly would flood a group (Telegram allows 20 messages a minute per group).
    probe = datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC"))
    fire = trigger.get_next_fire_time(None, probe)
    for _ in range(48):
        if fire is None:
            break
        following = trigger.get_next_fire_time(None, fire + timedelta(seconds=1))
        if following is not None and following - fire < MIN_INTERVAL:
            raise ScheduleError(f"schedule {expression!r} fires more than once an hour; digests go out at most hourly")
        fire = following
    return schedule
