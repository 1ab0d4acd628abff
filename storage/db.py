"""Database connections: SQLite (embedded default) and PostgreSQL (production), both async.

Writes go through `Database.write()`: one transaction, serialised per process on SQLite (a single writer,
`BEGIN IMMEDIATE`), and per respondent on PostgreSQL (row locks taken by the callers).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Generator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

if TYPE_CHECKING:
    import asyncpg
    from asyncpg.pool import PoolConnectionProxy

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite+aiosqlite:///./khaosat.db"
SQLITE_BUSY_TIMEOUT_MS = 10_000


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached (or is locked beyond the busy timeout)."""


class UnsupportedDatabase(ValueError):
    pass


def normalise_url(url: str) -> str:
    """Accept the usual spellings and pick the async drivers: postgres:// -> postgresql+asyncpg://."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        url = "sqlite+aiosqlite://" + url[len("sqlite://") :]
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        raise UnsupportedDatabase(f"cannot parse DATABASE_URL {url!r}") from None
    if parsed.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise UnsupportedDatabase(
            f"unsupported database {parsed.drivername!r}: use sqlite+aiosqlite:///path.db or "
            "postgresql+asyncpg://user@host/db"
        )
    return url


Program = Generator[tuple[str, tuple[Any, ...]], Any, Any]
"""A transaction written once for both databases: it yields (statement name, arguments) and receives the
first row of each result (or None). See `storage.conversation.fastpath`."""


class _Busy(Exception):
    """SQLite's write lock is held by another connection (another process)."""


class Database:
    def __init__(
        self, url: str = DEFAULT_URL, *, pool_size: int = 10, echo: bool = False, background_checkpoints: bool = False
    ) -> None:
        self.url = normalise_url(url)
        self.dialect = "sqlite" if self.url.startswith("sqlite") else "postgresql"
        self.pool_size = pool_size
        kwargs: dict[str, Any] = {"echo": echo}
        if self.dialect == "postgresql":
            # Connections beyond pool_size are closed when returned: under load (32 updates at once through the
            # webhook) they were opened and closed five times a second, each a new PostgreSQL backend. Keep
            # twice as many; the driver's own pool (the answer path) has pool_size more.
            kwargs.update(pool_size=2 * pool_size, max_overflow=pool_size, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        self._write_lock = asyncio.Lock()
        self._raw_lock = asyncio.Lock()
        self._pg_pool: asyncpg.Pool[asyncpg.Record] | None = None
        self._sqlite_conn: sqlite3.Connection | None = None
        self._sqlite_thread: ThreadPoolExecutor | None = None
        self.background_checkpoints = background_checkpoints and self.dialect == "sqlite"
        """SQLite: no checkpoint inside a commit; `checkpoint_loop()` copies the WAL back in the background."""
        if self.dialect == "sqlite":
            _create_private(make_url(self.url).database)
            _configure_sqlite(self.engine, self.background_checkpoints)

    async def run_program(
        self, program: Program, statements: dict[str, dict[str, str]], *, transaction: bool = True
    ) -> Any:
        """Run a transaction program on the driver's own connection: one thread hop for the whole
        transaction on SQLite (in the writer thread), one round trip per statement on PostgreSQL.

        SQLAlchemy costs ~0.15 ms per statement and ~0.5 ms per transaction here; the drivers ~0.04 ms. Any
        exception from the program rolls the transaction back and propagates.

        `transaction=False` (PostgreSQL only): each statement is its own transaction, for a program whose
        writes are made in one statement (`fastpath.optimistic_reply_program`).
        """
        sql = statements[self.dialect]
        if self.dialect == "sqlite":
            loop = asyncio.get_running_loop()
            deadline = loop.time() + SQLITE_BUSY_TIMEOUT_MS / 1000
            delay = 0.001
            async with self._write_lock:
                executor = await self._sqlite_executor()
                while True:
                    try:
                        return await loop.run_in_executor(executor, self._run_sqlite, program, sql)
                    except _Busy:
                        # another process holds the write lock: retry soon (SQLite's own busy handler
                        # sleeps up to 100 ms at a time, which shows as long tails under load)
                        if loop.time() > deadline:
                            raise sqlite3.OperationalError("database is locked") from None
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, 0.02)
        pool = await self._asyncpg_pool()
        async with pool.acquire() as conn:
            if not transaction:
                return await self._run_asyncpg(conn, program, sql)
            async with conn.transaction():
                return await self._run_asyncpg(conn, program, sql)

    @staticmethod
    async def _run_asyncpg(conn: PoolConnectionProxy[asyncpg.Record], program: Program, sql: dict[str, str]) -> Any:
        result: Any = None
        try:
            while True:
                name, args = program.send(result)
                result = await conn.fetchrow(sql[name], *args)
        except StopIteration as stop:
            return stop.value

    def _run_sqlite(self, program: Program, sql: dict[str, str]) -> Any:
        conn = self._sqlite_conn
        assert conn is not None
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            if "locked" in str(e) or "busy" in str(e):
                raise _Busy from None
            raise
        try:
            result: Any = None
            while True:
                name, args = program.send(result)
                result = conn.execute(sql[name], args).fetchone()
        except StopIteration as stop:
            conn.execute("COMMIT")
            return stop.value
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    async def _sqlite_executor(self) -> ThreadPoolExecutor:
        if self._sqlite_thread is None:
            executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="khaosat-sqlite")
            path = make_url(self.url).database or ":memory:"

            def connect() -> sqlite3.Connection:
                conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
                for pragma in _SQLITE_PRAGMAS:
                    conn.execute(pragma)
                conn.execute("PRAGMA busy_timeout=0")  # waits for the write lock in run_program instead
                if self.background_checkpoints:
                    conn.execute("PRAGMA wal_autocheckpoint=0")
                return conn

            self._sqlite_conn = await asyncio.get_running_loop().run_in_executor(executor, connect)
            self._sqlite_thread = executor
        return self._sqlite_thread

    async def _asyncpg_pool(self) -> asyncpg.Pool[asyncpg.Record]:
        async with self._raw_lock:
            if self._pg_pool is None:
                import asyncpg

                dsn = make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)
                self._pg_pool = await asyncpg.create_pool(
                    dsn,
                    min_size=1,
                    max_size=self.pool_size,
                    init=_init_asyncpg,
                    command_timeout=30,
                    reset=_keep_session,
                )
        return self._pg_pool

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    async def dispose(self) -> None:
        if self._pg_pool is not None:
            await self._pg_pool.close()
            self._pg_pool = None
        if self._sqlite_thread is not None:
            conn, self._sqlite_conn = self._sqlite_conn, None
            if conn is not None:
                await asyncio.get_running_loop().run_in_executor(self._sqlite_thread, conn.close)
            self._sqlite_thread.shutdown(wait=True)
            self._sqlite_thread = None
        await self.engine.dispose()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction, committed on success and rolled back on any exception."""
        if self.is_sqlite:
            async with self._write_lock, self.engine.connect() as conn:
                conn = await conn.execution_options(khaosat_begin="IMMEDIATE")
                async with conn.begin():
                    yield conn
        else:
            async with self.engine.begin() as conn:
                yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction (a consistent snapshot)."""
        async with self.engine.connect() as conn, conn.begin():
            yield conn

    async def checkpoint_loop(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        """SQLite with background checkpoints: every `interval`, copy the write-ahead log back into the
        database from a thread of its own (PASSIVE: it never blocks or waits for a writer). Without this, the
        commit that crosses the WAL's size limit does the copy itself, and every answer queued behind it waits
        (a stall of 100-300 ms every few seconds under load)."""
        if not self.background_checkpoints:
            return
        path = make_url(self.url).database or ""

        def checkpoint() -> None:
            conn = sqlite3.connect(path, timeout=1)
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                conn.close()

        while not stop.is_set():
            try:
                await asyncio.to_thread(checkpoint)
            except sqlite3.Error as e:
                log.debug("checkpoint skipped: %s", e)
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
            return True
        except Exception:  # any failure means "not reachable"
            return False


_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    # WAL + NORMAL: a committed transaction survives the process being killed; only an OS crash or a power
    # cut can lose the last transactions. That is the usual trade-off for an embedded database.
    "PRAGMA synchronous=NORMAL",
)


async def _keep_session(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    """Released connections skip asyncpg's reset query (a round trip each time): the hot path opens no
    cursors, sets no session variables, takes no advisory locks and listens to nothing. An unfinished
    transaction is still rolled back by asyncpg before this is called."""


async def _init_asyncpg(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    import json

    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


def _create_private(path: str | None) -> None:
    """Create a new SQLite database file readable by its owner only (0600), before SQLite creates it with
    0644. SQLite gives the -wal and -shm files the database file's mode, so they are 0600 too. An existing
    file keeps its mode; an in-memory database, a URI, a missing or read-only folder are left to SQLite (which
    says what is wrong when it connects)."""
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    with suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _configure_sqlite(engine: AsyncEngine, background_checkpoints: bool = False) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's implicit BEGIN is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
        if background_checkpoints:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("khaosat_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")
