"""Benchmark: export a campaign of many completed responses to CSV and XLSX, and time the stats queries.

Builds a campaign over Hà Nội's 126 wards with N completed responses of the bundled survey (about 14 answers
each, rows inserted in bulk), then runs `reports.export.export` for each format and the aggregations of
`storage.repo.stats` (used by `khaosat stats`, digests and the dashboard). Prints rows, seconds and sizes.

    python -m bench.export                                  # 10,000 responses, SQLite and PostgreSQL
    python -m bench.export --responses 70000 --formats ""   # stats queries over about a million answers
    KHAOSAT_BENCH_PG=postgresql://postgres@127.0.0.1:5432/postgres python -m bench.export --db postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.pg import PG_SERVER, scratch_database
from flows.loader import bundled_survey_path, load_survey
from reports.export import export
from storage import migrate
from storage.db import Database
from storage.repo import campaigns, stats, surveys, wards
from storage.repo.sql import answer, respondent, response
from storage.types import numeric

CODE = "bench-export"
SCALES = ["sat_access", "sat_procedures", "sat_staff", "sat_result", "sat_feedback", "transparency", "environment"]
ISSUES = ["waste", "pollution", "flooding", "security", "traffic", "health", "schools", "procedures"]
COMMENTS = ["Cần thêm cây xanh.", "Thủ tục nhanh gọn, cán bộ nhiệt tình.", "Đường hay ngập khi mưa to.", None, None]


def answers_of(rng: random.Random, ward: int) -> dict[str, Any]:
    """One plausible completed response, following the survey's skip logic."""
    used = rng.choice(["in_person", "online", "both", "no", "no"])
    out: dict[str, Any] = {
        "ward": ward,
        "age_group": rng.choice(["18_29", "30_44", "45_59", "60_plus"]),
        "gender": rng.choice(["male", "female", "other", None]),
        "used_service": used,
    }
    if used != "no":
        out["procedure_kind"] = rng.choice(["civil_status", "certification", "land", "residence", "other"])
        for q in SCALES[:4]:
            out[q] = rng.choice([1, 2, 3, 4, 4, 5, 5, "dk"])
        out["visits"] = rng.randint(1, 6)
        out["informal_payment"] = rng.choice(["no", "no", "no", "yes", "prefer_not"])
    out["gave_feedback"] = rng.choice(["yes", "no", "no"])
    if out["gave_feedback"] == "yes":
        out["sat_feedback"] = rng.choice([1, 2, 3, 4, 5, "dk"])
    out["transparency"] = rng.choice([1, 2, 3, 4, 5, "dk"])
    out["environment"] = rng.choice([1, 2, 3, 3, 4, 5])
    out["top_issues"] = rng.sample(ISSUES, rng.randint(1, 3))
    out["overall_satisfaction"] = rng.choice([2, 3, 4, 4, 4, 5, 5])
    out["comment"] = rng.choice(COMMENTS)
    return out


async def build(db: Database, n: int, seed: int = 1) -> tuple[Any, int]:
    """A campaign with `n` completed responses; returns (campaign, answers inserted)."""
    await migrate.upgrade(db)
    now = datetime.now(UTC)
    async with db.write() as conn:
        await wards.import_province(conn, 1)
        record, _ = await surveys.publish(conn, load_survey(bundled_survey_path()), now)
        codes = [u.code for u in await wards.search(conn, None, 1)]
        await campaigns.create(
            conn,
            code=CODE,
            survey_id=record.id,
            title="Benchmark",
            wards=codes,
            starts_at=now - timedelta(days=20),
            ends_at=now + timedelta(days=10),
            now=now,
            target_per_ward=100,
        )
        c = await campaigns.launch(conn, CODE, now)
    rng = random.Random(seed)
    total = 0
    batch = 2000
    for first in range(1, n + 1, batch):
        ids = range(first, min(first + batch, n + 1))
        people, responses, rows = [], [], []
        for i in ids:
            started = now - timedelta(days=20) + timedelta(seconds=i * 97 % (19 * 86400))
            ward = codes[rng.randrange(len(codes))]
            people.append({"id": i, "key": f"bench-{i}", "language": "vi", "consent_at": started,
                           "opted_out": False, "invitations": False, "created_at": started})  # fmt: skip
            responses.append({"id": i, "campaign_id": c.id, "respondent_id": i, "ward_code": ward,
                              "status": "completed", "channel": "telegram", "fixed": [], "started_at": started,
                              "completed_at": started + timedelta(minutes=6), "reminders_sent": 0,
                              "last_activity_at": started + timedelta(minutes=6)})  # fmt: skip
            for qid, value in answers_of(rng, ward).items():
                rows.append({"response_id": i, "question_id": qid, "value": value, "value_num": numeric(value),
                             "answered_at": started})  # fmt: skip
        async with db.write() as conn:
            await conn.execute(respondent.insert(), people)
            await conn.execute(response.insert(), responses)
            for k in range(0, len(rows), 10_000):
                await conn.execute(answer.insert(), rows[k : k + 10_000])
        total += len(rows)
    if db.dialect == "postgresql":
        import sqlalchemy as sa

        async with db.write() as conn:
            for table in ("respondent", "response", "answer"):
                await conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {n + 1})"))
            await conn.execute(sa.text("ANALYZE"))
    return c, total


async def timed(label: str, fn: Callable[[], Awaitable[Any]]) -> Any:
    t0 = time.perf_counter()
    result = await fn()
    print(f"    {label:<44} {time.perf_counter() - t0:7.3f} s")
    return result


async def run(url: str, label: str, n: int, folder: Path, formats: tuple[str, ...] = ("csv", "xlsx")) -> None:
    db = Database(url)
    try:
        t0 = time.perf_counter()
        c, answers = await build(db, n)
        print(f"{label}: {n:,} completed responses, {answers:,} answers inserted in {time.perf_counter() - t0:.1f} s")
        for fmt in formats:
            out = folder / f"{label.split()[0].lower()}-{CODE}.{fmt}"
            result = await export(db, c, fmt, out)
            print(
                f"    export {fmt:<5} {result.rows:>8,} rows {result.seconds:8.2f} s {result.bytes / 1e6:8.1f} MB "
                f"({result.rows / result.seconds:,.0f} rows/s)"
            )
        async with db.read() as conn:
            await timed("stats.ward_progress (126 wards)", lambda: stats.ward_progress(conn, c.id))
            questions = [*SCALES, "overall_satisfaction"]
            await timed("stats.scale_counts (8 questions, by ward)",
                        lambda: stats.scale_counts(conn, c.id, questions, by_ward=True))  # fmt: skip
            await timed("stats.scale_counts (overall, last 7 days)",
                        lambda: stats.scale_counts(conn, c.id, ["overall_satisfaction"],
                                                   since=datetime.now(UTC) - timedelta(days=7)))  # fmt: skip
            await timed("stats.choice_counts (top_issues)", lambda: stats.choice_counts(conn, c.id, "top_issues"))
            await timed("stats.comments (count + 3 newest)", lambda: stats.comments(conn, c.id, ["comment"]))
    finally:
        await db.dispose()



async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--responses", type=int, default=10_000)
    parser.add_argument("--formats", default="csv,xlsx", help="comma-separated; empty to time the stats queries only")
    args = parser.parse_args()
    formats = tuple(f for f in args.formats.split(",") if f)
    print(f"khaosat export benchmark: {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.db in ("sqlite", "both"):
            await run(f"sqlite+aiosqlite:///{folder / 'bench.db'}", "SQLite", args.responses, folder, formats)
        if args.db in ("postgresql", "both"):
            async with contextlib.AsyncExitStack() as stack:
                try:
                    url = await stack.enter_async_context(scratch_database())
                except Exception as e:  # no server: say so and stop
                    print(f"PostgreSQL not reachable at {PG_SERVER}: {e}")
                    return
                await run(url, "PostgreSQL", args.responses, folder, formats)


if __name__ == "__main__":
    asyncio.run(main())
