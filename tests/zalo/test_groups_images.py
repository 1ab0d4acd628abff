"""Published images (digest charts sent to Zalo by URL): unguessable tokens, served until they expire, then
deleted by the scheduler's tick."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage.db import Database
from storage.repo import images
from tests.conftest import Clock


async def test_an_image_is_kept_until_it_expires_and_then_purged(db: Database, clock: Clock) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    async with db.write() as conn:
        token = await images.publish(conn, png, clock(), timedelta(days=3))
        other = await images.publish(conn, b"\x89PNG other", clock(), timedelta(hours=1))
    assert token != other and len(token) == 32 and token.replace("-", "").replace("_", "").isalnum()
    assert images.url_of("https://khaosat.example.gov.vn/", token) == f"https://khaosat.example.gov.vn/i/{token}.png"
    async with db.read() as conn:
        assert await images.get(conn, token, clock() + timedelta(days=2, hours=23)) == png
        assert await images.get(conn, token, clock() + timedelta(days=3)) is None  # expired
        assert await images.get(conn, "not-a-token", clock()) is None
    async with db.write() as conn:
        assert await images.purge_expired(conn, clock() + timedelta(hours=2)) == 1  # the hour-long one
        assert await images.get(conn, token, clock()) == png
    with pytest.raises(ValueError, match="kept for some time"):
        async with db.write() as conn:
            await images.publish(conn, png, clock(), timedelta(0))


async def test_the_tick_deletes_expired_images(db: Database, clock: Clock) -> None:
    from bot.app import scheduler_config
    from bot.settings import Settings
    from scheduler.app import SchedulerService

    async with db.write() as conn:
        token = await images.publish(conn, b"\x89PNG", clock(), timedelta(days=3))
    service = SchedulerService(db, clock, scheduler_config(Settings(_env_file=None)), {})  # type: ignore[call-arg]
    clock.advance(days=3, minutes=1)
    report = await service.tick()
    assert report.errors == []
    async with db.read() as conn:
        assert await images.get(conn, token, clock() - timedelta(days=1)) is None  # the row itself is gone
