"""Schema migrations (Alembic), run programmatically on our async engine."""

from __future__ import annotations

from collections.abc import Callable

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from storage.db import Database


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "storage:migrations")
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def all_revisions() -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


async def current_revision(db: Database) -> str | None:
    def _current(sync_conn: Connection) -> str | None:
        return MigrationContext.configure(sync_conn).get_current_revision()

    async with db.engine.connect() as conn:
        return await conn.run_sync(_current)


async def _run(db: Database, fn: Callable[[Config, str], None], revision: str) -> None:
    cfg = alembic_config()

    def _apply(sync_conn: Connection) -> None:
        cfg.attributes["connection"] = sync_conn
        fn(cfg, revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(_apply)


async def upgrade(db: Database, revision: str = "head") -> None:
    await _run(db, command.upgrade, revision)


async def downgrade(db: Database, revision: str) -> None:
    await _run(db, command.downgrade, revision)


class SchemaBehind(RuntimeError):
    """PostgreSQL is behind the latest revision: an operator must upgrade it deliberately."""


async def prepare(db: Database, province: int, *, auto: bool) -> str:
    """Make the schema current and seed the province's wards on a new database. With `auto` (at start-up),
    SQLite (embedded, zero set-up) is migrated automatically and PostgreSQL behind the latest revision is
    refused with the command to run; without it (`khaosat db upgrade`), both are migrated."""
    from storage.repo import wards

    current = await current_revision(db)
    head = head_revision()
    if current != head:
        if auto and not db.is_sqlite:
            raise SchemaBehind(
                f"the database is at revision {current or 'none (empty)'} but this version of khaosat needs "
                f"{head}; run 'khaosat db upgrade' first"
            )
        await upgrade(db)
    async with db.write() as conn:
        if await wards.count(conn, province) == 0:
            await wards.import_province(conn, province)
    return head


async def revision_autogenerate(db: Database, message: str) -> None:  # pragma: no cover - developer tool
    cfg = alembic_config()

    def _gen(sync_conn: Connection) -> None:
        cfg.attributes["connection"] = sync_conn
        command.revision(cfg, message=message, autogenerate=True)

    async with db.engine.begin() as conn:
        await conn.run_sync(_gen)
