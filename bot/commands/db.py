"""`khaosat db ...`: the database schema."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from bot.commands.common import ensure_schema, run

if TYPE_CHECKING:
    from bot.settings import Settings
    from storage.db import Database


@click.group()
def db() -> None:
    """Database: create or upgrade the schema, show its revision."""


@db.command()
def upgrade() -> None:
    """Apply every migration (and seed the province's wards on a new database).

    \b
    Examples:
      khaosat db upgrade
      DATABASE_URL=postgresql://postgres@127.0.0.1/khaosat khaosat db upgrade
    """

    async def main(database: Database, cfg: Settings) -> None:
        from bot.commands.ops import Audit
        from storage import migrate

        before = await migrate.current_revision(database)
        head = await ensure_schema(database, cfg, auto=False)
        async with database.write() as conn:  # the audit table exists now (a new database has just been made)
            await Audit("db.upgrade", {"from": before, "to": head}).record(conn)
        click.echo(f"database at revision {head} ({database.dialect})")

    run(main)


@db.command()
def status() -> None:
    """Show the database's revision and the revision this version of khaosat needs."""

    async def main(database: Database, cfg: Settings) -> None:
        from storage import migrate

        current = await migrate.current_revision(database)
        head = migrate.head_revision()
        state = "up to date" if current == head else "behind: run 'khaosat db upgrade'"
        click.echo(f"{database.dialect}: revision {current or 'none'}; latest {head} ({state})")

    run(main)
