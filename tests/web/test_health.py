"""/healthz and /metrics over real HTTP (SQLite and PostgreSQL)."""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import Application
from scheduler.outbox import SenderStats
from storage.repo import outbox
from tests.web.conftest import base_url
from tests.web.survey_helpers import answer, consented


async def fetch(app: Application, path: str) -> tuple[int, str, Any]:
    async with aiohttp.ClientSession() as session, session.get(base_url(app) + path) as r:
        return r.status, await r.text(), r.headers


async def scrape(app: Application) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics: (name, sorted labels) -> value."""
    status, text, headers = await fetch(app, "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


async def test_healthz(web_app: Application, monkeypatch: pytest.MonkeyPatch) -> None:
    status, text, headers = await fetch(web_app, "/healthz")
    dialect = web_app.db.dialect
    assert (status, text) == (200, f'{{"status": "ok", "database": "{dialect}"}}')
    assert headers["Cache-Control"] == "no-store"

    async def down() -> bool:
        return False

    monkeypatch.setattr(web_app.db, "ping", down)
    status, text, _ = await fetch(web_app, "/healthz")
    assert (status, text) == (503, f'{{"status": "unavailable", "database": "{dialect}"}}')


async def test_metrics_count_updates_answers_and_the_outbox(web_app: Application) -> None:
    before = await scrape(web_app)
    assert value(before, "khaosat_database_up") == 1
    assert value(before, "khaosat_updates_handled_total", channel="web", result="handled") == 0
    assert value(before, "khaosat_answers_stored") == 0
    assert value(before, "khaosat_responses", status="in_progress") == 0
    assert value(before, "khaosat_outbox_depth") == 0 and value(before, "khaosat_send_errors") == 0
    assert value(before, "khaosat_updates_handled_total", channel="telegram", result="handled") is None  # bot off
    assert ("python_info", ()) not in before  # labelled: present with its labels
    assert any(name == "python_info" for name, _ in before)

    citizen, page = await consented(web_app)  # consent: one submission, the ward stored
    async with citizen:
        answered = await answer(citizen, page)  # one more
        assert answered.question == "gender"
        await citizen.submit(page, value="18_29")  # the same form again: a duplicate
        await citizen.submit(answered, "skip")

    now = datetime.now(UTC)
    async with web_app.db.write() as conn:
        for n in range(3):
            message = outbox.NewMessage(recipient=str(1000 + n), kind="reminder", payload={}, dedupe_key=f"t:{n}")
            await outbox.enqueue(conn, message, now)
        first = await outbox.by_key(conn, "t:0")
        assert first is not None
        await outbox.record_outcomes(conn, [outbox.Outcome(first.id, "failed", now, error="400 Bad Request")])
    web_app.web_ctx.channels.append(
        SimpleNamespace(channel="telegram", handled=7, failed=1, retried=2, in_flight=1, durations=[0.01, 0.02])
    )
    web_app.web_ctx.senders = lambda: {"telegram": SenderStats(sent=5, failed=1, rate_limited=2)}

    after = await scrape(web_app)
    assert value(after, "khaosat_updates_handled_total", channel="web", result="handled") == 3
    assert value(after, "khaosat_updates_handled_total", channel="web", result="duplicate") == 1
    assert value(after, "khaosat_updates_handled_total", channel="web", result="failed") == 0
    assert value(after, "khaosat_answers_stored") == 3  # ward (from the link), age group, gender (skipped)
    assert value(after, "khaosat_responses", status="in_progress") == 1
    assert value(after, "khaosat_outbox_depth") == 2
    assert value(after, "khaosat_outbox_messages", status="failed") == 1
    assert value(after, "khaosat_send_errors") == 1
    assert value(after, "khaosat_updates_handled_total", channel="telegram", result="handled") == 7
    assert value(after, "khaosat_updates_handled_total", channel="telegram", result="retried") == 2
    assert value(after, "khaosat_updates_in_flight", channel="telegram") == 1
    assert value(after, "khaosat_update_seconds", channel="telegram", quantile="0.5") == 0.02
    assert value(after, "khaosat_outbox_sends_total", channel="telegram", outcome="sent") == 5
    assert value(after, "khaosat_outbox_sends_total", channel="telegram", outcome="rate_limited") == 2


async def test_metrics_when_the_database_is_down(web_app: Application, monkeypatch: pytest.MonkeyPatch) -> None:
    @asynccontextmanager
    async def broken() -> Any:
        raise OSError("connection refused")
        yield  # pragma: no cover

    monkeypatch.setattr(web_app.db, "read", broken)
    samples = await scrape(web_app)
    assert value(samples, "khaosat_database_up") == 0
    assert value(samples, "khaosat_updates_handled_total", channel="web", result="handled") == 0
    assert value(samples, "khaosat_answers_stored") is None and value(samples, "khaosat_outbox_depth") is None


async def test_a_survey_page_failing_is_a_503_page_and_counted(
    web_app: Application, monkeypatch: pytest.MonkeyPatch
) -> None:
    citizen, page = await consented(web_app)
    async with citizen:

        async def failing(*_: Any, **__: Any) -> Any:
            raise RuntimeError("database went away")

        monkeypatch.setattr(web_app.service, "handle", failing)
        broken = await citizen.submit(page, value="18_29")
        assert broken.status == 503 and broken.h1 == "Lỗi tạm thời" and "Temporary error" in broken.text
        monkeypatch.undo()
        samples = await scrape(web_app)
        assert value(samples, "khaosat_updates_handled_total", channel="web", result="failed") == 1
        ok = await citizen.submit(page, value="18_29")  # the same form works once the trouble is over
        assert ok.status == 200 and ok.question == "gender"
