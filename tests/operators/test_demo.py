"""The first-start demo from the operator's side (SQLite and PostgreSQL): its simulated responses give
'khaosat stats', 'campaign show' and the exports real figures, all marked simulated; a real campaign launches
beside it; closing it deletes the simulated responses; 'khaosat demo --reset' removes it entirely."""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from openpyxl import load_workbook

from bot import bootstrap
from bot.settings import Settings
from storage import migrate
from storage.db import Database
from storage.repo import demo, stats
from storage.repo.sql import answer, campaign, respondent, response
from tests.operators.helpers import add_response, arun, audit_rows, cli, create, get_campaign


def first_start(url: str, tmp_path: Path) -> tuple[Any, float]:
    """What 'khaosat run' does on a new database: the demo (returns it and the seconds it took)."""

    async def go(db: Database) -> tuple[Any, float]:
        settings = Settings(_env_file=None, database_url=url, secret_file=tmp_path / "secret")  # type: ignore[call-arg]
        ctx = SimpleNamespace(db=db, settings=settings, clock=lambda: datetime.now(UTC))
        await migrate.prepare(db, settings.province, auto=True)  # as 'khaosat run' does before
        started = time.perf_counter()
        done = await bootstrap.first_run(ctx)  # type: ignore[arg-type]
        return done, time.perf_counter() - started

    return arun(url, go)


def counts(url: str) -> dict[str, int]:
    async def go(db: Database) -> dict[str, int]:
        found = {}
        async with db.read() as conn:
            for table in (campaign, respondent, response, answer):
                found[table.name] = int(
                    (await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()
                )
        return found

    return arun(url, go)


def test_the_first_start_fills_the_demo_with_simulated_responses_quickly(env: str, tmp_path: Path) -> None:
    done, seconds = first_start(env, tmp_path)
    assert done is not None and done.simulated == bootstrap.DEMO_RESPONSES
    assert seconds < 5  # argon2 for the password included; see the README for the measured figures
    c = get_campaign(env, "demo")
    assert c.simulated and c.status == "active"
    assert 13.9 < (datetime.now(UTC) - c.starts_at).total_seconds() / 86400 < 14.1

    stats_out = cli("stats", "demo")
    assert stats_out.exit_code == 0, stats_out.output
    lines = stats_out.stdout.splitlines()
    assert lines[0].startswith("SIMULATED DATA: this is the first-start demo")
    assert lines[-1].startswith("SIMULATED DATA:")
    assert "Lowest (30+ answers): " in stats_out.stdout  # real figures: wards with 30+ answers are ranked
    assert "% (" in stats_out.stdout
    shown = cli("campaign", "show", "demo").stdout
    assert "  data:        SIMULATED (the first-start demo: made-up responses, no one's opinion)\n" in shown
    assert "active, simulated" in cli("campaign", "list").stdout


def test_the_demos_exports_mark_every_row_as_simulated_or_not(env: str, tmp_path: Path) -> None:
    first_start(env, tmp_path)

    async def tried(db: Database) -> None:  # someone tries the survey through the demo
        async with db.write() as conn:
            c = await get_demo(conn)
            await add_response(conn, c.id, 70, {"ward": 70, "overall_satisfaction": 4}, started_at=datetime.now(UTC))

    arun(env, tried)
    result = cli("export", "demo", "--out", "demo.csv")
    assert result.exit_code == 0, result.output
    assert "note: demo is the demo: rows with simulated = 1 were made up by the software" in result.stderr
    rows = list(csv.DictReader(io.StringIO(Path("demo.csv").read_text(encoding="utf-8-sig"))))
    assert list(rows[0])[:2] == ["simulated", "respondent"]
    assert sorted(Counter(r["simulated"] for r in rows).items()) == [("0", 1), ("1", bootstrap.DEMO_RESPONSES)]
    assert cli("export", "demo", "--out", "demo.xlsx").exit_code == 0
    book = load_workbook("demo.xlsx", read_only=True)
    assert book.sheetnames[:2] == ["SIMULATED", "responses"]
    assert str(next(book["SIMULATED"].values)[0]).startswith("SIMULATED DATA: this is the first-start demo")


async def get_demo(conn: Any) -> Any:
    from storage.repo import campaigns

    return await campaigns.get(conn, "demo")


def test_a_real_campaign_launches_beside_the_demo_and_says_how_to_close_it(env: str, tmp_path: Path) -> None:
    first_start(env, tmp_path)
    create("hn-2026", "all")
    launched = cli("campaign", "launch", "hn-2026")
    assert launched.exit_code == 0, launched.output
    assert (
        "note: the demo campaign 'demo' (simulated responses) is still open in 126 of these wards; citizens who "
        "send /start may be offered both. Close it when you no longer need it: khaosat campaign close demo\n"
    ) in launched.stdout
    assert get_campaign(env, "hn-2026").status == "active"


def test_closing_the_demo_deletes_its_simulated_responses_and_keeps_the_rest(env: str, tmp_path: Path) -> None:
    first_start(env, tmp_path)
    create("hn-2026", "70")

    async def answered(db: Database) -> None:
        async with db.write() as conn:
            c = await get_demo(conn)
            await add_response(conn, c.id, 70, {"ward": 70}, started_at=datetime.now(UTC), key="tried-it")
            real = await get_campaign_id(conn, "hn-2026")
            await add_response(conn, real, 70, {"ward": 70}, started_at=datetime.now(UTC), key="real")

    arun(env, answered)
    before = counts(env)
    closed = cli("campaign", "close", "demo", "--yes")
    assert closed.exit_code == 0, closed.output
    assert closed.stdout.endswith(f", {bootstrap.DEMO_RESPONSES} simulated response(s) deleted\n")
    after = counts(env)
    assert before["response"] - after["response"] == bootstrap.DEMO_RESPONSES
    assert before["respondent"] - after["respondent"] == bootstrap.DEMO_RESPONSES  # the made-up people too
    assert after["response"] == 2  # the one who tried the demo, and the real campaign's

    async def left(db: Database) -> tuple[int, Any]:
        async with db.read() as conn:
            c = await get_demo(conn)
            return await demo.count(conn, c.id), await stats.response_totals(conn, c.id)

    simulated, totals = arun(env, left)
    assert simulated == 0 and totals.started == 1
    assert get_campaign(env, "demo").simulated  # still the demo: never compared with real campaigns
    assert cli("demo").stdout.endswith(
        "it is closed and its simulated responses deleted; remove it with 'khaosat demo --reset'\n"
    )
    [(_, outcome, arguments)] = [r for r in audit_rows(env) if r[0] == "campaign.close"]
    assert (outcome, arguments["simulated_deleted"]) == ("ok", bootstrap.DEMO_RESPONSES)


async def get_campaign_id(conn: Any, code: str) -> int:
    from storage.repo import campaigns

    return (await campaigns.get(conn, code)).id


def test_demo_reset_removes_the_demo_campaign_and_all_its_data(env: str, tmp_path: Path) -> None:
    assert cli("demo").stdout == "no demo campaign: it is made only on the first start of a new database\n"
    first_start(env, tmp_path)
    create("hn-2026", "70")
    shown = cli("demo")
    assert shown.stdout.startswith(
        f"demo campaign demo (active): {bootstrap.DEMO_RESPONSES} simulated response(s), 0 other(s), in 126 wards\n"
    )
    assert shown.stdout.endswith("or remove it entirely with 'khaosat demo --reset'\n")
    refused = cli("demo", "--reset", input="n\n")
    assert refused.exit_code == 1 and get_campaign(env, "demo").simulated
    reset = cli("demo", "--reset", "--yes")
    assert reset.exit_code == 0, reset.output
    assert reset.stdout == (
        f"removed the demo campaign demo: {bootstrap.DEMO_RESPONSES} response(s) "
        f"({bootstrap.DEMO_RESPONSES} simulated) with their answers\n"
    )
    assert counts(env) == {"campaign": 1, "respondent": 0, "response": 0, "answer": 0}
    assert [c.split()[0] for c in cli("campaign", "list").stdout.splitlines()[2:]] == ["hn-2026"]
    assert [a for a, o, _ in audit_rows(env) if a.startswith("demo.")] == ["demo.show", "demo.show", "demo.reset"]
