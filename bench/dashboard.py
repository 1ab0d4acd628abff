"""Benchmark: the dashboard of a national campaign (34 provinces, 3,321 wards and communes) over 100,000 responses.

Builds the campaign (and, for the trends, the same survey's campaign of the year before with half as many
responses) with rows written in bulk by the database drivers (as `bench.digest` does), starts the application's
web server on it, logs in as an operator and times real HTTP requests: the campaign page (wards grouped by
province, the first page of the ward table), one province, a search, a ward page (with its trends), the factor
chart, and the trends CSV of every ward. Target: the campaign page well under a second on PostgreSQL.

    python -m bench.dashboard                                  # PostgreSQL, 100,000 responses
    python -m bench.dashboard --db sqlite --responses 20000
    KHAOSAT_BENCH_PG=postgresql://postgres@127.0.0.1:5432/postgres python -m bench.dashboard --repeat 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.digest import rows
from bench.pg import scratch_database
from flows.loader import bundled_survey_path, load_survey
from storage import migrate
from storage.db import Database
from storage.repo import campaigns, surveys, users, wards

PASSWORD = "bench password 42"


async def insert(db: Database, people: list[Any], responses: list[Any], answers: list[Any], first_id: int) -> None:
    """Bulk rows (ids from `first_id`) with the drivers' own bulk paths."""
    import json

    from sqlalchemy.engine import make_url

    shift = first_id - 1
    people = [(p[0] + shift, f"{p[1]}-{first_id}", *p[2:]) for p in people]
    responses = [(r[0] + shift, r[1], r[2] + shift, *r[3:]) for r in responses]
    answers = [(a[0] + shift, *a[1:]) for a in answers]
    if db.is_sqlite:
        import sqlite3

        def stamp(moment: datetime) -> str:
            return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")

        path = make_url(db.url).database
        assert path is not None
        raw = sqlite3.connect(path)
        with raw:
            raw.executemany(
                "INSERT INTO respondent (id, key, language, consent_at, opted_out, invitations, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(*p[:3], stamp(p[3]), *p[4:6], stamp(p[6])) for p in people],
            )
            raw.executemany(
                "INSERT INTO response (id, campaign_id, respondent_id, ward_code, status, channel, fixed, started_at, "
                "completed_at, last_activity_at, reminders_sent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(*r[:7], stamp(r[7]), stamp(r[8]), stamp(r[9]), r[10]) for r in responses],
            )
            raw.executemany(
                "INSERT INTO answer (response_id, question_id, value, value_num, answered_at) VALUES (?, ?, ?, ?, ?)",
                [(*a[:4], stamp(a[4])) for a in answers],
            )
        raw.execute("ANALYZE")
        raw.close()
        return
    import asyncpg

    dsn = make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)
    pg = await asyncpg.connect(dsn)
    try:
        await pg.set_type_codec(
            "jsonb",
            encoder=lambda text: b"\x01" + text.encode(),
            decoder=lambda data: json.loads(data[1:]),
            schema="pg_catalog",
            format="binary",
        )
        await pg.copy_records_to_table(
            "respondent",
            records=people,
            columns=["id", "key", "language", "consent_at", "opted_out", "invitations", "created_at"],
        )
        await pg.copy_records_to_table(
            "response",
            records=responses,
            columns=["id", "campaign_id", "respondent_id", "ward_code", "status", "channel", "fixed",
                     "started_at", "completed_at", "last_activity_at", "reminders_sent"],
        )  # fmt: skip
        await pg.copy_records_to_table(
            "answer", records=answers, columns=["response_id", "question_id", "value", "value_num", "answered_at"]
        )
        for table in ("respondent", "response"):
            await pg.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {first_id + len(people)})")
        await pg.execute("ANALYZE")
    finally:
        await pg.close()


async def build(db: Database, n: int) -> tuple[int, int]:
    """Every province's units, last year's campaign (n/2 responses, closed) and this year's (n); returns
    (wards, answers)."""
    from vietnam_provinces import Province

    from web.auth import hash_password

    await migrate.upgrade(db)
    now = datetime.now(UTC)
    async with db.write() as conn:
        for province in Province.iter_all():
            await wards.import_province(conn, int(province.code))
        record, _ = await surveys.publish(conn, load_survey(bundled_survey_path()), now)
        codes = [u.code for u in await wards.search(conn)]
        made = {}
        for code, start, size in (("vn-2025", now - timedelta(days=365), n // 2), ("vn-2026", now, n)):
            await campaigns.create(
                conn,
                code=code,
                survey_id=record.id,
                title=f"Khảo sát toàn quốc {start.year}",
                wards=codes,
                starts_at=start - timedelta(days=21),
                ends_at=start + timedelta(days=10),
                now=start - timedelta(days=22),
                target_per_ward=30,
            )
            made[code] = (await campaigns.launch(conn, code, start - timedelta(days=21)), start, size)
        await campaigns.close(conn, "vn-2025", now - timedelta(days=300))
        await users.add(conn, "bench", hash_password(PASSWORD), "operator", None, now)
    total = 0
    first = 1
    for c, start, size in made.values():
        people, responses, answers = rows(size, c.id, codes, start, seed=c.id)
        await insert(db, people, responses, answers, first)
        first += size
        total += len(answers)
    return len(codes), total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def timed(session: Any, url: str, repeat: int) -> tuple[list[float], int, int]:
    times = []
    size = status = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        async with session.get(url, allow_redirects=False) as reply:
            body = await reply.read()
        times.append(time.perf_counter() - t0)
        size, status = len(body), reply.status
    return times, size, status


async def run(url: str, label: str, n: int, repeat: int, built: bool = False) -> None:
    import aiohttp

    from bot.app import Application
    from bot.settings import Settings

    if not built:
        db = Database(url)
        t0 = time.perf_counter()
        try:
            units, answers = await build(db, n)
        finally:
            await db.dispose()
        print(f"  {label}: {units:,} wards and communes, {n:,} + {n // 2:,} responses, {answers:,} answers "
              f"(built in {time.perf_counter() - t0:.0f} s)")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            database_url=url,
            secret_key="bench",
            secret_file=Path(tmp) / "secret",
            web_host="127.0.0.1",
            web_port=port,
            scheduler_enabled=False,
        )
        app = Application(settings)
        await app.start()
        try:
            base = f"http://127.0.0.1:{port}"
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
                async with session.get(base + "/dashboard/login") as page:
                    csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text())
                    assert csrf is not None
                    form = {"csrf": csrf.group(1), "name": "bench", "password": PASSWORD, "next": ""}
                async with session.post(base + "/dashboard/login", data=form, allow_redirects=False) as reply:
                    assert reply.status == 303, reply.status
                pages = {
                    "campaign page (34 provinces, wards page 1)": "/dashboard/campaigns/vn-2026",
                    "campaign page, one province (Hà Nội)": "/dashboard/campaigns/vn-2026?province=1",
                    'campaign page, a search ("an", page 2)': "/dashboard/campaigns/vn-2026?q=an&page=2",
                    "ward page with trends (Hoàn Kiếm)": "/dashboard/campaigns/vn-2026/wards/70",
                    "factor chart (PNG)": "/dashboard/campaigns/vn-2026/chart.png",
                    "trends CSV, every ward": "/dashboard/campaigns/vn-2026/trends.csv",
                    "campaign list": "/dashboard/campaigns",
                }
                counter = app.ctx.extras.get("dashboard_counter")
                campaign_page = base + pages["campaign page (34 provinces, wards page 1)"]
                cold = []
                for _ in range(repeat):  # counted afresh: as the first view after a start, or after a minute
                    if counter is not None:
                        counter.kept.clear()
                    cold.append((await timed(session, campaign_page, 1))[0][0])
                    counter = app.ctx.extras.get("dashboard_counter")
                print(
                    f"    {'campaign page, counted afresh':<44} median {statistics.median(cold) * 1000:6.0f} ms, "
                    f"best {min(cold) * 1000:5.0f}, worst {max(cold) * 1000:5.0f} ({repeat} runs)"
                )
                for name, path in pages.items():
                    times, size, status = await timed(session, base + path, repeat)
                    print(
                        f"    {name:<44} median {statistics.median(times) * 1000:6.0f} ms, best "
                        f"{min(times) * 1000:5.0f}, worst {max(times) * 1000:5.0f} ({repeat} runs; HTTP {status}, "
                        f"{size / 1024:,.0f} KiB)"
                    )
        finally:
            await app.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="postgresql")
    parser.add_argument("--responses", type=int, default=100_000, help="this year's completed responses")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--built", metavar="URL", help="a database a previous run built (kept), instead of a new one")
    args = parser.parse_args()
    print(
        f"khaosat dashboard benchmark ({os.cpu_count()} CPUs); target: the campaign page well under 1 s on PostgreSQL"
    )
    if args.built:
        await run(args.built, "given database", args.responses, args.repeat, built=True)
        return
    if args.db in ("postgresql", "both"):
        async with scratch_database() as url:
            await run(url, "PostgreSQL", args.responses, args.repeat)
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            await run(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", "SQLite", args.responses, args.repeat)


if __name__ == "__main__":
    asyncio.run(main())
