"""Benchmark: the SQL aggregation behind one digest, over about a million answers in Hà Nội's 126 wards.

Builds a campaign over the 126 wards with N completed responses of the bundled survey (about 14 answers each,
completed over the last 20 days; rows written in bulk with the database drivers), then times
`reports.digests.gather` (every grouped query a digest needs: period, previous period and total
histograms, ward ranking, issues, comments, counts) for a digest over all wards, over ten wards and over one
ward, and then the rendering (text and PNG chart). Targets: under 2 s on PostgreSQL, under 5 s on SQLite.

    python -m bench.digest                                # 72,000 responses (~1,000,000 answers), both databases
    python -m bench.digest --db sqlite --responses 10000
    KHAOSAT_BENCH_PG=postgresql://postgres@127.0.0.1:5432/postgres python -m bench.digest --db postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.pg import scratch_database
from flows.loader import bundled_survey_path, load_survey
from reports import digests
from reports.digest import Window
from storage import migrate
from storage.db import Database
from storage.repo import campaigns, surveys, wards
from storage.types import numeric

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SCALES = ["sat_access", "sat_procedures", "sat_staff", "sat_result"]
ISSUES = ["waste", "pollution", "flooding", "security", "traffic", "health", "schools", "procedures"]
COMMENTS = ["Cần thêm cây xanh.", "Thủ tục nhanh gọn, cán bộ nhiệt tình.", "Đường hay ngập khi mưa to.", None, None]


def answers_of(rng: random.Random, ward: int) -> dict[str, Any]:
    """One plausible completed response of the bundled survey, following its skip logic."""
    used = rng.choice(["in_person", "online", "both", "no", "no"])
    out: dict[str, Any] = {
        "ward": ward,
        "age_group": rng.choice(["18_29", "30_44", "45_59", "60_plus"]),
        "gender": rng.choice(["male", "female", None]),
        "used_service": used,
    }
    if used != "no":
        out["procedure_kind"] = rng.choice(["civil_status", "certification", "land", "residence", "other"])
        for q in SCALES:
            out[q] = rng.choice([1, 2, 3, 4, 4, 5, 5, "dk"])
        out["visits"] = rng.randint(1, 6)
        out["informal_payment"] = rng.choice(["no", "no", "no", "yes", "prefer_not"])
    out["gave_feedback"] = rng.choice(["yes", "no", "no"])
    if out["gave_feedback"] == "yes":
        out["sat_feedback"] = rng.choice([1, 2, 3, 4, 5, "dk"])
    out["transparency"] = rng.choice([1, 2, 3, 4, 5, "dk"])
    out["environment"] = rng.choice([1, 2, 3, 3, 4, 5])
    out["top_issues"] = rng.sample(ISSUES, rng.randint(1, 3))
    out["overall_satisfaction"] = rng.choice([1, 2, 3, 4, 4, 4, 5, 5])
    out["comment"] = rng.choice(COMMENTS)
    return out


def rows(n: int, campaign_id: int, codes: list[int], now: datetime, seed: int = 1) -> tuple[list[Any], ...]:
    rng = random.Random(seed)
    people, responses, answers = [], [], []
    for i in range(1, n + 1):
        done = now - timedelta(seconds=rng.randrange(20 * 86400))
        ward = codes[rng.randrange(len(codes))]
        people.append((i, f"bench-{i}", "vi", done, False, False, done))
        responses.append(
            (i, campaign_id, i, ward, "completed", "telegram", "[]", done - timedelta(minutes=6), done, done, 0)
        )
        for qid, value in answers_of(rng, ward).items():
            answers.append((i, qid, json.dumps(value, ensure_ascii=False), numeric(value), done))
    return people, responses, answers


async def build(db: Database, n: int) -> Any:
    await migrate.upgrade(db)
    now = datetime.now(UTC)
    async with db.write() as conn:
        await wards.import_province(conn, 1)
        record, _ = await surveys.publish(conn, load_survey(bundled_survey_path()), now)
        codes = [u.code for u in await wards.search(conn, None, 1)]
        await campaigns.create(
            conn,
            code="bench-digest",
            survey_id=record.id,
            title="Benchmark",
            wards=codes,
            starts_at=now - timedelta(days=21),
            ends_at=now + timedelta(days=10),
            now=now,
        )
        c = await campaigns.launch(conn, "bench-digest", now)
    people, responses, answers = rows(n, c.id, codes, now)
    if db.is_sqlite:
        from sqlalchemy.engine import make_url

        def stamp(moment: datetime) -> str:  # what SQLAlchemy stores for a UTCDateTime on SQLite
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
    else:
        import asyncpg
        from sqlalchemy.engine import make_url

        dsn = make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)
        pg = await asyncpg.connect(dsn)
        try:
            await pg.set_type_codec(  # jsonb's binary form: version 1, then the JSON text
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
                "answer",
                records=answers,
                columns=["response_id", "question_id", "value", "value_num", "answered_at"],
            )
            for table in ("respondent", "response"):
                await pg.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {n + 1})")
            await pg.execute("ANALYZE")
        finally:
            await pg.close()
    return c, len(answers)


async def run(url: str, label: str, n: int, repeat: int) -> None:
    db = Database(url)
    try:
        t0 = time.perf_counter()
        c, total = await build(db, n)
        print(f"  {label}: {total:,} answers in {n:,} responses, 126 wards (built in {time.perf_counter() - t0:.1f} s)")
        now = datetime.now(UTC)
        week = Window(now - timedelta(days=7), now)
        before = Window(now - timedelta(days=14), week.start)
        async with db.read() as conn:
            survey = await surveys.definition(conn, c.survey_id)
        scopes = {"all 126 wards": None, "10 wards": list(c.ward_codes[:10]), "1 ward": [c.ward_codes[0]]}
        for name, scope in scopes.items():
            times = []
            data = None
            for _ in range(repeat):
                t0 = time.perf_counter()
                async with db.read() as conn:
                    data = await digests.gather(conn, c, survey, scope, week, before, "vi", TZ, 0.2)
                times.append(time.perf_counter() - t0)
            assert data is not None
            t0 = time.perf_counter()
            messages = await digests.build(data)
            render = time.perf_counter() - t0
            print(
                f"    digest over {name:<14} aggregation {min(times):6.3f} s (best of {repeat}; worst "
                f"{max(times):.3f} s), text and chart {render:5.3f} s; {data.responses_period:,} responses in "
                f"the week, {data.responses_total:,} in total, {len(messages)} message(s)"
            )
    finally:
        await db.dispose()



async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--responses", type=int, default=72_000, help="completed responses (~14 answers each)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"khaosat digest benchmark ({os.cpu_count()} CPUs); targets: PostgreSQL < 2 s, SQLite < 5 s")
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            await run(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", "SQLite", args.responses, args.repeat)
    if args.db in ("postgresql", "both"):
        async with scratch_database() as url:
            await run(url, "PostgreSQL", args.responses, args.repeat)


if __name__ == "__main__":
    asyncio.run(main())
