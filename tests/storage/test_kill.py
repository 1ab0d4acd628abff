"""Killing the process between answers loses nothing: every answer whose commit was reported is stored,
and a new process resumes at the next unanswered question."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from flows.events import QuestionAsked
from storage.conversation import ConversationService, Who
from storage.db import Database
from storage.repo.sql import answer
from tests.conftest import Clock, create_live_campaign
from tests.storage.kill_worker import ANSWERS

pytestmark = pytest.mark.slow  # subprocesses, a browser or many requests: see README, Development

ROOT = Path(__file__).resolve().parents[2]


async def test_kill_9_between_answers_loses_nothing(db: Database, db_url: str, clock: Clock) -> None:
    from datetime import UTC, datetime

    clock.now = datetime.now(UTC)
    await create_live_campaign(db, clock())
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.storage.kill_worker",
        db_url,
        "4242",
        "900000",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    acked: list[str] = []
    assert proc.stdout is not None
    try:
        while len(acked) < 6:
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().split()
            assert line and line[0] == "ACK", line
            acked.append(line[1])
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL

    async with db.read() as conn:
        stored = dict((await conn.execute(sa.select(answer.c.question_id, answer.c.value))).all())
    for qid in acked:
        assert stored[qid] == ANSWERS[qid], f"lost {qid}"
    assert len(stored) in (len(acked) + 1, len(acked) + 2)  # the ward, and perhaps one answer not yet reported

    service = ConversationService(db, b"kill-secret", clock)
    view = await service.view(Who("telegram", "4242"))
    event = view.events[-1]
    assert isinstance(event, QuestionAsked)
    assert event.question_id not in stored
    order = [q for q in ANSWERS if q in stored]
    assert order == list(ANSWERS)[: len(order)]  # answered in order, nothing skipped
