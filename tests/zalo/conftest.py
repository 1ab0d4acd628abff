"""Fixtures for the Zalo channel's tests: the fake Zalo Bot API and a live campaign over Hanoi wards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from tests.zalo.fake_api import FakeZaloAPI


@pytest.fixture
async def fake() -> AsyncIterator[FakeZaloAPI]:
    async with FakeZaloAPI() as server:
        yield server
    too_long = [s.text for s in server.sent if not 0 < len(s.text) <= 2000]
    assert not too_long, "a message over 2,000 characters (or empty) was sent"


def now() -> datetime:
    return datetime.now(UTC)
