"""/metrics with METRICS_TOKEN: a bearer token is needed (401 without it); without the setting it stays open.
The SQLite database and its WAL and SHM files are created readable by their owner only."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import Application
from storage.db import Database
from tests.web.conftest import base_url, web_settings


async def test_metrics_wants_the_bearer_token_when_one_is_set(db: Any, db_url: str, tmp_path: Path) -> None:
    app = Application(web_settings(db_url, tmp_path, metrics_token="s3cret-token"))
    await app.start()
    try:
        url = base_url(app) + "/metrics"
        async with aiohttp.ClientSession() as session:
            for headers in (
                {},
                {"Authorization": "Bearer wrong"},
                {"Authorization": "Bearer s3cret-token-and-more"},
                {"Authorization": "Basic s3cret-token"},
                {"Authorization": "s3cret-token"},
                {"Authorization": "Bearer"},
            ):
                async with session.get(url, headers=headers) as r:
                    assert r.status == 401, headers
                    assert r.headers["WWW-Authenticate"].startswith("Bearer")
                    assert "khaosat_" not in await r.text()
            for value in ("Bearer s3cret-token", "bearer s3cret-token"):
                async with session.get(url, headers={"Authorization": value}) as r:
                    assert r.status == 200 and "khaosat_database_up 1.0" in await r.text()
            async with session.get(base_url(app) + "/healthz") as r:  # the health check needs no token
                assert r.status == 200
    finally:
        await app.stop()


async def test_metrics_is_open_without_a_token(web_app: Application) -> None:
    async with aiohttp.ClientSession() as session, session.get(base_url(web_app) + "/metrics") as r:
        assert r.status == 200 and "khaosat_database_up" in await r.text()


@pytest.mark.parametrize("umask", [0o022, 0o002])
async def test_a_new_sqlite_database_and_its_wal_are_private(tmp_path: Path, umask: int) -> None:
    from storage import migrate

    path = tmp_path / "khaosat.db"
    old = os.umask(umask)
    try:
        db = Database(f"sqlite+aiosqlite:///{path}")
        await migrate.upgrade(db)
        async with db.write() as conn:  # something in the WAL
            await conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        files = [path, path.with_name("khaosat.db-wal"), path.with_name("khaosat.db-shm")]
        modes = {f.name: stat.S_IMODE(os.stat(f).st_mode) for f in files if f.exists()}
        await db.dispose()
    finally:
        os.umask(old)
    assert {"khaosat.db", "khaosat.db-wal"} <= set(modes), modes
    assert all(mode == 0o600 for mode in modes.values()), {k: oct(v) for k, v in modes.items()}
