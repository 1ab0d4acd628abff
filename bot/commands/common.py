"""Helpers shared by commands: settings, the database, running async code, clear errors."""

from __future__ import annotations

import asyncio
import os
import select
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar, TypeVarTuple

import click

if TYPE_CHECKING:
    from bot.settings import Settings
    from storage.db import Database

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

PIPE_CLOSED = 141
"""The exit status when the reader of our output went away (`| head`): 128 + SIGPIPE, what the shell reports
for cat, grep or ls killed by SIGPIPE in the same place, so `set -o pipefail` scripts see what they see for
them (and neither a success that printed less than asked, nor an error without a message)."""


def output_closed() -> bool:
    """Whether stdout is a pipe or socket whose reader has gone (so a BrokenPipeError came from our output,
    not from a database connection). False when stdout is not a real file (tests capturing it)."""
    try:
        fd = sys.__stdout__.fileno() if sys.__stdout__ is not None else -1
    except (OSError, ValueError):
        return False
    if fd < 0:
        return False
    poller = select.poll()
    poller.register(fd, 0)  # POLLERR and POLLHUP are always reported
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def quiet_exit_on_closed_output(ctx: click.Context) -> None:
    """End the command for a closed stdout: nothing more is written (stdout now goes to /dev/null, so the
    interpreter's last flush cannot fail either) and the exit status is PIPE_CLOSED."""
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), sys.__stdout__.fileno() if sys.__stdout__ is not None else 1)
    ctx.exit(PIPE_CLOSED)


def settings() -> Settings:
    from bot.settings import SettingsError, load_settings

    try:
        return load_settings()
    except SettingsError as e:
        raise click.ClickException(str(e)) from None


def run(fn: Callable[[Database, Settings, *Ts], Awaitable[T]], *args: *Ts) -> T:
    """Run an async function with a database opened from the settings, turning known errors into messages."""
    from storage.db import Database, UnsupportedDatabase

    cfg = settings()

    async def main() -> T:
        try:
            db = Database(cfg.database_url)
        except UnsupportedDatabase as e:
            raise click.ClickException(f"DATABASE_URL: {e}") from None
        try:
            return await fn(db, cfg, *args)
        except BrokenPipeError as e:
            if output_closed():
                raise  # the reader went away ("| head"): the CLI ends quietly (bot.cli)
            raise click.ClickException(f"cannot reach the database ({cfg.database_url.split('@')[-1]}): {e}") from None
        except OSError as e:
            raise click.ClickException(f"cannot reach the database ({cfg.database_url.split('@')[-1]}): {e}") from None
        finally:
            await db.dispose()

    return asyncio.run(main())


async def ensure_schema(db: Database, cfg: Settings, *, auto: bool) -> str:
    """`storage.migrate.prepare` with its refusal turned into a CLI error."""
    from storage import migrate

    try:
        return await migrate.prepare(db, cfg.province, auto=auto)
    except migrate.SchemaBehind as e:
        raise click.ClickException(str(e)) from None
