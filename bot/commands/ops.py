"""What the operator commands share: the audit trail, dates in the TZ setting, terminal tables.

Kept free of heavy imports (the CLI's `--help` must stay fast): SQLAlchemy, rich and the repositories are
imported inside the functions.
"""

from __future__ import annotations

import getpass
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import click

from bot.commands.common import ensure_schema, run

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from bot.settings import Settings
    from storage.db import Database

T = TypeVar("T")


def actor() -> str:
    """Who runs the CLI, for the audit log: "cli:<system user>"."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in this environment (e.g. a container without /etc/passwd entry)
        user = "unknown"
    return f"cli:{user}"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Audit:
    """The audit row of one command. `record(conn)` writes it in the caller's transaction (with the change it
    describes); otherwise `audited` writes it after the command: "ok", or "error" with the message."""

    action: str
    arguments: dict[str, Any]
    now: datetime = field(default_factory=utc_now)
    recorded: bool = False

    async def record(self, conn: AsyncConnection, outcome: str = "ok") -> None:
        from storage.repo import audit

        await audit.record(conn, actor(), self.action, self.arguments, outcome, now=self.now)
        self.recorded = True


def audited(action: str, arguments: dict[str, Any], body: Callable[[Database, Settings, Audit], Awaitable[T]]) -> T:
    """Run an operator command with the database (schema made current, OPERATOR_IDS seeded) and its audit row."""

    async def main(db: Database, cfg: Settings) -> T:
        await prepare(db, cfg)
        log = Audit(action, dict(arguments))
        try:
            result = await body(db, cfg, log)
        except click.ClickException as e:
            log.arguments["error"] = e.format_message()
            await _record_alone(db, log, "error")
            raise
        except BrokenPipeError:  # the output was cut ("| head"), the change (if any) is made: record it
            if not log.recorded:
                await _record_alone(db, log, "ok")
            raise
        if not log.recorded:
            await _record_alone(db, log, "ok")
        return result

    return run(main)


async def _record_alone(db: Database, log: Audit, outcome: str) -> None:
    async with db.write() as conn:
        await log.record(conn, outcome)


async def prepare(db: Database, cfg: Settings) -> None:
    """The schema made current (SQLite automatically) and the operators of OPERATOR_IDS added."""
    from storage.repo import operators

    await ensure_schema(db, cfg, auto=True)
    ids = cfg.operator_id_list
    if ids:
        async with db.write() as conn:
            await operators.seed(conn, ids, utc_now())


# --- dates ---------------------------------------------------------------------------------------------------

DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
END_OF_DAY = time(23, 59, 59)
"""What `--ends 2026-12-31` means: the last second of that day in the campaign's time zone."""


def parse_when(text: str, tz: str, *, end_of_day: bool = False) -> datetime:
    """An ISO date or date-time; without an offset it is a time in `tz`. A date alone is the start of that day,
    or with `end_of_day` the end of it (23:59:59, so that it is shown as that day's 23:59, never as the next
    day's 00:00). Raises ValueError with a message for the operator."""
    value = text.strip()
    try:
        if DATE_ONLY.match(value):
            day = date.fromisoformat(value)
            return datetime.combine(day, END_OF_DAY if end_of_day else time(0, 0), ZoneInfo(tz))
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date or time; use ISO format, e.g. 2026-12-01 or 2026-12-01T08:00 "
            f"(a time without an offset is in {tz})"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz))
    return parsed


def parse_since(text: str, tz: str, now: datetime) -> datetime:
    """`--since`: an ISO date or date-time, or a duration back from now: 30m, 24h, 7d."""
    match = re.fullmatch(r"\s*(\d+)\s*([mhd])\s*", text)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        units = {"m": "minutes", "h": "hours", "d": "days"}
        try:
            return now - timedelta(**{units[unit]: amount})
        except OverflowError:
            raise ValueError(f"{text!r} reaches back further than dates go; use e.g. 24h, 7d or 365d") from None
    try:
        return parse_when(text, tz)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date, a time or a duration; use e.g. 2026-12-01, 2026-12-01T08:00, 24h or 7d"
        ) from None


def local(value: datetime | None, tz: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (UTC) time shown in a time zone; "-" for none."""
    if value is None:
        return "-"
    return value.astimezone(ZoneInfo(tz)).strftime(fmt)


def percent(x: float | None) -> str:
    """0.675 -> "68%" (halves up); "-" for none."""
    import math

    return "-" if x is None else f"{math.floor(x * 100 + 0.5)}%"


# --- output --------------------------------------------------------------------------------------------------


def print_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    title: str | None = None,
    right: Sequence[int] = (),
    footer: Sequence[Any] | None = None,
) -> None:
    """A table on stdout (rich, no colours when piped). Columns in `right` are right-aligned (numbers)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    stream = sys.stdout
    terminal = stream.isatty()
    console = Console(file=stream, width=None if terminal else 200, highlight=False, soft_wrap=False)
    table = Table(
        title=title,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        show_footer=footer is not None,
        title_justify="left",
    )
    for i, name in enumerate(columns):
        table.add_column(
            name,
            justify="right" if i in right else "left",
            footer="" if footer is None else str(footer[i]),
            overflow="fold",
        )
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    with console.capture() as captured:
        console.print(table)
    for line in captured.get().splitlines():
        click.echo(line.rstrip())


def first_lines(items: Sequence[str], shown: int = 5) -> str:
    """ "a, b, c and 4 more" """
    text = ", ".join(items[:shown])
    return text + (f" and {len(items) - shown} more" if len(items) > shown else "")
