"""Only one scheduler may be active: leader election over the database we already have.

* PostgreSQL: `pg_try_advisory_lock` on a dedicated connection, held for as long as this scheduler leads.
  If the process dies its connection closes and PostgreSQL releases the lock; a standby, retrying every
  few seconds, takes over. If the connection is lost while the process lives, `alive()` turns False and
  the scheduler steps down (its jobs stop) before trying to lead again.
* SQLite: an exclusive `flock` on a lock file next to the database (`khaosat.db.scheduler.lock`). The
  operating system releases it when the process dies. (An in-memory database has no file: no election.)

    leader = leader_for(db)
    if await leader.try_acquire(): ...   # this process leads
    await leader.alive()                 # still leading?
    await leader.release()
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.engine import make_url

from storage.db import Database

log = logging.getLogger(__name__)

LOCK_NAME = "khaosat-scheduler"


def advisory_key(name: str = LOCK_NAME) -> int:
    """A stable signed 64-bit key for pg_advisory_lock, from a name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class Leader(Protocol):
    description: str

    async def try_acquire(self) -> bool: ...

    async def alive(self) -> bool: ...

    async def release(self) -> None: ...


class PostgresLeader:
    """Holds `pg_advisory_lock(key)` on its own connection (not from the pool: the lock belongs to a session)."""

    def __init__(self, dsn: str, key: int | None = None, connect_timeout: float = 10.0) -> None:
        self.dsn = dsn
        self.key = advisory_key() if key is None else key
        self.connect_timeout = connect_timeout
        self._conn: Any = None
        self.description = f"PostgreSQL advisory lock {self.key}"

    @classmethod
    def for_database(cls, db: Database, key: int | None = None) -> PostgresLeader:
        dsn = make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)
        return cls(dsn, key)

    async def try_acquire(self) -> bool:
        import asyncpg

        if self._conn is not None and not self._conn.is_closed():
            return await self.alive()
        try:
            conn = await asyncpg.connect(self.dsn, timeout=self.connect_timeout)
        except (OSError, asyncpg.PostgresError, TimeoutError) as e:
            log.warning("scheduler election: cannot reach PostgreSQL: %s", e)
            return False
        try:
            got = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key))
        except Exception as e:  # any failure: not leading
            log.warning("scheduler election failed: %s", e)
            got = False
        if not got:
            await _close_quietly(conn)
            return False
        self._conn = conn
        return True

    async def alive(self) -> bool:
        """Still holding the lock (the session is up, and the lock is ours)."""
        conn = self._conn
        if conn is None or conn.is_closed():
            return False
        try:
            # A session-level advisory lock lasts as long as the session: the session up means the lock held.
            await asyncio.wait_for(conn.fetchval("SELECT 1"), timeout=self.connect_timeout)
        except Exception:  # a closed, killed or confused session: the lock is not ours any more
            await self._drop()
            return False
        return True

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None or conn.is_closed():
            return
        with contextlib.suppress(Exception):
            await conn.execute("SELECT pg_advisory_unlock($1)", self.key)
        await _close_quietly(conn)

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await _close_quietly(conn)

    @property
    def backend_pid(self) -> int | None:
        """The server process holding the lock (for tests that simulate a crash)."""
        return None if self._conn is None else int(self._conn.get_server_pid())


class FileLeader:
    """An exclusive, non-blocking `flock` on a file; the OS releases it when the process exits."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        self.description = f"lock file {self.path}"

    async def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    async def alive(self) -> bool:
        return self._fd is not None

    async def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class SoleLeader:
    """No election (an in-memory SQLite database lives in one process only)."""

    description = "in-memory database (single process)"

    def __init__(self) -> None:
        self._held = False

    async def try_acquire(self) -> bool:
        self._held = True
        return True

    async def alive(self) -> bool:
        return self._held

    async def release(self) -> None:
        self._held = False


def sqlite_lock_path(db: Database) -> Path | None:
    database = make_url(db.url).database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database).with_name(Path(database).name + ".scheduler.lock")


def leader_for(db: Database, lock_file: Path | None = None) -> Leader:
    """The right election for this database: an advisory lock (PostgreSQL) or a lock file (SQLite)."""
    if not db.is_sqlite:
        return PostgresLeader.for_database(db)
    path = lock_file or sqlite_lock_path(db)
    return SoleLeader() if path is None else FileLeader(path)


async def _close_quietly(conn: Any) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(conn.close(), 5)
    if not conn.is_closed():
        conn.terminate()
