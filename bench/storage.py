"""Benchmark: answers durably stored per second through the conversation service.

One answer per transaction (with its processed-update row), single process, many respondents answering
concurrently. Prints answers/s and p50/p99 latency of `ConversationService.handle` on SQLite and PostgreSQL.

    python -m bench.storage                      # both databases, defaults
    python -m bench.storage --db sqlite --respondents 200 --concurrency 32
    KHAOSAT_BENCH_PG=postgresql://postgres@127.0.0.1:5432/postgres python -m bench.storage --db postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.pg import scratch_database
from flows import engine
from flows.events import QuestionAsked
from flows.loader import bundled_survey_path, load_survey
from storage import migrate
from storage.conversation import ConversationService, GiveConsent, Reply, Who
from storage.db import Database
from storage.repo import campaigns, surveys, wards

ANSWERS: dict[str, Any] = {
    "age_group": "30_44",
    "gender": "female",
    "used_service": "in_person",
    "procedure_kind": "land",
    "sat_access": 4,
    "sat_procedures": 3,
    "sat_staff": 5,
    "sat_result": 2,
    "visits": 3,
    "informal_payment": "no",
    "gave_feedback": "yes",
    "sat_feedback": 4,
    "transparency": 4,
    "environment": 3,
    "top_issues": ["waste", "traffic"],
    "overall_satisfaction": 4,
    "comment": "Cần thêm cây xanh và vỉa hè rộng hơn.",
}



async def setup(url: str) -> Database:
    db = Database(url, pool_size=int(os.environ.get("KHAOSAT_BENCH_POOL", "10")))
    await migrate.upgrade(db)
    now = datetime.now(UTC)
    async with db.write() as conn:
        await wards.import_province(conn, 1)
        record, _ = await surveys.publish(conn, load_survey(bundled_survey_path()), now)
        units = await wards.search(conn, None, 1)
        await campaigns.create(
            conn,
            code="bench",
            survey_id=record.id,
            title="Bench",
            wards=[u.code for u in units],
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=30),
            now=now,
        )
        await campaigns.launch(conn, "bench", now)
    return db


async def run(url: str, respondents: int, concurrency: int) -> dict[str, float]:
    db = await setup(url)
    service = ConversationService(db, b"bench-secret")
    update_ids = iter(range(1, 10**9))
    people = [Who("telegram", str(10_000 + i), address=str(10_000 + i)) for i in range(respondents)]
    current: dict[str, Any] = {}
    for who in people:  # consent is not timed: the benchmark is about answers
        current[who.user_id] = await service.handle(who, GiveConsent(True, "bench", 70), next(update_ids))

    latencies: list[float] = []
    stored = 0
    sem = asyncio.Semaphore(concurrency)

    async def walk(who: Who) -> None:
        nonlocal stored
        out = current[who.user_id]
        while isinstance(out.events[-1], QuestionAsked):
            event = out.events[-1]
            action = Reply(engine.Answer(ANSWERS[event.question_id], event.question_id), out.response_id)
            async with sem:
                t0 = time.perf_counter()
                out = await service.handle(who, action, next(update_ids))
                latencies.append(time.perf_counter() - t0)
            stored += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(walk(w) for w in people))
    elapsed = time.perf_counter() - t0
    await db.dispose()
    latencies.sort()
    return {
        "answers": stored,
        "seconds": elapsed,
        "per_second": stored / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--respondents", type=int, default=300)
    parser.add_argument("--concurrency", default="8,32", help="answers in flight at once (comma-separated runs)")
    args = parser.parse_args()
    levels = [int(x) for x in args.concurrency.split(",")]
    print(
        f"khaosat storage benchmark: {args.respondents} respondents x 17 answers, one answer per transaction, "
        f"{os.cpu_count()} CPUs"
    )
    for concurrency in levels:
        if args.db in ("sqlite", "both"):
            with tempfile.TemporaryDirectory() as tmp:
                r = await run(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", args.respondents, concurrency)
            report("SQLite (WAL, synchronous=NORMAL)", concurrency, r)
        if args.db in ("postgresql", "both"):
            async with scratch_database() as url:
                r = await run(url, args.respondents, concurrency)
            report("PostgreSQL (asyncpg)", concurrency, r)


def report(name: str, concurrency: int, r: dict[str, float]) -> None:
    print(
        f"{name:34s} concurrency {concurrency:3d}: {r['answers']:5.0f} answers in {r['seconds']:5.2f} s = "
        f"{r['per_second']:5.0f} answers/s; latency p50 {r['p50_ms']:6.2f} ms, p99 {r['p99_ms']:6.2f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
