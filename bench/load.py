"""Load test: simulated citizens answer the bundled survey through the bot's webhook, as deployed.

The bot runs as its own process (`khaosat run`, webhook mode); this process plays Telegram: it POSTs
`Update` JSON with the secret header (re-sending until a 2xx, as Telegram does), serves the Bot API the bot
calls (bench/fake_telegram.py), and presses the buttons the bot sends. The same load runs against two
baselines in bench/peers/: a conventional aiogram FSM bot (MemoryStorage, answers written at the end) and a
python-telegram-bot ConversationHandler bot.

    python -m bench.load                               # khaosat on SQLite and PostgreSQL, and both peers
    python -m bench.load --citizens 500 --targets khaosat-postgresql
    python -m bench.load --rate 300 --targets khaosat-postgresql   # open loop: latency at 300 answers/s

Reports answers committed per second, p50/p95/p99 latency from POST to 2xx, and the next-question latency:
from an answer's POST to the next question (or the thank-you) arriving at the fake Telegram, which is what a
person waits for whether a bot replies before its 2xx (khaosat) or after it (the aiogram peer).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.fake_telegram import FastTelegram, buttons, deliver
from bench.pg import scratch_database

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-webhook-secret"
NAVIGATION = {"◀ Quay lại", "Bỏ qua ⏭", "✖ Không đồng ý"}
CAMPAIGN = "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    """Latencies by kind of update: start (/start with a deep link), consent, toggle (a multi-choice
    selection), answer (a button or a typed text)."""
    next_question: list[float] = field(default_factory=list)
    """Seconds from an answer's POST to the next question (or the thank-you) arriving at the fake Telegram:
    what the person waits for, whether the bot replies before its 2xx or after it."""
    answers: int = 0
    updates: int = 0
    redeliveries: int = 0
    completed: int = 0
    errors: list[str] = field(default_factory=list)
    acknowledged: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    """(user, update) for every answering update that got a 2xx."""


class Pacer:
    """Open-loop pacing: answers are released at a fixed rate, whatever the bot's speed."""

    def __init__(self, rate: float | None) -> None:
        """`rate` in answers per second; the /start, consent and selection updates that come with the
        17 answers of a walk (20 updates in all) are paced too, so the offered load is steady."""
        self.interval = 17 / (20 * rate) if rate else 0.0
        self.next = time.monotonic()
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self.lock:
            now = time.monotonic()
            self.next = max(self.next + self.interval, now)
            delay = self.next - now
        if delay > 0:
            await asyncio.sleep(delay)


async def walk(
    tg: FastTelegram,
    http: aiohttp.ClientSession,
    url: str,
    user_id: int,
    ward: int,
    stats: Stats,
    pacer: Pacer,
    wait_reply: bool,
) -> None:
    """One citizen: deep link, consent, then every question until the thank-you."""

    async def post(update: dict[str, Any], kind: str, new_message: bool = True) -> None:
        counts_as_answer = kind in ("answer", "typed answer")
        chat = tg.chat(user_id)
        before = chat.version
        last_before = max(chat.messages, default=0)
        await pacer.wait()  # open loop: every update is released at the offered rate
        posted = time.perf_counter()
        latency, attempts = await deliver(http, url, SECRET, update)
        stats.updates += 1
        stats.redeliveries += attempts - 1
        stats.latencies.append(latency)
        stats.by_kind.setdefault(kind, []).append(latency)
        if counts_as_answer:
            stats.answers += 1
            stats.acknowledged.append((user_id, update))

        def replied() -> bool:
            if new_message:
                return max(chat.messages, default=0) > last_before
            return chat.version > before

        if wait_reply or (counts_as_answer and new_message):
            # a bot that answers 200 before processing: wait for its reply; an answer: wait for the next
            # question (khaosat's arrives before its 2xx), to time what the person waits for
            deadline = time.monotonic() + 30
            while not replied() and time.monotonic() < deadline:
                changed = chat.changed
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), 1)
        if counts_as_answer and new_message and replied():
            first_new = min(m for m in chat.messages if m > last_before)
            stats.next_question.append(chat.arrived[first_new] - posted)

    await post(tg.message_update(user_id, f"/start {CAMPAIGN}_{ward}"), "start")
    for _ in range(80):
        last = tg.last(user_id)
        if last is None:
            raise AssertionError(f"user {user_id}: no reply to /start")
        if last["text"].startswith("🎉"):
            stats.completed += 1
            return
        prompt = tg.last_with_buttons(user_id)
        options = [(label, data) for label, data in buttons(prompt)] if prompt is not None else []
        labels = [label for label, _ in options]
        choices = [(label, data) for label, data in options if label not in NAVIGATION]
        if prompt is not None and "✅ Tôi đồng ý" in labels:
            await post(tg.callback_update(user_id, prompt, dict(options)["✅ Tôi đồng ý"]), "consent")
        elif prompt is not None and prompt is last and any(label.startswith("✔") for label in labels):
            toggle = next((data for label, data in choices if not label.startswith(("✔", "✓"))), None)
            if toggle is None:
                raise AssertionError(f"user {user_id}: no choice to select: {labels}")
            await post(tg.callback_update(user_id, prompt, toggle), "toggle", new_message=False)
            prompt = tg.last_with_buttons(user_id)
            assert prompt is not None
            done = [data for label, data in buttons(prompt) if label.startswith("✔ Xong (1)")]
            if not done:
                raise AssertionError(f"user {user_id}: the selection was not shown: {buttons(prompt)}")
            await post(tg.callback_update(user_id, prompt, done[0]), "answer")
        elif prompt is not None and prompt is last and choices:
            await post(tg.callback_update(user_id, prompt, choices[0][1]), "answer")
        else:  # a typed question (a number, a comment)
            typed = (
                "3" if ("lần" in last["text"] or "số" in last["text"]) else "Cần thêm cây xanh và vỉa hè thông thoáng."
            )
            await post(tg.message_update(user_id, typed), "typed answer")
    raise AssertionError(f"user {user_id} did not finish: last message {tg.last(user_id)}")


# --- targets -----------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def database(kind: str) -> AsyncIterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite+aiosqlite:///{Path(tmp) / 'load.db'}"
        return
    async with scratch_database("khaosat_load") as url:
        yield url


async def prepare_khaosat(db_url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from flows.loader import bundled_survey_path, load_survey
    from storage import migrate
    from storage.db import Database
    from storage.repo import campaigns, surveys, wards

    db = Database(db_url)
    await migrate.prepare(db, 1, auto=False)
    now = datetime.now(UTC)
    async with db.write() as conn:
        record, _ = await surveys.publish(conn, load_survey(bundled_survey_path()), now)
        units = await wards.search(conn, None, 1)
        await campaigns.create(
            conn,
            code=CAMPAIGN,
            survey_id=record.id,
            title="Bench",
            wards=[u.code for u in units],
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=1),
            now=now,
        )
        await campaigns.launch(conn, CAMPAIGN, now)
    await db.dispose()


async def committed_answers(db_url: str) -> int:
    import sqlalchemy as sa

    from storage.db import Database
    from storage.repo.sql import answer

    db = Database(db_url)
    async with db.read() as conn:
        n = int((await conn.execute(sa.select(sa.func.count()).select_from(answer))).scalar_one())
    await db.dispose()
    return n


def postgres_cpu_seconds() -> float:
    """CPU time (user + system) used so far by the PostgreSQL server's processes on this machine, the
    backends that have exited included (counted in their parent's children times)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat.rsplit(")", 1)[1].split()
        if name.startswith("postgres"):
            total += sum(int(f) for f in fields[11:15]) / tick
    return total


class BotProcess:
    """A bot under test, as a separate process listening for webhook calls."""

    def __init__(self, argv: list[str], env: dict[str, str], port: int) -> None:
        self.argv = argv
        self.env = env
        self.port = port
        self.proc: asyncio.subprocess.Process | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="bot-", suffix=".log", delete=False)  # noqa: SIM115

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/tg"

    async def start(self, tg: FastTelegram, timeout: float = 60) -> None:
        tg.webhook = None
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, cwd=ROOT, env={**os.environ, **self.env}, stdout=self.log, stderr=self.log
        )
        deadline = time.monotonic() + timeout
        while tg.webhook is None:
            if self.proc.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"bot did not start: see {self.log.name}")
            await asyncio.sleep(0.05)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the bot and its worker processes (Linux /proc)."""
        if self.proc is None:
            return 0.0
        stats: dict[int, tuple[int, float]] = {}  # pid -> (parent, seconds)
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
        tree = {self.proc.pid}
        grew = True
        while grew:
            grew = False
            for pid, (parent, _) in stats.items():
                if parent in tree and pid not in tree:
                    tree.add(pid)
                    grew = True
        return sum(stats[pid][1] for pid in tree if pid in stats)

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


def khaosat_process(db_url: str, tg: FastTelegram) -> BotProcess:
    port = free_port()
    env = {
        "DATABASE_URL": db_url,
        "SECRET_KEY": "bench",
        "TELEGRAM_BOT_TOKEN": "123456:BENCH",
        "TELEGRAM_API_BASE": tg.base_url,
        "TELEGRAM_MODE": "webhook",
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/tg",
        "WEBHOOK_PATH": "/tg",
        "WEBHOOK_SECRET": SECRET,
        "WEB_PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "SCHEDULER_ENABLED": "false",
        "WEB_WORKERS": os.environ.get("KHAOSAT_BENCH_WORKERS", "1"),
        "PYTHONPATH": str(ROOT),
        **({"PYTHONASYNCIODEBUG": "1"} if os.environ.get("KHAOSAT_BENCH_DEBUG") else {}),
    }
    argv = [sys.executable, os.environ["KHAOSAT_BENCH_BOT"]] if os.environ.get("KHAOSAT_BENCH_BOT") else None
    return BotProcess(argv or [sys.executable, "-m", "bot", "run"], env, port)


def peer_process(module: str, db_url: str, tg: FastTelegram) -> BotProcess:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        module,
        "--api-base",
        tg.base_url,
        "--port",
        str(port),
        "--secret",
        SECRET,
        "--db-url",
        db_url,
    ]
    return BotProcess(argv, {"PYTHONPATH": str(ROOT)}, port)


async def run_target(target: str, citizens: int, concurrency: int, rate: float | None) -> dict[str, Any]:
    name, _, kind = target.partition("-")
    tg = FastTelegram()
    await tg.start()
    async with database("sqlite" if kind in ("", "memory") else kind) as db_url:
        if name == "khaosat":
            await prepare_khaosat(db_url)
            bot = khaosat_process(db_url, tg)
        elif name == "aiogram":
            bot = peer_process("bench.peers.aiogram_fsm", db_url, tg)
        elif name == "floor":
            bot = peer_process("bench.peers.raw_floor", db_url, tg)
        else:
            bot = peer_process("bench.peers.ptb_conversation", db_url, tg)
        await bot.start(tg)
        if name == "khaosat" and os.environ.get("KHAOSAT_BENCH_WORKERS", "1") != "1":
            await asyncio.sleep(8)  # let the worker processes start listening before connections are made
        stats = Stats()
        pacer = Pacer(rate)
        sem = asyncio.Semaphore(concurrency)
        wards = [70, 235, 4, 8, 73, 256, 283, 277, 226, 196]
        connector = aiohttp.TCPConnector(limit=concurrency)
        try:
            async with aiohttp.ClientSession(connector=connector) as http:

                async def one(i: int) -> None:
                    async with sem:
                        try:
                            await walk(
                                tg,
                                http,
                                bot.url,
                                700_000 + i,
                                wards[i % len(wards)],
                                stats,
                                pacer,
                                wait_reply=name not in ("khaosat", "floor"),
                            )
                        except Exception as e:  # report, keep going
                            stats.errors.append(f"{type(e).__name__}: {e}")

                # warm up (imports, caches, connection pools) before measuring
                warm = Stats()
                await asyncio.gather(
                    *(
                        walk(
                            tg,
                            http,
                            bot.url,
                            600_000 + i,
                            wards[i],
                            warm,
                            Pacer(None),
                            wait_reply=name not in ("khaosat", "floor"),
                        )
                        for i in range(4)
                    )
                )
                cpu0 = bot.cpu_seconds()
                pg0 = postgres_cpu_seconds()
                harness0 = time.process_time()
                # Like timeit, no cyclic garbage collection in this process while it measures: a full
                # collection over the updates and replies it keeps (0.2 s on this machine) stalled every
                # request and reply in flight, the bot's included, and counted as the bot's latency.
                gc.collect()
                gc.disable()
                t0 = time.perf_counter()
                try:
                    await asyncio.gather(*(one(i) for i in range(citizens)))
                finally:
                    elapsed = time.perf_counter() - t0
                    gc.enable()
                cpu = bot.cpu_seconds() - cpu0
                pg_cpu = postgres_cpu_seconds() - pg0 if "postgresql" in target else None
                harness_cpu = time.process_time() - harness0
                server_side = ""
                if name == "khaosat":
                    with contextlib.suppress(Exception):
                        async with http.get(bot.url.rsplit("/", 1)[0] + "/metrics") as r:
                            text = (await r.text()).splitlines()
                        lines = [ln for ln in text if ln.startswith("khaosat_update_seconds")]
                        paths = [ln for ln in text if ln.startswith("khaosat_answer_paths_total")]
                        server_side = ", ".join(_quantile(ln) for ln in lines)
                        if paths:  # 'khaosat_answer_paths_total{path="locked"} 12.0' -> 'locked 12'
                            server_side += "; answers by path: " + ", ".join(
                                f"{ln.split(chr(34))[1]} {float(ln.split()[-1]):.0f}" for ln in paths
                            )
        finally:
            await bot.stop()
            await tg.stop()
        stored = await committed_answers(db_url) if name == "khaosat" else None
    lat = sorted(stats.latencies)

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(len(lat) * p))] * 1000 if lat else float("nan")

    return {
        "target": target,
        "citizens": citizens,
        "completed": stats.completed,
        "answers": stats.answers,
        "stored": stored,
        "seconds": elapsed,
        "answers_per_s": stats.answers / elapsed,
        "p50": pct(0.50),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "mean": statistics.fmean(lat) * 1000 if lat else float("nan"),
        "by_kind": {kind: _percentiles(values) for kind, values in sorted(stats.by_kind.items())},
        "next_question": _percentiles(stats.next_question) if stats.next_question else None,
        "redeliveries": stats.redeliveries,
        "cpu_ms_per_answer": cpu * 1000 / max(stats.answers, 1),
        "harness_cpu_ms_per_answer": harness_cpu * 1000 / max(stats.answers, 1),
        "pg_cpu_ms_per_answer": None if pg_cpu is None else pg_cpu * 1000 / max(stats.answers, 1),
        "server_side": server_side,
        "errors": stats.errors[:5],
        "error_count": len(stats.errors),
    }


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    shares = {f"p{int(p * 100)}": ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000 for p in (0.5, 0.99)}
    return {"n": len(ordered), **shares}


def _quantile(line: str) -> str:
    """'khaosat_update_seconds{quantile="0.99"} 0.012' -> 'p99 12.0 ms'."""
    q = float(line.split('quantile="')[1].split('"')[0])
    return f"p{q * 100:g} {float(line.split()[-1]) * 1000:.1f} ms"


def report(r: dict[str, Any]) -> None:
    stored = f", {r['stored']} stored" if r["stored"] is not None else ""
    print(
        f"{r['target']:22s} {r['completed']:5d}/{r['citizens']} citizens, {r['answers']:6d} answers{stored} in "
        f"{r['seconds']:6.1f} s = {r['answers_per_s']:6.0f} answers/s; POST->2xx p50 {r['p50']:6.1f} ms, "
        f"p95 {r['p95']:6.1f} ms, p99 {r['p99']:6.1f} ms; bot CPU {r['cpu_ms_per_answer']:.2f} ms/answer "
        f"(load generator and fake Telegram: {r['harness_cpu_ms_per_answer']:.2f}"
        + (f", PostgreSQL: {r['pg_cpu_ms_per_answer']:.2f}" if r.get("pg_cpu_ms_per_answer") is not None else "")
        + ")"
        + (f"; handling in the bot (one process): {r['server_side']}" if r.get("server_side") else "")
        + (f"; {r['error_count']} errors e.g. {r['errors'][0]}" if r["error_count"] else "")
    )
    nq = r.get("next_question")
    if nq:
        print(
            f"{'':22s} next question (answer POST -> next question at Telegram, {nq['n']:.0f}): "
            f"p50 {nq['p50']:.1f} ms, p99 {nq['p99']:.1f} ms"
        )
    kinds = "; ".join(
        f"{kind} ({q['n']:.0f}) p50 {q['p50']:.1f} ms, p99 {q['p99']:.1f} ms"
        for kind, q in r.get("by_kind", {}).items()
    )
    if kinds:
        print(f"{'':22s} by kind of update: {kinds}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--citizens", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64, help="citizens answering at the same moment")
    parser.add_argument("--rate", type=float, default=None, help="open loop: answers per second to offer")
    parser.add_argument(
        "--targets",
        default="khaosat-sqlite,khaosat-postgresql,aiogram-memory,ptb-memory",
        help="comma-separated: khaosat-sqlite, khaosat-postgresql, aiogram-memory, ptb-memory, and floor-memory "
        "(bench/peers/raw_floor.py: no framework, no database; the ceiling of this machine for the traffic)",
    )
    args = parser.parse_args()
    print(
        f"khaosat load test: {args.citizens} citizens, {args.concurrency} at once, "
        f"{'open loop at ' + str(args.rate) + ' answers/s' if args.rate else 'closed loop'}, "
        f"{os.cpu_count()} CPUs"
    )
    results = []
    for target in args.targets.split(","):
        r = await run_target(target.strip(), args.citizens, args.concurrency, args.rate)
        report(r)
        results.append(r)
    by_name = {r["target"]: r for r in results}
    for peer in ("aiogram-memory", "ptb-memory", "floor-memory"):
        if peer not in by_name:
            continue
        for mine in ("khaosat-postgresql", "khaosat-sqlite"):
            if mine in by_name:
                ratio = by_name[mine]["answers_per_s"] / by_name[peer]["answers_per_s"]
                print(f"ratio {mine} / {peer}: {ratio:.2f}")


if __name__ == "__main__":
    # the load generator and the fake Telegram share the machine with the bot: on uvloop they take less of it
    # (and add less delay of their own to the latencies they measure)
    from bot.eventloop import run

    run(main())
