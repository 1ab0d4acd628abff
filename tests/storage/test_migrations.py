"""Alembic stairway: upgrade, downgrade and re-upgrade every revision, on SQLite and PostgreSQL; and the
tables the models describe are exactly what the migrations create."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.commands.common import ensure_schema
from bot.settings import Settings
from storage import migrate
from storage.db import Database
from storage.models import METADATA
from tests.conftest import PgDatabases


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'stairway.db'}"
    dbs: PgDatabases = request.getfixturevalue("pg_databases")
    return dbs.create("stairway")


async def tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))


async def test_stairway(fresh_url: str) -> None:
    db = Database(fresh_url)
    try:
        revisions = migrate.all_revisions()
        assert revisions, "no migrations"
        previous = "base"
        for rev in revisions:
            await migrate.upgrade(db, rev)
            assert await migrate.current_revision(db) == rev
            await migrate.downgrade(db, previous)
            assert await migrate.current_revision(db) == (None if previous == "base" else previous)
            await migrate.upgrade(db, rev)
            previous = rev
        assert await migrate.current_revision(db) == migrate.head_revision()
        assert {"answer", "response", "respondent", "processed_update", "outbox_message"} <= await tables(db)
        await migrate.downgrade(db, "base")
        assert await tables(db) <= {"alembic_version"}
    finally:
        await db.dispose()


async def test_models_match_migrations(fresh_url: str) -> None:
    db = Database(fresh_url)
    try:
        await migrate.upgrade(db)

        def diff(sync_conn: Any) -> list[Any]:
            ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
            return list(compare_metadata(ctx, METADATA))

        async with db.engine.connect() as conn:
            differences = await conn.run_sync(diff)
        assert differences == []
    finally:
        await db.dispose()


async def test_embedded_sqlite_migrates_itself_postgres_refuses(fresh_url: str, tmp_path: Path) -> None:
    db = Database(fresh_url)
    cfg = Settings(database_url=fresh_url, secret_file=tmp_path / "secret")
    try:
        if db.is_sqlite:
            await ensure_schema(db, cfg, auto=True)
            assert await migrate.current_revision(db) == migrate.head_revision()
        else:
            with pytest.raises(click.ClickException) as info:
                await ensure_schema(db, cfg, auto=True)
            assert info.value.message == (
                f"the database is at revision none (empty) but this version of khaosat needs "
                f"{migrate.head_revision()}; run 'khaosat db upgrade' first"
            )
            assert await migrate.current_revision(db) is None
            await ensure_schema(db, cfg, auto=False)  # what `khaosat db upgrade` does
            assert await migrate.current_revision(db) == migrate.head_revision()
        async with db.read() as conn:
            from storage.repo import wards

            assert await wards.count(conn, 1) == 126
    finally:
        await db.dispose()


async def test_queued_telegram_buttons_become_neutral_actions_and_back(fresh_url: str) -> None:
    """Reminders and invitations queued before 0004 keep what they offer: their Telegram buttons become
    intents (and the other way on a downgrade); messages already sent are left as they were."""
    from storage.outbox import Action, Outgoing

    db = Database(fresh_url)
    table = sa.table(
        "outbox_message",
        *(sa.column(name) for name in ("channel", "recipient", "recipient_kind", "kind", "dedupe_key", "status")),
        sa.column("payload", sa.JSON),
        sa.column("attempts", sa.Integer),
        sa.column("next_attempt_at", sa.DateTime),
        sa.column("created_at", sa.DateTime),
    )
    old = {
        "parse_mode": "HTML",
        "text": "Nhắc",
        "quiet_hours": {"start": "21:00", "end": "07:00", "tz": "Asia/Ho_Chi_Minh"},
        "buttons": [
            [{"text": "▶ Tiếp tục", "callback_data": "r:42"}],
            [{"text": "▶ Tham gia", "callback_data": "k:hn"}],
        ],
    }
    try:
        await migrate.upgrade(db, "0003_dashboard_logins")
        async with db.write() as conn:
            for key, status in (("pending", "pending"), ("sent", "sent")):
                await conn.execute(
                    table.insert().values(
                        channel="telegram", recipient="1", recipient_kind="private", kind="reminder",
                        dedupe_key=key, status=status, payload=old, attempts=0,
                        next_attempt_at=sa.func.now(), created_at=sa.func.now(),
                    )
                )  # fmt: skip
        await migrate.upgrade(db, "0004_outbox_actions")

        async def payloads() -> dict[str, Any]:
            async with db.read() as conn:
                rows = (await conn.execute(sa.select(table.c.dedupe_key, table.c.payload))).all()
            return {key: payload for key, payload in rows}

        found = await payloads()
        assert found["sent"] == old
        assert Outgoing.from_payload(found["pending"]) == Outgoing(
            text="Nhắc",
            actions=(Action("resume", "▶ Tiếp tục", response_id=42), Action("join", "▶ Tham gia", campaign_code="hn")),
        )
        assert found["pending"]["quiet_hours"] == old["quiet_hours"]
        await migrate.downgrade(db, "0003_dashboard_logins")
        assert (await payloads())["pending"] == old
    finally:
        await db.dispose()


async def test_telegram_chats_become_channel_and_address_and_back(fresh_url: str) -> None:
    """0008: a subscribed Telegram group keeps its subscription as (telegram, "-100...") and its spent code
    remembers it as text; a Zalo chat's string id fits; going back restores the integer ids (Zalo's go)."""
    db = Database(fresh_url)
    chat = sa.table(
        "official_chat",
        *(sa.column(n) for n in ("chat_id", "title", "schedule", "language", "active", "subscribed_by")),
        sa.column("subscribed_at", sa.DateTime),
    )
    code = sa.table(
        "subscription_code",
        *(sa.column(n) for n in ("code", "schedule", "language", "used_by_chat")),
        *(sa.column(n, sa.DateTime) for n in ("created_at", "expires_at", "used_at")),
    )
    try:
        await migrate.upgrade(db, "0007_departments_dimensions")
        async with db.write() as conn:
            await conn.execute(
                chat.insert().values(
                    chat_id=-1001234567890, title="UBND", schedule="daily 08:00", language="vi", active=True,
                    subscribed_by=42, subscribed_at=sa.func.now(),
                )
            )  # fmt: skip
            await conn.execute(
                code.insert().values(
                    code="K7QPM2XD", schedule="daily 08:00", language="vi", used_by_chat=-1001234567890,
                    created_at=sa.func.now(), expires_at=sa.func.now(), used_at=sa.func.now(),
                )
            )  # fmt: skip
        await migrate.upgrade(db, "0009_zalo_chats")
        async with db.write() as conn:
            rows = (await conn.execute(sa.text("SELECT channel, address, subscribed_by FROM official_chat"))).all()
            assert [tuple(r) for r in rows] == [("telegram", "-1001234567890", "42")]
            used = (await conn.execute(sa.text("SELECT used_by_channel, used_by_chat FROM subscription_code"))).one()
            assert tuple(used) == ("telegram", "-1001234567890")
            await conn.execute(
                sa.text(
                    "INSERT INTO official_chat (channel, address, title, schedule, language, active, subscribed_at)"
                    " VALUES ('zalo', 'a1b2c3d4e5', 'Zalo', 'daily 08:00', 'vi', true, CURRENT_TIMESTAMP)"
                )
            )
            with pytest.raises(sa.exc.IntegrityError):
                async with conn.begin_nested():
                    await conn.execute(
                        sa.text(
                            "INSERT INTO official_chat (channel, address, title, schedule, language, active,"
                            " subscribed_at) VALUES ('telegram', '-1001234567890', '', 'daily 08:00', 'vi', true,"
                            " CURRENT_TIMESTAMP)"
                        )
                    )
        await migrate.downgrade(db, "0007_departments_dimensions")
        async with db.read() as conn:
            rows = (await conn.execute(sa.text("SELECT chat_id, subscribed_by FROM official_chat"))).all()
            assert [tuple(r) for r in rows] == [(-1001234567890, 42)]
            assert (await conn.execute(sa.text("SELECT used_by_chat FROM subscription_code"))).scalar_one() == (
                -1001234567890
            )
    finally:
        await db.dispose()
