"""Faults under load, with the bot as a real process behind its webhook: kill -9 in the middle, a database
that goes away for a few seconds. Telegram's redelivery is played by the harness (an update is re-sent until
it gets a 2xx). Every acknowledged answer must be stored, none twice, and everyone must be able to finish."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa

from bench.fake_telegram import FastTelegram
from bench.load import BotProcess, Pacer, Stats, khaosat_process, prepare_khaosat, walk
from storage.conversation import respondent_key
from storage.db import Database
from storage.repo.sql import answer, respondent, response

pytestmark = pytest.mark.slow  # subprocesses, a browser or many requests: see README, Development

CITIZENS = 24


def intended(update: dict[str, Any]) -> tuple[str, Any] | None:
    """(question, value) an acknowledged answering update was meant to store, when the update says it."""
    data = update.get("callback_query", {}).get("data", "")
    if data.startswith("a:"):
        _, _, qid, value = data.split(":", 3)
        return qid, value
    return None


async def check_nothing_lost(db_url: str, stats: Stats) -> dict[str, int]:
    db = Database(db_url)
    try:
        async with db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(respondent.c.key, answer.c.question_id, answer.c.value, response.c.status)
                    .join(response, response.c.respondent_id == respondent.c.id)
                    .join(answer, answer.c.response_id == response.c.id)
                )
            ).all()
    finally:
        await db.dispose()
    stored: dict[str, dict[str, Any]] = defaultdict(dict)
    statuses: dict[str, set[str]] = defaultdict(set)
    for key, qid, value, status in rows:
        assert qid not in stored[key], f"{qid} stored twice for {key}"
        stored[key][qid] = value
        statuses[key].add(status)
    lost = duplicated = 0
    for user_id, update in stats.acknowledged:
        meant = intended(update)
        if meant is None:
            continue
        key = respondent_key(b"bench", "telegram", str(user_id))
        qid, value = meant
        if qid not in stored[key]:
            lost += 1
        elif str(stored[key][qid]) != value:
            duplicated += 1  # applied to another question, or twice
    completed = sum(1 for s in statuses.values() if s == {"completed"})
    return {"lost": lost, "duplicated": duplicated, "completed": completed, "respondents": len(stored)}


async def run_walkers(tg: FastTelegram, bot: BotProcess, stats: Stats, seed: int) -> list[asyncio.Task[None]]:
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
    wards = [70, 235, 4, 8]

    async def one(i: int) -> None:
        await asyncio.sleep(random.Random(seed + i).random() * 0.5)
        try:
            await walk(tg, http, bot.url, 800_000 + i, wards[i % 4], stats, Pacer(None), wait_reply=False)
        except Exception as e:
            stats.errors.append(f"{type(e).__name__}: {e}")

    walkers = [asyncio.create_task(one(i)) for i in range(CITIZENS)]

    async def close_when_done() -> None:
        await asyncio.gather(*walkers, return_exceptions=True)
        await http.close()

    return [*walkers, asyncio.create_task(close_when_done())]


@pytest.fixture
async def telegram() -> Any:
    tg = FastTelegram()
    await tg.start()
    yield tg
    await tg.stop()


async def test_kill_9_under_load_loses_nothing(telegram: FastTelegram, db_url: str, db: Database) -> None:
    await prepare_khaosat(db_url)
    bot = khaosat_process(db_url, telegram)
    await bot.start(telegram)
    stats = Stats()
    tasks = await run_walkers(telegram, bot, stats, seed=1)
    try:
        while stats.answers < CITIZENS * 5:  # a third of the way through
            await asyncio.sleep(0.01)
        bot.kill()  # kill -9 in the middle of the load
        await bot.proc.wait()  # type: ignore[union-attr]
        await asyncio.sleep(0.5)  # Telegram keeps re-sending, into refused connections
        await bot.start(telegram)
        await asyncio.wait_for(asyncio.gather(*tasks), 180)
    finally:
        await bot.stop()
        for task in tasks:
            task.cancel()
    result = await check_nothing_lost(db_url, stats)
    print(
        f"kill -9 under load: lost: {result['lost']}, duplicated: {result['duplicated']}, "
        f"redeliveries: {stats.redeliveries}"
    )
    assert stats.errors == []
    assert stats.redeliveries > 0, "the kill happened while updates were in flight"
    assert result == {"lost": 0, "duplicated": 0, "completed": CITIZENS, "respondents": CITIZENS}


class Proxy:
    """A TCP proxy in front of PostgreSQL that can be cut, to make the database unavailable."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.down = False
        self.connections: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self.connections |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.connections -= {writer, up_writer}

    def cut(self) -> None:
        self.down = True
        for w in list(self.connections):
            w.close()

    def restore(self) -> None:
        self.down = False

    async def stop(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()


async def test_database_unavailable_for_a_few_seconds(telegram: FastTelegram, db_url: str, db: Database) -> None:
    await prepare_khaosat(db_url)
    proxy: Proxy | None = None
    bot_url = db_url
    if not db.is_sqlite:
        proxy = Proxy(5432)
        await proxy.start()
        bot_url = db_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        assert bot_url != db_url
    bot = khaosat_process(bot_url, telegram)
    await bot.start(telegram)
    stats = Stats()
    tasks = await run_walkers(telegram, bot, stats, seed=2)
    locker: sqlite3.Connection | None = None
    try:
        while stats.answers < CITIZENS * 4:
            await asyncio.sleep(0.01)
        before = stats.redeliveries
        if proxy is not None:
            proxy.cut()  # PostgreSQL "restarts": connections drop, new ones are refused
        else:  # another program holds SQLite's write lock
            locker = sqlite3.connect(db_url.split("///", 1)[1], timeout=1)
            locker.execute("BEGIN EXCLUSIVE")
        await asyncio.sleep(3)
        if proxy is not None:
            proxy.restore()
        elif locker is not None:
            locker.rollback()
            locker.close()
        await asyncio.wait_for(asyncio.gather(*tasks), 180)
    finally:
        await bot.stop()
        if proxy is not None:
            await proxy.stop()
    result = await check_nothing_lost(db_url, stats)
    assert stats.errors == []
    if proxy is not None:
        assert stats.redeliveries > before, "the bot answered non-2xx while the database was away"
    assert result == {"lost": 0, "duplicated": 0, "completed": CITIZENS, "respondents": CITIZENS}


async def test_web_workers_share_the_load_and_a_killed_worker_loses_nothing(
    telegram: FastTelegram, db_url: str, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """WEB_WORKERS=2: a second process serves the webhook on the same port; kill -9 it in the middle of the
    load: Telegram's redelivery reaches the primary, the worker is restarted, nothing is lost."""
    await prepare_khaosat(db_url)
    bot = khaosat_process(db_url, telegram)
    bot.env["WEB_WORKERS"] = "2"
    await bot.start(telegram)
    assert bot.proc is not None
    deadline = asyncio.get_running_loop().time() + 90
    workers: list[int] = []
    while not workers and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.2)
        workers = [p for p in _all_descendants(bot.proc.pid) if _listens(p, bot.port)]
    assert workers, "no worker process listening on the webhook's port"
    stats = Stats()
    tasks = await run_walkers(telegram, bot, stats, seed=3)
    try:
        while stats.answers < CITIZENS * 5:
            await asyncio.sleep(0.01)
        before = stats.redeliveries
        os.kill(workers[0], signal.SIGKILL)
        await asyncio.wait_for(asyncio.gather(*tasks), 180)
    finally:
        await bot.stop()
    result = await check_nothing_lost(db_url, stats)
    assert stats.errors == []
    assert stats.redeliveries > before, "the killed worker was serving updates (they were delivered again)"
    assert result == {"lost": 0, "duplicated": 0, "completed": CITIZENS, "respondents": CITIZENS}


def _all_descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    tree, grew = {pid}, True
    while grew:
        grew = False
        for child, parent in parents.items():
            if parent in tree and child not in tree:
                tree.add(child)
                grew = True
    return sorted(tree - {pid})


def _listens(pid: int, port: int) -> bool:
    """Whether the process holds a TCP socket listening on the port (Linux /proc)."""
    try:
        inodes = {
            os.readlink(f"/proc/{pid}/fd/{fd}")[8:-1]
            for fd in os.listdir(f"/proc/{pid}/fd")
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:[")
        }
    except OSError:
        return False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port and fields[9] in inodes:
                return True
    return False
