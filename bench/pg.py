"""A throw-away PostgreSQL database for a benchmark run (KHAOSAT_BENCH_PG names the server)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

PG_SERVER = os.environ.get("KHAOSAT_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_SERVER)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def scratch_database(prefix: str = "khaosat_bench") -> AsyncIterator[str]:
    """Create a database, yield its SQLAlchemy URL, drop it afterwards (even if connections are left)."""
    name = f"{prefix}_{secrets.token_hex(3)}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        base = PG_SERVER.rsplit("/", 1)[0].split("://", 1)[1]
        yield f"postgresql+asyncpg://{base}/{name}"
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
