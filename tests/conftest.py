"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, a controllable clock, a live campaign.

PostgreSQL tests use a database created for this test run (dropped at the end) on
KHAOSAT_TEST_PG_SERVER (default postgresql://postgres@127.0.0.1:5432/postgres). With CI=true they must run;
elsewhere they skip with a one-line reason when no server answers.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

PG_SERVER = os.environ.get("KHAOSAT_TEST_PG_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres")
HANOI_SAMPLE_WARDS = [70, 235, 4, 8, 73, 256]  # Hoàn Kiếm, Đống Đa, Ba Đình, Ngọc Hà, Cửa Nam, Hai Bà Trưng


def _pg_dsn(database: str) -> str:
    base, _, _ = PG_SERVER.rpartition("/")
    return f"{base}/{database}"


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_SERVER, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _pg_available() -> str | None:
    try:
        asyncio.run(_pg_admin("SELECT 1"))
    except Exception as e:  # any failure: not available
        return f"{type(e).__name__}: {e}"
    return None


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    problem = _pg_available()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI=true but PostgreSQL is not reachable at {PG_SERVER}: {problem}")
        pytest.skip(f"PostgreSQL not reachable at {PG_SERVER} ({problem})")
    yield PG_SERVER


class PgDatabases:
    """Creates throw-away databases on the test server and drops them at the end of the run."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def create(self, label: str = "t") -> str:
        name = f"khaosat_test_{label}_{os.getpid()}_{secrets.token_hex(3)}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return "postgresql+asyncpg://" + _pg_dsn(name).split("://", 1)[1]

    def drop_all(self) -> None:
        for name in self.created:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_databases(pg_server: str) -> Iterator[PgDatabases]:
    dbs = PgDatabases()
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session")
def pg_url(pg_databases: PgDatabases) -> str:
    """A database for this test run, migrated once; tests clean its tables."""
    from storage import migrate
    from storage.db import Database

    url = pg_databases.create("main")

    async def setup() -> None:
        db = Database(url)
        await migrate.upgrade(db)
        await db.dispose()

    asyncio.run(setup())
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'khaosat.db'}"
    return str(request.getfixturevalue("pg_url"))


KEEP_TABLES = {"alembic_version", "admin_unit"}


async def clean_database(db: object) -> None:
    import sqlalchemy as sa

    from storage.models import METADATA

    names = [t.name for t in METADATA.sorted_tables if t.name not in KEEP_TABLES]
    async with db.write() as conn:  # type: ignore[attr-defined]
        if conn.dialect.name == "postgresql":
            await conn.execute(sa.text("TRUNCATE " + ", ".join(names) + " CASCADE"))
        else:
            for name in reversed(names):
                await conn.execute(sa.text(f"DELETE FROM {name}"))


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[object]:
    from storage import migrate
    from storage.db import Database
    from storage.repo import wards

    database = Database(db_url)
    if database.is_sqlite:
        await migrate.upgrade(database)
    else:
        await clean_database(database)
    async with database.write() as conn:
        if await wards.count(conn, 1) == 0:
            await wards.import_province(conn, 1)
    yield database
    await database.dispose()


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 26, 3, 0, tzinfo=UTC))  # 10:00 in Hà Nội


async def create_live_campaign(
    database: object,
    now: datetime,
    code: str = "hn-2026",
    wards: list[int] | None = None,
    title: str = "Khảo sát Hà Nội 2026",
    days: int = 30,
    allow_overlap: bool = False,
) -> object:
    """Publish the bundled survey and launch a campaign over some Hanoi wards."""
    from flows.loader import bundled_survey_path, load_survey
    from storage.repo import campaigns, surveys

    survey = load_survey(bundled_survey_path())
    async with database.write() as conn:  # type: ignore[attr-defined]
        record, _ = await surveys.publish(conn, survey, now)
        await campaigns.create(
            conn,
            code=code,
            survey_id=record.id,
            title=title,
            wards=wards or HANOI_SAMPLE_WARDS,
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=days),
            now=now,
        )
        return await campaigns.launch(conn, code, now, allow_overlap=allow_overlap)
