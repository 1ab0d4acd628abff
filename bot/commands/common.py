"""Helpers shared by commands: settings, the database, running async code, clear errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar, TypeVarTuple

import click

if TYPE_CHECKING:
    from bot.settings import Settings
    from storage.db import Database

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


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
        except BrokenPipeError:
            raise  # the reader went away ("| head"): click exits quietly, as Unix tools do
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
