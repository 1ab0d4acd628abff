"""Many machines: two independent `khaosat run` processes on different ports, sharing one PostgreSQL, behind a
round-robin proxy (as a load balancer would put them). A person's updates alternate between the two; one
scheduler is active; every citizen finishes; nothing is lost or stored twice."""

from __future__ import annotations

import asyncio
import itertools

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from bench.fake_telegram import FastTelegram
from bench.load import BotProcess, Stats, khaosat_process, prepare_khaosat
from tests.conftest import PgDatabases
from tests.faults.test_kill_and_outage import CITIZENS, check_nothing_lost, run_walkers

pytestmark = pytest.mark.slow  # subprocesses, a browser or many requests: see README, Development


class RoundRobin:
    """An HTTP proxy that sends each request to the next instance in turn (and says 502 if it is down)."""

    def __init__(self, upstreams: list[str]) -> None:
        self.upstreams = upstreams
        self.turn = itertools.cycle(range(len(upstreams)))
        self.served = [0] * len(upstreams)
        self.runner: web.AppRunner | None = None
        self.url = ""
        self.http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self.http = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_post("/tg", self.forward)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/tg"

    async def forward(self, request: web.Request) -> web.Response:
        assert self.http is not None
        index = next(self.turn)
        body = await request.read()
        wanted = ("content-type", "x-telegram-bot-api-secret-token")
        headers = {k: v for k, v in request.headers.items() if k.lower() in wanted}
        try:
            async with self.http.post(self.upstreams[index], data=body, headers=headers) as r:
                self.served[index] += 1
                return web.Response(status=r.status, body=await r.read(), content_type=r.content_type)
        except aiohttp.ClientError:
            return web.Response(status=502)

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.close()
        if self.runner is not None:
            await self.runner.cleanup()


class Behind:
    """What the walkers need of a bot: its URL (the proxy's)."""

    def __init__(self, url: str) -> None:
        self.url = url


async def advisory_locks(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()"
            )
        )
    finally:
        await conn.close()


@pytest.fixture
def shared_url(pg_databases: PgDatabases) -> str:
    """A PostgreSQL database of its own (many machines share PostgreSQL; SQLite is one machine's file)."""
    return pg_databases.create("two")


async def test_two_instances_behind_a_round_robin_proxy_share_one_postgresql(shared_url: str) -> None:
    db_url = shared_url
    dsn = "postgresql://" + db_url.split("://", 1)[1]
    await prepare_khaosat(db_url)
    tg = FastTelegram()
    await tg.start()
    instances: list[BotProcess] = []
    proxy: RoundRobin | None = None
    try:
        for _ in range(2):
            bot = khaosat_process(db_url, tg)
            bot.env["SCHEDULER_ENABLED"] = "true"
            bot.env["SCHEDULER_STANDBY_SECONDS"] = "1"
            await bot.start(tg)
            instances.append(bot)
        proxy = RoundRobin([bot.url for bot in instances])
        await proxy.start()
        for _ in range(100):  # each scheduler has tried to lead by now: one holds the lock
            if await advisory_locks(dsn) == 1:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)  # the standby has tried again
        assert await advisory_locks(dsn) == 1, "exactly one scheduler is active"
        stats = Stats()
        tasks = await run_walkers(tg, Behind(proxy.url), stats, seed=4)  # type: ignore[arg-type]
        await asyncio.wait_for(asyncio.gather(*tasks), 240)
        assert min(proxy.served) > CITIZENS * 5, f"both instances served updates: {proxy.served}"
        assert await advisory_locks(dsn) == 1
    finally:
        if proxy is not None:
            await proxy.stop()
        for bot in instances:
            await bot.stop()
        await tg.stop()
    result = await check_nothing_lost(db_url, stats)
    assert stats.errors == []
    assert result == {"lost": 0, "duplicated": 0, "completed": CITIZENS, "respondents": CITIZENS}
