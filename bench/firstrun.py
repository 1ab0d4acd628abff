"""Benchmark: what the demo's simulated responses add to the first start of `khaosat run`.

Times `bot.bootstrap.first_run` on a new, migrated database (survey, demo campaign, admin password hash, and the
simulated responses: their generation, in a thread beside the argon2 hash, and their insert), with the usual
420 responses and with none, several times each, on SQLite and PostgreSQL.

    python -m bench.firstrun
    python -m bench.firstrun --db sqlite --repeat 10
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from bench.pg import scratch_database
from bot import bootstrap
from bot.settings import Settings
from storage import migrate
from storage.db import Database


async def once(url: str, responses: int, folder: Path) -> float:
    db = Database(url)
    try:
        await migrate.upgrade(db)
        settings = Settings(_env_file=None, database_url=url, secret_file=folder / "secret")  # type: ignore[call-arg]
        await migrate.prepare(db, settings.province, auto=True)
        ctx = SimpleNamespace(db=db, settings=settings, clock=lambda: datetime.now(UTC))
        bootstrap.DEMO_RESPONSES = responses
        started = time.perf_counter()
        done = await bootstrap.first_run(ctx)  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
        assert done is not None and done.simulated == responses
        return seconds
    finally:
        await db.dispose()


async def run(kind: str, repeat: int) -> None:
    results: dict[int, list[float]] = {420: [], 0: []}
    for _ in range(repeat):
        for responses in results:
            with tempfile.TemporaryDirectory() as tmp:
                if kind == "sqlite":
                    url = f"sqlite+aiosqlite:///{Path(tmp) / 'first.db'}"
                    results[responses].append(await once(url, responses, Path(tmp)))
                else:
                    async with scratch_database("khaosat_bench_first") as url:
                        results[responses].append(await once(url, responses, Path(tmp)))
    with_demo, without = results[420], results[0]
    print(
        f"  {kind:<10} first run with 420 simulated responses: median {statistics.median(with_demo) * 1000:.0f} ms "
        f"(best {min(with_demo) * 1000:.0f}); without them: median {statistics.median(without) * 1000:.0f} ms "
        f"(best {min(without) * 1000:.0f}); {repeat} runs each"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print("khaosat first-start benchmark: bot.bootstrap.first_run on a new database")
    for kind in ("sqlite", "postgresql"):
        if args.db in (kind, "both"):
            await run(kind, args.repeat)


if __name__ == "__main__":
    asyncio.run(main())
