"""The scheduler service: leader election, the minute tick (APScheduler 3, `AsyncIOScheduler`) and the paced
outbox sender, started and stopped together.

    service = SchedulerService(db, clock, config, {"telegram": TelegramTransport(...)})
    await service.start()                     # returns at once; leads now, or waits as a standby
    ...
    await service.stop()

Only the leader runs jobs (see `scheduler.leader`). While leading, APScheduler runs one job, `tick`, at second
0 of every minute (in TZ) and once at once; the sender runs continuously. A tick, in this order:

1. closes the campaigns whose end time has passed (and drops their queued reminders);
2. queues invitations for the campaigns that have just opened (when their policy says so);
3. queues the reminders due now (per campaign policy; nothing during quiet hours);
4. queues the digests whose schedule has fired;
5. cancels expired outbox messages, and wakes the sender;
6. forgets the ids of updates processed longer ago than the retention (`PROCESSED_UPDATE_RETENTION_DAYS`) and
   what chats remember between messages (`chat_state`) untouched as long, and deletes published images
   (charts sent by URL) whose time is up;
7. forgets web admissions (hashed client addresses) older than a day, and assesses the data-quality flags of
   completed responses left without (their process stopped between the completion and the assessment).

Per-person reminders are rows in the database, found by the tick's queries, never one APScheduler job per
person (APScheduler's job stores cannot be shared between processes anyway). All job logic takes the time
from the application's clock. Each channel's messages go through its own paced sender (its own limits), with
the channel's transport (`storage.outbox.Transport`, from the channel's package).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from reports import digests
from scheduler import reminders
from scheduler.leader import Leader, leader_for
from scheduler.outbox import OutboxSender, RetryPolicy
from scheduler.pacing import Limits
from storage.db import Database
from storage.outbox import Transport
from storage.repo import chat_state, outbox, updates

Clock = Callable[[], datetime]

log = logging.getLogger(__name__)


class SchedulerBusy(RuntimeError):
    """Another scheduler holds the leadership."""


@dataclass
class TickReport:
    at: datetime
    closed: list[str] = field(default_factory=list)
    invitations: int = 0
    reminders: int = 0
    digests: int = 0
    expired: int = 0
    pruned: int = 0
    assessed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SchedulerConfig:
    """What the scheduler needs to know (the application fills it from its settings)."""

    tz: str = "Asia/Ho_Chi_Minh"
    lock_file: Path | None = None
    standby_seconds: float = 10.0
    digest_alert_threshold: float = 0.2
    """The dissatisfied share (0-1) at which a digest raises an alert."""
    update_retention: timedelta = timedelta(days=7)
    """How long the ids of processed updates are kept (longer than any redelivery: Telegram keeps an update
    24 hours)."""
    limits: Mapping[str, Limits] = field(default_factory=dict)
    """Sending limits per channel (a channel not named gets `Limits()`)."""
    windows: Mapping[str, timedelta] = field(default_factory=dict)
    """Channels that may only write to a person within a window after their last message (Zalo): reminders
    and invitations go only inside it. A channel not named has none."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def sender_for(db: Database, clock: Clock, transport: Transport, channel: str, config: SchedulerConfig) -> OutboxSender:
    """The paced sender of one channel's outbox."""
    return OutboxSender(
        db,
        transport,
        clock=clock,
        limits=config.limits.get(channel) or Limits(),
        retry=config.retry,
        guard=reminders.no_longer_wanted,
        channel=channel,
    )


class SchedulerService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        config: SchedulerConfig,
        transports: Mapping[str, Transport],
        *,
        leader: Leader | None = None,
        health_interval: float = 5.0,
    ) -> None:
        self.db = db
        self.clock = clock
        self.config = config
        self.tz = ZoneInfo(config.tz)
        self.transports = dict(transports)
        self.senders = {
            channel: sender_for(db, clock, transport, channel, config) for channel, transport in self.transports.items()
        }
        """One paced sender per channel."""
        self.leader = leader or leader_for(db, config.lock_file)
        self.standby_interval = config.standby_seconds
        self.health_interval = health_interval
        self.is_leader = False
        self.became_leader = asyncio.Event()
        self.last_tick: TickReport | None = None
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._tick_lock = asyncio.Lock()

    def wake(self) -> None:
        """Something was queued (a /digest): the senders look at the outbox now."""
        for sender in self.senders.values():
            sender.wake()

    # --- lifecycle -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("the scheduler is already started")
        self._stopping.clear()
        self._task = asyncio.create_task(self._supervise(), name="khaosat-scheduler")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for transport in self.transports.values():
            with contextlib.suppress(Exception):
                await transport.close()

    async def wait_leading(self, timeout: float | None = None) -> bool:
        """Wait until this instance leads (True) or the timeout passes (False)."""
        try:
            await asyncio.wait_for(self.became_leader.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def run_once(self) -> TickReport:
        """Lead for one round: take the lock (or raise SchedulerBusy), tick, send everything due, step down."""
        if not await self.leader.try_acquire():
            raise SchedulerBusy(f"another scheduler is active (it holds the {self.leader.description})")
        try:
            self.is_leader = True
            report = await self.tick()
            for sender in self.senders.values():
                await sender.drain()
            return report
        finally:
            self.is_leader = False
            await self.leader.release()

    async def _supervise(self) -> None:
        announced = False
        while not self._stopping.is_set():
            try:
                acquired = await self.leader.try_acquire()
            except Exception:
                log.exception("scheduler election failed")
                acquired = False
            if not acquired:
                if not announced:
                    log.info("scheduler: standby (another scheduler holds the %s)", self.leader.description)
                    announced = True
                await self._sleep(self.standby_interval)
                continue
            announced = False
            log.info("scheduler: active (holding the %s)", self.leader.description)
            try:
                await self._lead()
            except Exception:
                log.exception("scheduler stopped leading after an error")
            finally:
                self.is_leader = False
                self.became_leader.clear()
                with contextlib.suppress(Exception):
                    await self.leader.release()
            if not self._stopping.is_set():
                await self._sleep(self.standby_interval)

    async def _lead(self) -> None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler
        from apscheduler.triggers.cron import CronTrigger

        scheduler = AsyncIOScheduler(timezone=self.tz)
        scheduler.add_job(
            self._scheduled_tick,
            CronTrigger(second=0, timezone=self.tz),
            id="tick",
            name="reminders, invitations, digests, campaign close",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=50,
        )
        self.is_leader = True
        self.became_leader.set()
        running = {
            channel: asyncio.create_task(sender.run(), name=f"khaosat-outbox-{channel}")
            for channel, sender in self.senders.items()
        }
        scheduler.start()
        first = asyncio.create_task(self._scheduled_tick())
        try:
            while not self._stopping.is_set():
                await self._sleep(self.health_interval)
                for channel, task in list(running.items()):
                    if task.done():
                        error = task.exception()
                        log.error("the %s outbox sender stopped (%s); restarting it", channel, error)
                        running[channel] = asyncio.create_task(
                            self.senders[channel].run(), name=f"khaosat-outbox-{channel}"
                        )
                if not await self.leader.alive():
                    log.error("scheduler: lost the %s; stepping down", self.leader.description)
                    break
        finally:
            scheduler.shutdown(wait=False)
            first.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await first
            for sender in self.senders.values():
                await sender.stop()
            for task in running.values():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _scheduled_tick(self) -> None:
        try:
            await self.tick()
        except Exception:
            log.exception("scheduler tick failed")

    # --- the tick --------------------------------------------------------------------------------------------

    async def tick(self) -> TickReport:
        """One round of the periodic jobs, at `clock()`. Each step runs even if an earlier one failed."""
        async with self._tick_lock:
            now = self.clock()
            report = TickReport(at=now)
            db = self.db

            async def step(name: str, job: Any) -> Any:
                try:
                    return await job
                except Exception as e:
                    log.exception("scheduler: %s failed", name)
                    report.errors.append(f"{name}: {type(e).__name__}: {e}")
                    return None

            report.closed = await step("closing ended campaigns", reminders.close_ended(db, now)) or []
            report.invitations = (
                await step("invitations", reminders.queue_invitations(db, now, self.tz, windows=self.config.windows))
                or 0
            )
            report.reminders = (
                await step("reminders", reminders.queue_reminders(db, now, self.tz, windows=self.config.windows)) or 0
            )
            threshold = self.config.digest_alert_threshold
            report.digests = await step("digests", digests.queue_due_digests(db, now, self.tz, threshold)) or 0
            report.expired = await step("expiring messages", _cancel_expired(db, now)) or 0
            cutoff = now - self.config.update_retention
            report.pruned = await step("forgetting old update ids", _prune_updates(db, cutoff)) or 0
            await step("deleting expired images", _purge_images(db, now))
            report.assessed = await step("web admissions and quality flags", _web_quality(db, now)) or 0
            self.wake()
            self.last_tick = report
            return report


async def _prune_updates(db: Database, before: datetime, batch: int = 5000, batches: int = 20) -> int:
    """Forget processed update ids, and what chats remember (`chat_state`), older than the retention, a batch of
    each per transaction (never a long lock)."""
    total = 0
    for _ in range(batches):
        async with db.write() as conn:
            n = await updates.prune(conn, before, batch)
            m = await chat_state.prune(conn, before, batch)
        total += n + m
        if n < batch and m < batch:
            break
    return total


async def _web_quality(db: Database, now: datetime) -> int:
    """Forget old web admissions; assess completed responses left without flags (how many were)."""
    from storage.repo import quality, webpolicy

    async with db.write() as conn:
        await webpolicy.prune(conn, now)

        async def survey_of(campaign_id: int) -> Any:
            return await quality.survey_of_campaign(conn, campaign_id)

        return await quality.assess_pending(conn, survey_of)


async def _purge_images(db: Database, now: datetime) -> int:
    from storage.repo import images

    async with db.write() as conn:
        return await images.purge_expired(conn, now)


async def _cancel_expired(db: Database, now: datetime) -> int:
    async with db.write() as conn:
        return await outbox.cancel_expired(conn, now)
