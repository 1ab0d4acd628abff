"""Memory soak: the bot (a real `khaosat run` process behind its webhook) under a steady load for minutes;
its resident memory is sampled every 10 s and the growth after warm-up is reported (target: under 10%).

    python -m bench.soak                          # 10 minutes at about 50 updates/s, SQLite
    python -m bench.soak --minutes 2 --db postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path

import aiohttp

from bench.fake_telegram import FastTelegram
from bench.load import Pacer, Stats, database, khaosat_process, prepare_khaosat, walk

UPDATES_PER_ANSWER = 20 / 17  # /start, consent and a multi-choice toggle come with the 17 answers


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--updates-per-second", type=float, default=50.0)
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before the baseline sample")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    answer_rate = args.updates_per_second / UPDATES_PER_ANSWER
    citizens = int(args.minutes * 60 * answer_rate / 17) + 50
    tg = FastTelegram()
    await tg.start()
    async with database(args.db) as db_url:
        await prepare_khaosat(db_url)
        bot = khaosat_process(db_url, tg)
        await bot.start(tg)
        assert bot.proc is not None
        pid = bot.proc.pid
        stats = Stats()
        pacer = Pacer(answer_rate)
        samples: list[tuple[float, float]] = []
        deadline = time.monotonic() + args.minutes * 60
        print(
            f"memory soak: {args.minutes:g} min at ~{args.updates_per_second:g} updates/s on {args.db}, "
            f"bot pid {pid}, {os.cpu_count()} CPUs"
        )

        async def sampler() -> None:
            start = time.monotonic()
            while time.monotonic() < deadline:
                samples.append((time.monotonic() - start, rss_mib(pid)))
                await asyncio.sleep(10)

        sem = asyncio.Semaphore(64)
        async with aiohttp.ClientSession() as http:

            async def one(i: int) -> None:
                async with sem:
                    if time.monotonic() >= deadline:
                        return
                    try:
                        await walk(tg, http, bot.url, 900_000 + i, 70, stats, pacer, wait_reply=False)
                    except Exception as e:
                        stats.errors.append(f"{type(e).__name__}: {e}")

            sampling = asyncio.create_task(sampler())
            started = time.monotonic()
            await asyncio.gather(*(one(i) for i in range(citizens)))
            elapsed = time.monotonic() - started
            sampling.cancel()
        await bot.stop()
    await tg.stop()
    baseline = next((rss for t, rss in samples if t >= args.warmup), samples[0][1])
    final = samples[-1][1]
    growth = (final - baseline) / baseline * 100
    print(
        f"updates: {stats.updates} ({stats.updates / elapsed:.1f}/s), answers {stats.answers}, "
        f"completed {stats.completed}, errors {len(stats.errors)}"
    )
    print("RSS (MiB) every 10 s: " + " ".join(f"{rss:.0f}" for _, rss in samples))
    print(f"RSS after warm-up {baseline:.1f} MiB, at the end {final:.1f} MiB: growth {growth:+.1f}% (target < 10%)")


if __name__ == "__main__":
    asyncio.run(main())
