"""The first start of `khaosat run` on a new database: the demo campaign, the dashboard admin and its one-time
password, once; never on a database that has a survey, a campaign or a dashboard user."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot import bootstrap
from bot.app import Application
from storage.repo import audit, campaigns, users
from storage.repo.sql import campaign, survey, web_user
from tests.web.conftest import web_settings
from tests.web.dashboard_support import Client, add_user
from web.auth import verify_password


async def counts(app: Application) -> tuple[int, int, int]:
    found = []
    async with app.db.read() as conn:
        for table in (survey, campaign, web_user):
            found.append(int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()))
    return found[0], found[1], found[2]


async def test_first_run_sets_up_a_new_database_once(
    db: Any, db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.bootstrap")
    settings = web_settings(db_url, tmp_path, public_url=None)
    app = Application(settings, first_run=True)
    await app.start()
    try:
        logged = [r.getMessage() for r in caplog.records if r.name == "bot.bootstrap"]
        assert all(r.levelno == logging.WARNING for r in caplog.records if r.name == "bot.bootstrap")
        text = "\n".join(logged)
        assert f"web survey: http://127.0.0.1:{app.web_port}/s/demo" in text
        assert f"dashboard: http://127.0.0.1:{app.web_port}/dashboard/" in text
        match = re.search(r"user: admin  password: (\S+)", text)
        assert match, text
        password = match.group(1)
        assert len(password) >= 16
        async with app.db.read() as conn:
            demo = await campaigns.get(conn, "demo")
            admin = await users.get(conn, "admin")
            rows = await audit.list_since(conn)
        assert demo.status == "active" and len(demo.ward_codes) == 126  # every ward and commune of Hà Nội
        assert demo.simulated
        now = datetime.now(UTC)
        assert 29.9 < (demo.ends_at - now).total_seconds() / 86400 < 30.1  # open for the next 30 days
        assert 13.9 < (now - demo.starts_at).total_seconds() / 86400 < 14.1  # after two simulated weeks
        assert admin is not None and admin.role == "operator" and admin.scope is None
        assert admin.password_hash.startswith("$argon2id$") and password not in admin.password_hash
        assert verify_password(admin.password_hash, password)
        assert [(r.actor, r.action) for r in rows] == [("system:first-run", "bootstrap")]
        assert rows[0].arguments["simulated_responses"] == bootstrap.DEMO_RESPONSES
        async with Client(app) as client:
            assert (await client.login("admin", password)).status == 303
            page = await client.get("/dashboard/campaigns/demo")
            assert page.status == 200 and "Khảo sát thử – Thành phố Hà Nội (demo)" in page.text
            # figures at once, every page saying they are simulated
            assert 'data-testid="simulated"' in page.text and "Dữ liệu mô phỏng" in page.text
            completed = re.search(r'data-testid="completed">(\d+)<', page.text)
            assert completed and int(completed.group(1)) > 300
            assert "#1" in page.text and "% (" in page.text  # wards ranked, percentages with intervals
            ward = re.search(r'href="/dashboard/campaigns/demo/wards/(\d+)"', page.text)
            assert ward
            ward_page = await client.get(f"/dashboard/campaigns/demo/wards/{ward.group(1)}")
            assert 'data-testid="simulated"' in ward_page.text
            listing = await client.get("/dashboard/campaigns")
            assert 'data-testid="simulated-demo"' in listing.text
            export = await client.get("/dashboard/campaigns/demo/export.csv")
            assert "-SIMULATED.csv" in export.headers["Content-Disposition"]
            assert export.text.lstrip("\ufeff").startswith("simulated,respondent,")
        assert await counts(app) == (1, 1, 1)
    finally:
        await app.stop()
    assert f"with {bootstrap.DEMO_RESPONSES} SIMULATED responses" in text

    caplog.clear()
    again = Application(settings, first_run=True)
    await again.start()
    try:
        assert await counts(again) == (1, 1, 1)
    finally:
        await again.stop()
    assert not [r for r in caplog.records if r.name == "bot.bootstrap"]
    assert "password" not in caplog.text


async def test_nothing_is_set_up_without_the_flag_or_on_a_used_database(db: Any, db_url: str, tmp_path: Path) -> None:
    app = Application(web_settings(db_url, tmp_path))  # embedding the application: no first-run set-up
    await app.start()
    try:
        assert await counts(app) == (0, 0, 0)
        await add_user(app.db, "lan", "operator")  # a database with a dashboard user is not new
        assert await bootstrap.first_run(app.ctx) is None
        assert await counts(app) == (0, 0, 1)
    finally:
        await app.stop()


async def test_two_processes_starting_together_set_up_once(db: Any, db_url: str, tmp_path: Path) -> None:
    first, second = (Application(web_settings(db_url, tmp_path)) for _ in range(2))
    try:
        done = await asyncio.gather(bootstrap.first_run(first.ctx), bootstrap.first_run(second.ctx))
        assert sorted(d is None for d in done) == [False, True]
        assert await counts(first) == (1, 1, 1)
    finally:
        await first.db.dispose()
        await second.db.dispose()
