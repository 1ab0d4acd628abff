"""`khaosat audit`: what operators did, from the CLI and from Telegram."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from bot.commands.ops import audited

if TYPE_CHECKING:
    from bot.commands.ops import Audit
    from bot.settings import Settings
    from storage.db import Database


def _arguments(arguments: dict[str, object]) -> str:
    parts = []
    for key, value in arguments.items():
        if value is None:
            continue
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        parts.append(f"{key}={text}")
    return " ".join(parts)


@click.command()
@click.option("--since", default=None, metavar="WHEN", help="From this date or time (ISO), or this long ago: 24h, 7d.")
@click.option("--limit", type=click.IntRange(min=1), default=None, metavar="N", help="Only the N most recent entries.")
def audit(since: str | None, limit: int | None) -> None:
    """List the audit log, oldest first: time, who, action, outcome (ok, denied, error) and arguments.

    Who: "cli:<system user>" for the command line, "telegram:<user id>" for the bot.

    \b
    Examples:
      khaosat audit --since 7d
      khaosat audit --since 2026-12-01
      khaosat audit --limit 20
    """
    from bot.commands.common import settings
    from bot.commands.ops import parse_since, utc_now

    cfg = settings()
    start = None
    if since is not None:
        try:
            start = parse_since(since, cfg.tz, utc_now())
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="'--since'") from None

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        from bot.commands.ops import local
        from storage.repo import audit as repo

        async with db.read() as conn:
            entries = await repo.list_since(conn, start, limit=limit)
        if not entries:
            click.echo("no audit entries" + (f" since {local(start, cfg.tz)}" if start else ""))
            return
        for e in entries:
            click.echo(
                "\t".join(
                    (local(e.at, cfg.tz, "%Y-%m-%d %H:%M:%S"), e.actor, e.action, e.outcome, _arguments(e.arguments))
                )
            )

    audited("audit", {"since": since, "limit": limit}, body)
