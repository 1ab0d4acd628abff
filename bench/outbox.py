"""Benchmark: the paced sender delivering the outbox to the fake Telegram Bot API at the configured ceiling.

Queues N messages (to N different private chats by default; `--per-chat` sends several to each chat) in a
fresh database, then drains the outbox through the real aiogram Bot over HTTP to the fake Bot API, which
refuses (429) anything over Telegram's limits. Prints the sustained rate (messages per second between the first
and the last send) against the ceiling, the busiest second, and the limit violations seen by the fake.
Target: at least 90% of the ceiling sustained, zero violations.

    python -m bench.outbox                                   # 10,000 messages at 30/s (about 6 minutes)
    python -m bench.outbox --count 2000 --rate 100           # a higher ceiling (the fake enforces it too)
    python -m bench.outbox --db postgresql --count 3000
    python -m bench.outbox --faults --rate 100               # 429s, 500s, timeouts and 403s all along
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.pg import scratch_database
from bot.telegram.sender import TelegramTransport
from scheduler.outbox import OutboxSender, RetryPolicy
from scheduler.pacing import Limits
from storage import migrate
from storage.db import Database
from storage.outbox import Outgoing
from storage.repo import outbox
from storage.repo.outbox import NewMessage
from tests.fakebot import FakeBotAPI


async def storm(fake: FakeBotAPI, every: int) -> None:
    """Faults all along the broadcast: 500s, 429s with retry_after, Telegram too slow to answer (timeouts)."""
    mark = every
    while True:
        await fake.wait_for(lambda m=mark: len(fake.sent) >= m, timeout=3600)
        fake.fail_next("sendMessage", 500, count=20, description="Internal Server Error")
        fake.fail_next("sendMessage", 429, count=2, retry_after=2)
        fake.delay("sendMessage", 2.5)  # longer than the sender's request timeout
        await asyncio.sleep(0.5)
        fake.delay("sendMessage", 0)
        mark += every


async def run(url: str, label: str, count: int, per_chat: int, limits: Limits, faults: bool = False) -> None:
    db = Database(url)
    try:
        await migrate.upgrade(db)
        now = datetime.now(UTC)
        payload = Outgoing(text="👋 Chào bạn! Bạn đang trả lời dở khảo sát <b>Hà Nội 2026</b>.").to_payload()
        messages = [NewMessage(str(1_000_000 + i // per_chat), "notice", payload, f"bench:{i}") for i in range(count)]
        for start in range(0, count, 5000):
            async with db.write() as conn:
                await outbox.enqueue_many(conn, messages[start : start + 5000], now)
        async with FakeBotAPI(
            enforce_limits=True,
            global_per_sec=int(limits.global_per_sec),
            per_chat_per_sec=max(1, int(limits.private_per_sec)),
            per_group_per_min=int(limits.group_per_min),
        ) as fake:
            blocked = {int(m.recipient) for m in messages[::50]} if faults else set()
            for chat in blocked:
                fake.block(chat)  # 2% of the people blocked the bot: 403
            bot = fake.make_bot()
            chaos = asyncio.create_task(storm(fake, max(200, count // 10))) if faults else None
            try:
                retry = RetryPolicy(max_attempts=8, base_seconds=1.0, max_seconds=10.0) if faults else None
                sender = OutboxSender(
                    db,
                    TelegramTransport(bot, request_timeout=2 if faults else 30),
                    clock=lambda: datetime.now(UTC),
                    limits=limits,
                    retry=retry,
                )
                t0 = time.perf_counter()
                stats = await sender.drain()
                while faults:  # retries are due later: keep draining until nothing is pending
                    async with db.read() as conn:
                        if (await outbox.counts(conn))["pending"] == 0:
                            break
                    await asyncio.sleep(0.5)
                    stats = await sender.drain()
                elapsed = time.perf_counter() - t0
            finally:
                if chaos is not None:
                    chaos.cancel()
                await bot.session.close()
            delivered = {r.chat_id for r in fake.send_log}
            lost = {int(m.recipient) for m in messages} - blocked - delivered
            rate = fake.send_rate()
            rejected = sum(1 for e in fake.errors if e[2] == 429)
            violations = fake.rate_violations(
                int(limits.global_per_sec), max(1, int(limits.private_per_sec)), int(limits.group_per_min)
            )
        async with db.read() as conn:
            left = await outbox.counts(conn)
        ceiling = limits.global_per_sec
        print(
            f"  {label}: {stats.sent:,} of {count:,} sent in {elapsed:.1f} s; sustained {rate:.2f} msg/s = "
            f"{100 * rate / ceiling:.1f}% of the {ceiling:g}/s ceiling; busiest second {fake.peak_sends(1.0)}; "
            f"429s {rejected}; limit violations {len(violations)}; outbox {left}"
        )
        if faults:
            print(
                f"  with faults: {len(blocked)} people blocked the bot (403), 500s, 429s and timeouts all along; "
                f"lost: {len(lost)}, delivered more than once (a send that timed out): "
                f"{len(fake.send_log) - len(delivered)}"
            )
        for violation in violations[:5]:
            print(f"    {violation}")
    finally:
        await db.dispose()



async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--per-chat", type=int, default=1, help="messages to each chat (1 per second per chat)")
    parser.add_argument("--rate", type=float, default=None, help="global ceiling (default SEND_RATE_GLOBAL, 30)")
    parser.add_argument("--faults", action="store_true", help="inject 429s, 500s, timeouts and 403s all along")
    args = parser.parse_args()
    from bot.settings import load_settings

    cfg = load_settings()
    limits = Limits(args.rate or cfg.send_rate_global, cfg.send_rate_private, cfg.send_rate_group_per_min)
    print(
        f"khaosat outbox benchmark: {args.count:,} messages, {args.per_chat} per chat, ceiling "
        f"{limits.global_per_sec:g}/s overall, {limits.private_per_sec:g}/s per chat ({os.cpu_count()} CPUs)"
    )
    if args.db == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            await run(
                f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
                "SQLite",
                args.count,
                args.per_chat,
                limits,
                args.faults,
            )
    else:
        async with scratch_database() as url:
            await run(url, "PostgreSQL", args.count, args.per_chat, limits, args.faults)


if __name__ == "__main__":
    asyncio.run(main())
