"""Published images: a PNG (a digest's chart) served at an unguessable address until it expires, for channels
that take pictures by URL (Zalo's sendPhoto fetches the photo from us)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.repo.sql import published_image

PATH = "/i/{token}.png"
"""Where the web server serves an image (`web.images`)."""
TOKEN_BYTES = 24
"""192 random bits: the address cannot be guessed, so a chart is seen only by whom it was sent to."""


async def publish(conn: AsyncConnection, png: bytes, now: datetime, valid_for: timedelta) -> str:
    """Keep a PNG until `now + valid_for`; its token (URL-safe, for `/i/<token>.png`)."""
    if valid_for <= timedelta(0):
        raise ValueError(f"an image must be kept for some time, not {valid_for}")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    await conn.execute(
        published_image.insert().values(token=token, png=png, created_at=now, expires_at=now + valid_for)
    )
    return token


async def get(conn: AsyncConnection, token: str, now: datetime) -> bytes | None:
    """The PNG under a token, unless it is unknown or expired."""
    q = sa.select(published_image.c.png).where(published_image.c.token == token, published_image.c.expires_at > now)
    png = (await conn.execute(q)).scalar_one_or_none()
    return None if png is None else bytes(png)


async def purge_expired(conn: AsyncConnection, now: datetime) -> int:
    """Delete the images whose time is up; how many."""
    result = await conn.execute(published_image.delete().where(published_image.c.expires_at <= now))
    return int(result.rowcount or 0)


def url_of(base: str, token: str) -> str:
    """The image's address under this server's public address."""
    return base.rstrip("/") + PATH.format(token=token)
