"""The scheduler service: leader election, the minute tick (APScheduler 3, `AsyncIOScheduler`) and the paced
outbox sender, started and stopped together.

    service = SchedulerService(app, bot)      # app: AppContext; bot: the application's aiogram Bot
    await service.start()                     # returns at once; leads now, or waits as a standby
    ...
    await service.stop()

Only the leader runs jobs (see `scheduler.leader`). While leading, APScheduler runs one job, `tick`, at second
0 of every minute (in TZ) and once at once; the sender runs continuously. A tick, in this order:

1. closes the campaigns whose end time has passed (and drops their queued reminders);
2. queues invitations for the campaigns that have just opened (when their policy says so);
3. queues the reminders due now (per campaign policy; nothing during quiet hours);
4. queues the digests whose schedule has fired;
5. cancels expired outbox messages, and wakes the sender.

Per-person reminders are rows in the database, found by the tick's queries, never one APScheduler job per
person (APScheduler's job stores cannot be shared between processes anyway). All job logic takes the time
from `AppContext.clock`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from scheduler import digests, reminders
from scheduler.leader import Leader, leader_for
from scheduler.outbox import OutboxSender, RetryPolicy, TelegramTransport, Transport
from scheduler.pacing import Limits
from storage.repo import outbox

if TYPE_CHECKING:
    from bot.context import AppContext

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
    errors: list[str] = field(default_factory=list)


def sender_for(app: AppContext, transport: Transport) -> OutboxSender:
    cfg = app.settings
    return OutboxSender(
        app.db,
        transport,
        clock=app.clock,
        limits=Limits(cfg.send_rate_global, cfg.send_rate_private, cfg.send_rate_group_per_min),
        retry=RetryPolicy(cfg.send_max_attempts, cfg.send_retry_base_seconds, cfg.send_retry_max_seconds),
        guard=reminders.no_longer_wanted,
    )


class SchedulerService:
    def __init__(
        self,
        app: AppContext,
        bot: Any,
        *,
        transport: Transport | None = None,
        leader: Leader | None = None,
        health_interval: float = 5.0,
    ) -> None:
        self.app = app
        self.tz = ZoneInfo(app.settings.tz)
        self._own_transport = transport is None
        self.transport: Transport = transport or TelegramTransport.without_retries(bot)
        self.sender = sender_for(app, self.transport)
        self.leader = leader or leader_for(app.db, app.settings.scheduler_lock_file)
        self.standby_interval = app.settings.scheduler_standby_seconds
        self.health_interval = health_interval
        self.is_leader = False
        self.became_leader = asyncio.Event()
        self.last_tick: TickReport | None = None
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._tick_lock = asyncio.Lock()
        app.extras["scheduler"] = self
        app.extras["outbox"] = self.sender

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
        if self._own_transport and isinstance(self.transport, TelegramTransport):
            await self.transport.close()

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
            await self.sender.drain()
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
        sender = asyncio.create_task(self.sender.run(), name="khaosat-outbox")
        scheduler.start()
        first = asyncio.create_task(self._scheduled_tick())
        try:
            while not self._stopping.is_set():
                await self._sleep(self.health_interval)
                if sender.done():
                    error = sender.exception()
                    log.error("the outbox sender stopped (%s); restarting it", error)
                    sender = asyncio.create_task(self.sender.run(), name="khaosat-outbox")
                if not await self.leader.alive():
                    log.error("scheduler: lost the %s; stepping down", self.leader.description)
                    break
        finally:
            scheduler.shutdown(wait=False)
            first.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await first
            await self.sender.stop()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender

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
        """One round of the periodic jobs, at `app.clock()`. Each step runs even if an earlier one failed."""
        async with self._tick_lock:
            now = self.app.clock()
            report = TickReport(at=now)
            cfg = self.app.settings
            db = self.app.db

            async def step(name: str, job: Any) -> Any:
                try:
                    return await job
                except Exception as e:
                    log.exception("scheduler: %s failed", name)
                    report.errors.append(f"{name}: {type(e).__name__}: {e}")
                    return None

            report.closed = await step("closing ended campaigns", reminders.close_ended(db, now)) or []
            report.invitations = (
                await step("invitations", reminders.queue_invitations(db, now, self.tz, self.app.bot_username)) or 0
            )
            report.reminders = await step("reminders", reminders.queue_reminders(db, now, self.tz)) or 0
            threshold = cfg.digest_alert_threshold / 100
            report.digests = await step("digests", digests.queue_due_digests(db, now, self.tz, threshold)) or 0
            report.expired = await step("expiring messages", _cancel_expired(self.app, now)) or 0
            self.sender.wake()
            self.last_tick = report
            return report


async def _cancel_expired(app: AppContext, now: datetime) -> int:
    async with app.db.write() as conn:
        return await outbox.cancel_expired(conn, now)
