"""Operations: /healthz (is the database reachable?) and /metrics (Prometheus text format).

/metrics is rendered from a fresh registry at each scrape (several applications can live in one process, as
in tests, and the database counts are read at scrape time):

    khaosat_database_up                                  1 when the database answered this scrape
    khaosat_updates_handled_total{channel, result}       messaging channels' updates (handled | failed | retried)
                                                         and web survey submissions (handled | duplicate | failed
                                                         | refused: a new respondent over the address limit)
    khaosat_updates_in_flight{channel}                   updates being processed now
    khaosat_update_seconds{channel, quantile}            time to handle an update, over the last 10,000
    khaosat_answers_stored                               answers in the database (every channel and campaign)
    khaosat_responses{status}                            responses: in_progress | completed | abandoned
    khaosat_outbox_depth                                 outbox messages waiting to be sent (pending)
    khaosat_outbox_messages{status}                      outbox messages per status
    khaosat_send_errors                                  outbox messages given up on (status failed)
    khaosat_outbox_sends_total{channel, outcome}         send attempts of this process's paced senders, if they run here
    khaosat_answer_paths_total{path}                     answers applied by this process: optimistic (PostgreSQL,
                                                         two statements) | locked (SQLite; PostgreSQL after a
                                                         concurrent change) | general (anything unusual)
    process_* / python_info                              the usual process metrics

The channels' counters come from `WebContext.channels`, the senders' from `WebContext.senders`; they are left
out while those are not running. Put /metrics behind the reverse proxy's access rules: it is meant for the
monitoring system, not the public. With METRICS_TOKEN set (`WebContext.metrics_token`) it also wants
`Authorization: Bearer <token>` (compared in constant time) and answers 401 without it.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from web.context import WebContext

log = logging.getLogger(__name__)

DB_TIMEOUT = 5.0
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # the classic text format every Prometheus reads


@dataclass
class Snapshot:
    """Everything one scrape reports, gathered before rendering (the database part is async)."""

    database_up: bool = False
    answers: int | None = None
    responses: dict[str, int] = field(default_factory=dict)
    outbox: dict[str, int] = field(default_factory=dict)
    channels: dict[str, dict[str, int]] = field(default_factory=dict)
    """Each messaging channel's counters (handled, failed, retried), by channel."""
    in_flight: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, dict[float, float]] = field(default_factory=dict)
    web: dict[str, int] | None = None
    senders: dict[str, dict[str, int]] = field(default_factory=dict)
    answer_paths: dict[str, int] = field(default_factory=dict)


async def snapshot(ctx: WebContext) -> Snapshot:
    from storage.repo import metrics, outbox

    snap = Snapshot()

    async def read() -> None:
        async with ctx.db.read() as conn:
            snap.answers = await metrics.answer_count(conn)
            snap.responses = await metrics.response_counts(conn)
            snap.outbox = await outbox.counts(conn)

    try:
        await asyncio.wait_for(read(), DB_TIMEOUT)
        snap.database_up = True
    except Exception as e:  # any failure: report the database as down, keep the in-process counters
        log.warning("metrics: database not readable: %r", e)
        snap.answers, snap.responses, snap.outbox = None, {}, {}
    for counters in ctx.channels:
        name = counters.channel
        snap.channels[name] = {"handled": counters.handled, "failed": counters.failed, "retried": counters.retried}
        snap.in_flight[name] = counters.in_flight
        durations = sorted(counters.durations)
        if durations:
            snap.seconds[name] = {
                q: durations[min(len(durations) - 1, int(len(durations) * q))] for q in (0.5, 0.95, 0.99)
            }
    snap.answer_paths = dict(ctx.service.answer_paths)
    if ctx.survey_stats is not None:
        stats = ctx.survey_stats
        snap.web = {
            "handled": stats.handled,
            "duplicate": stats.duplicate,
            "failed": stats.failed,
            "refused": stats.refused,
        }
    snap.senders = {channel: dict(counters.as_dict()) for channel, counters in ctx.senders().items()}
    return snap


class SnapshotCollector:
    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap

    def collect(self) -> Iterator[Metric]:
        s = self.snap
        up = GaugeMetricFamily("khaosat_database_up", "1 when the database answered this scrape, else 0.")
        up.add_metric([], 1 if s.database_up else 0)
        yield up

        updates = CounterMetricFamily(
            "khaosat_updates_handled",
            "Updates handled: Telegram updates (handled, failed, retried) and web survey submissions "
            "(handled, duplicate, failed, refused).",
            labels=["channel", "result"],
        )
        for channel, counts in [*s.channels.items(), ("web", s.web)]:
            for result, n in (counts or {}).items():
                updates.add_metric([channel, result], n)
        yield updates
        if s.in_flight:
            flight = GaugeMetricFamily("khaosat_updates_in_flight", "Updates being processed.", labels=["channel"])
            for channel, n in s.in_flight.items():
                flight.add_metric([channel], n)
            yield flight
        if s.seconds:
            seconds = GaugeMetricFamily(
                "khaosat_update_seconds",
                "Time to handle an update (answer stored and replies sent), over the last 10,000.",
                labels=["channel", "quantile"],
            )
            for channel, quantiles in s.seconds.items():
                for q, value in quantiles.items():
                    seconds.add_metric([channel, str(q)], value)
            yield seconds

        if s.database_up:
            answers = GaugeMetricFamily("khaosat_answers_stored", "Answers stored in the database.")
            answers.add_metric([], s.answers or 0)
            yield answers
            responses = GaugeMetricFamily("khaosat_responses", "Responses per status.", labels=["status"])
            for status, n in s.responses.items():
                responses.add_metric([status], n)
            yield responses
            depth = GaugeMetricFamily("khaosat_outbox_depth", "Outbox messages waiting to be sent (pending).")
            depth.add_metric([], s.outbox.get("pending", 0))
            yield depth
            messages = GaugeMetricFamily("khaosat_outbox_messages", "Outbox messages per status.", labels=["status"])
            for status, n in s.outbox.items():
                messages.add_metric([status], n)
            yield messages
            errors = GaugeMetricFamily("khaosat_send_errors", "Outbox messages given up on (status failed).")
            errors.add_metric([], s.outbox.get("failed", 0))
            yield errors

        if s.answer_paths:
            paths = CounterMetricFamily(
                "khaosat_answer_paths",
                "Answers applied by this process, by path: optimistic (PostgreSQL, two statements), locked "
                "(SQLite; PostgreSQL after a concurrent change) or general (anything unusual).",
                labels=["path"],
            )
            for path, n in s.answer_paths.items():
                paths.add_metric([path], n)
            yield paths

        if s.senders:
            sends = CounterMetricFamily(
                "khaosat_outbox_sends",
                "Send attempts of the paced senders running in this process, by channel and outcome.",
                labels=["channel", "outcome"],
            )
            for channel, outcomes in s.senders.items():
                for outcome, n in outcomes.items():
                    sends.add_metric([channel, outcome], n)
            yield sends


def exposition(snap: Snapshot) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snap))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return generate_latest(registry)


def authorised(request: web.Request, token: str | None) -> bool:
    """True without a token, or when the request carries `Authorization: Bearer <token>` (constant time)."""
    if not token:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    expected = token.encode("utf-8", "surrogateescape")
    ok = hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"), expected)
    return ok and scheme.lower() == "bearer"


def setup(app: web.Application, ctx: WebContext) -> None:
    async def healthz(request: web.Request) -> web.Response:
        ok = await ctx.db.ping()
        body = {"status": "ok" if ok else "unavailable", "database": ctx.db.dialect}
        return web.json_response(body, status=200 if ok else 503, headers={"Cache-Control": "no-store"})

    async def metrics(request: web.Request) -> web.Response:
        if not authorised(request, ctx.metrics_token):
            return web.Response(
                status=401,
                text="401: a bearer token is needed (METRICS_TOKEN)\n",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"', "Cache-Control": "no-store"},
            )
        body = exposition(await snapshot(ctx))
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE, "Cache-Control": "no-store"})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
