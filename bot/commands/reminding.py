"""Reminder options of `khaosat campaign create` and `edit`: `--remind 24h,72h`, `--no-remind`,
`--quiet-hours 21:00-07:00`, read into a campaign's `ReminderPolicy` with a clear message for a bad value."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from storage.records import ReminderPolicy

F = TypeVar("F", bound=Callable[..., Any])

MAX_REMINDERS = 5
MIN_MINUTES = 10
MAX_DAYS = 60
_DELAY = re.compile(r"^(\d+(?:[.,]\d+)?)\s*(m|min|h|d)$")
_QUIET = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
_UNIT_HOURS = {"m": 1 / 60, "min": 1 / 60, "h": 1.0, "d": 24.0}


def parse_delays(text: str) -> tuple[float, ...]:
    """ "24h,72h" -> (24.0, 72.0): minutes (m), hours (h) or days (d) after the person's last answer, rising."""
    parts = [p.strip().lower() for p in text.split(",") if p.strip()]
    if not parts:
        raise click.BadParameter("give the delays after the last answer, e.g. 24h,72h (or --no-remind)")
    hours: list[float] = []
    for part in parts:
        match = _DELAY.match(part)
        if match is None:
            raise click.BadParameter(
                f"{part!r} is not a delay: write a number and a unit, m (minutes), h (hours) or d (days), e.g. "
                "30m, 24h, 3d"
            )
        value = float(match.group(1).replace(",", ".")) * _UNIT_HOURS[match.group(2)]
        if value * 60 < MIN_MINUTES - 1e-9:
            raise click.BadParameter(f"{part!r} is too soon: a reminder comes at least {MIN_MINUTES}m after an answer")
        if value > MAX_DAYS * 24:
            raise click.BadParameter(f"{part!r} is too late: at most {MAX_DAYS}d after the last answer")
        if hours and value <= hours[-1]:
            raise click.BadParameter(
                f"the delays must rise, each counted from the last answer: {part!r} comes after "
                f"{parts[len(hours) - 1]!r} (e.g. 24h,72h)"
            )
        hours.append(round(value, 4))
    if len(hours) > MAX_REMINDERS:
        raise click.BadParameter(f"at most {MAX_REMINDERS} reminders, not {len(hours)}")
    return tuple(hours)


def parse_quiet_hours(text: str) -> tuple[str, str]:
    """ "21:00-07:00" -> ("21:00", "07:00") (may wrap midnight); "off" or "none" -> no quiet hours."""
    value = text.strip().lower()
    if value in ("off", "none", "no"):
        return "00:00", "00:00"
    match = _QUIET.match(value)
    if match is None:
        raise click.BadParameter(f"{text!r}: write the quiet hours as HH:MM-HH:MM, e.g. 21:00-07:00 (or 'off')")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    for h, m in ((h1, m1), (h2, m2)):
        if h > 23 or m > 59:
            raise click.BadParameter(f"{text!r}: {h:02d}:{m:02d} is not a time of day (00:00-23:59)")
    start, end = f"{h1:02d}:{m1:02d}", f"{h2:02d}:{m2:02d}"
    if start == end:
        raise click.BadParameter(f"{text!r}: the quiet hours start and end at the same time; for none, say 'off'")
    return start, end


def options(f: F) -> F:
    """The reminder options, for `create` and `edit`."""
    f = click.option(
        "--quiet-hours",
        "quiet_hours",
        metavar="HH:MM-HH:MM",
        help="No reminders or invitations between these times (campaign time zone); 'off' for none. "
        "Default 21:00-07:00.",
    )(f)
    f = click.option("--no-remind", "no_remind", is_flag=True, help="Send no reminders at all.")(f)
    f = click.option(
        "--remind",
        "remind",
        metavar="DELAYS",
        help="Remind people who stopped part-way, after these delays since their last answer: m, h or d, "
        "comma-separated (default 24h,72h).",
    )(f)
    return f


def policy(
    base: ReminderPolicy, remind: str | None, no_remind: bool, quiet_hours: str | None, invite: bool | None
) -> ReminderPolicy | None:
    """`base` with the options given applied; None when none was given."""
    if remind is not None and no_remind:
        raise click.UsageError("give --remind DELAYS or --no-remind, not both")
    changed = base
    if remind is not None:
        try:
            delays = parse_delays(remind)
        except click.BadParameter as e:
            e.param_hint = "'--remind'"
            raise
        changed = replace(changed, delays_hours=delays, max_count=len(delays))
    if no_remind:
        changed = replace(changed, delays_hours=(), max_count=0)
    if quiet_hours is not None:
        try:
            start, end = parse_quiet_hours(quiet_hours)
        except click.BadParameter as e:
            e.param_hint = "'--quiet-hours'"
            raise
        changed = replace(changed, quiet_start=start, quiet_end=end)
    if invite is not None:
        changed = replace(changed, invite=invite)
    if remind is None and not no_remind and quiet_hours is None and invite is None:
        return None
    return changed


def describe(p: ReminderPolicy, timezone: str) -> str:
    """ "after 24h and 72h without an answer (at most 2), none 21:00-07:00 (Asia/Ho_Chi_Minh)" or "none"."""
    if not p.reminds:
        text = "none"
    else:
        delays = p.delays()
        listed = delays[0] if len(delays) == 1 else ", ".join(delays[:-1]) + " and " + delays[-1]
        text = f"after {listed} without an answer"
    quiet = f"none {p.quiet_start}-{p.quiet_end} ({timezone})" if p.has_quiet_hours else "no quiet hours"
    if p.reminds:
        return f"{text}, {quiet}"
    return text
