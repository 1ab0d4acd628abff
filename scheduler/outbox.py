"""The paced sender: delivers one channel's outbox without exceeding its limits, and without losing anything.

    sender = OutboxSender(db, TelegramTransport(bot), clock=clock, limits=Limits(30, 1, 20), channel="telegram")
    await sender.run()          # until stop(); or `await sender.drain()` to send what is due and return

What happens to a message (a row of `outbox_message`, see `storage.repo.outbox`):

* it is read from the table when due (`next_attempt_at <= now`), oldest first, into a small buffer;
* it is sent when the pacer allows (see `scheduler.pacing`); one message at a time per chat, in order;
* 200 -> sent. 429 -> the chat (a group) or everyone (a private chat's 429 may be the global limit) waits
  `retry_after`, then the message is tried again. 403 (blocked, kicked) and 400 "chat not found" -> the
  recipient is marked unreachable (`ChannelAddress.unreachable`, or the official chat deactivated) and what
  is still queued for it is cancelled. 5xx, timeouts, network errors -> tried again after an exponential
  backoff (5 s, 10 s, 20 s ... capped), at most `max_attempts` times, then failed. Other 400s -> failed.
  A group that became a supergroup (400 with migrate_to_chat_id) -> its messages and subscription move.
* outcomes are written back in small batches. A crash between a send and its write-back leaves the message
  pending: it is sent again after the restart (at most the messages in flight; nothing is lost).

Times: due times and backoff use the application clock (`AppContext.clock`, controllable in tests); the pacing
uses the monotonic clock, since Telegram's limits are measured in real seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from scheduler.pacing import Limits, Pacer
from storage.db import Database
from storage.outbox import Outgoing, SendError, Transport
from storage.repo import addresses, chats
from storage.repo import outbox as repo
from storage.repo.outbox import OutboxRecord, Outcome

log = logging.getLogger(__name__)

# --- the sender --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    """Attempts (5xx, network errors) before a message is failed; 429s do not count against this."""
    base_seconds: float = 5.0
    max_seconds: float = 3600.0

    def backoff(self, failures: int) -> float:
        """Seconds before the next try after `failures` consecutive failures (1 -> base, 2 -> 2*base, ...)."""
        return float(min(self.max_seconds, self.base_seconds * 2 ** max(0, failures - 1)))


Guard = Callable[[AsyncConnection, Sequence[OutboxRecord], datetime], Awaitable[set[int]]]
"""Given messages about to be sent, the ids of those no longer wanted (cancelled instead)."""


@dataclass
class SenderStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    unreachable: int = 0
    cancelled: int = 0
    deferred: int = 0
    rate_limited: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: int(getattr(self, f.name)) for f in fields(self)}


@dataclass
class _Item:
    record: OutboxRecord
    message: Outgoing | None
    recipient: str
    is_group: bool
    tries: int = 0  # in this process, not yet written back
    rate_limited: int = 0


@dataclass
class _Effects:
    outcomes: list[Outcome] = field(default_factory=list)
    unreachable: list[tuple[str, str, str]] = field(default_factory=list)  # recipient, kind, reason
    postpone: list[tuple[str, int, datetime]] = field(default_factory=list)
    reroute: list[tuple[str, str]] = field(default_factory=list)
    ids: set[int] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.outcomes or self.unreachable or self.postpone or self.reroute)


class OutboxSender:
    def __init__(
        self,
        db: Database,
        transport: Transport,
        *,
        clock: Callable[[], datetime],
        limits: Limits | None = None,
        retry: RetryPolicy | None = None,
        guard: Guard | None = None,
        batch_size: int = 200,
        poll_interval: float = 1.0,
        flush_interval: float = 0.2,
        max_in_flight: int = 100,
        monotonic: Callable[[], float] = time.monotonic,
        channel: str = "telegram",
    ) -> None:
        self.db = db
        self.transport = transport
        self.channel = channel
        """The channel whose messages this sender delivers (one sender per channel, each with its limits)."""
        self.clock = clock
        self.pacer = Pacer(limits)
        self.retry = retry or RetryPolicy()
        self.guard = guard
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.flush_interval = flush_interval
        self.max_in_flight = max_in_flight
        self.monotonic = monotonic
        self.stats = SenderStats()
        self._buffer: list[_Item] = []
        self._held: set[int] = set()  # ids in the buffer, in flight, or with an outcome not yet written
        self._busy_chats: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._effects = _Effects()
        self._flushing: asyncio.Task[None] | None = None
        self._event = asyncio.Event()
        self._stopping = False
        self._woken = True
        self._last_refill = -1e18
        self._last_refill_full = False
        self._last_flush = 0.0
        self._last_forget = 0.0

    # --- control -----------------------------------------------------------------------------------------

    def wake(self) -> None:
        """Something was queued: look at the table now rather than at the next poll."""
        self._woken = True
        self._event.set()

    async def stop(self) -> None:
        """Finish the sends in flight, write their outcomes back, and return."""
        self._stopping = True
        self._event.set()
        await self._settle()

    async def run(self) -> None:
        """Send until `stop()` (which lets the sends in flight finish). Cancelling the task is a hard stop: the
        sends in flight are abandoned and stay pending, to be sent again by the next sender."""
        self._stopping = False
        try:
            await self._loop(until_idle=False)
        except asyncio.CancelledError:
            for task in list(self._tasks):
                task.cancel()
            raise
        await self._settle()

    async def drain(self) -> SenderStats:
        """Send everything due now (waiting for the pacer as needed) and return when nothing due is left."""
        self._stopping = False
        self._woken = True
        await self._loop(until_idle=True)
        await self._settle()
        return self.stats

    # --- the loop ----------------------------------------------------------------------------------------

    async def _loop(self, until_idle: bool) -> None:
        while not self._stopping:
            # Cleared before looking, so that a send finishing (or a wake) after this point ends the wait below.
            self._event.clear()
            now = self.monotonic()
            self._maybe_flush(now)
            if self._should_refill(now):
                found = await self._refill()
                if until_idle and not found and not self._buffer and not self._tasks:
                    await self._settle()
                    if not await self._refill():
                        return
                continue
            item, wait = self._pick(now)
            if item is not None:
                self._start(item, now)
                continue
            if now - self._last_forget > 60:
                self.pacer.forget_idle(now)
                self._last_forget = now
            if not self._buffer and not self._tasks and until_idle:
                self._woken = True  # go and look at the table once more before deciding we are done
                continue
            timeout = min(wait, self.poll_interval)
            if self._effects:
                timeout = min(timeout, self.flush_interval)
            await self._wait(timeout)

    async def _wait(self, timeout: float) -> None:
        if timeout <= 0:
            await asyncio.sleep(0)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)

    def _should_refill(self, now: float) -> bool:
        if len(self._buffer) >= self.batch_size // 2:
            return False
        if self._woken or self._last_refill_full:
            return True
        return now - self._last_refill >= self.poll_interval

    async def _refill(self) -> int:
        self._woken = False
        self._last_refill = self.monotonic()
        room = self.batch_size - len(self._buffer)
        now = self.clock()
        async with self.db.read() as conn:
            records = await repo.due(conn, now, room, exclude=self._held, channel=self.channel)
            unwanted: set[int] = set()
            if self.guard is not None:
                guarded = [r for r in records if r.kind in ("reminder", "invitation")]
                if guarded:
                    unwanted = await self.guard(conn, guarded, now)
        self._last_refill_full = len(records) == room and room > 0
        for record in records:
            self._held.add(record.id)
            if record.id in unwanted:
                self._done(record, Outcome(record.id, "cancelled", now, "no longer wanted"), 0)
                self.stats.cancelled += 1
                continue
            try:
                message = Outgoing.from_payload(record.payload)
            except (ValueError, KeyError, TypeError) as e:
                self._done(record, Outcome(record.id, "failed", now, f"bad payload: {e}"), 0)
                self.stats.failed += 1
                continue
            self._buffer.append(_Item(record, message, record.recipient, record.recipient_kind == "group"))
        return len(records)

    def _pick(self, now: float) -> tuple[_Item | None, float]:
        """The first buffered message that may go now, or (None, seconds to wait)."""
        if not self._buffer or len(self._tasks) >= self.max_in_flight:
            return None, self.poll_interval
        wait = self.pacer.global_delay(now)
        if wait > 0:
            return None, wait
        app_now = self.clock()
        seen: set[str] = set()
        index = 0
        while index < len(self._buffer):
            item = self._buffer[index]
            if item.recipient in seen or item.recipient in self._busy_chats:
                seen.add(item.recipient)  # one message at a time per chat, in order
                index += 1
                continue
            if self._holds_back(item, app_now):
                del self._buffer[index]
                continue
            seen.add(item.recipient)
            delay = self.pacer.delay(item.recipient, item.is_group, now)
            if delay <= 0:
                del self._buffer[index]
                return item, 0.0
            wait = delay if wait <= 0 else min(wait, delay)
            index += 1
        return None, wait if 0 < wait < math.inf else self.poll_interval

    def _holds_back(self, item: _Item, now: datetime) -> bool:
        """Expired or in quiet hours: the item leaves the buffer with an outcome instead of being sent."""
        record = item.record
        if record.expires_at is not None and record.expires_at <= now:
            self._done(record, Outcome(record.id, "cancelled", now, "expired"), item.tries)
            self.stats.cancelled += 1
            return True
        quiet = record.payload.get("quiet_hours")
        if quiet:
            until = quiet_hours_end(now, quiet["start"], quiet["end"], ZoneInfo(quiet["tz"]))
            if until is not None:
                self._done(record, Outcome(record.id, "deferred", now, next_attempt_at=until), item.tries)
                self.stats.deferred += 1
                return True
        return False

    def _start(self, item: _Item, now: float) -> None:
        self.pacer.begin(item.recipient, item.is_group, now)
        self._busy_chats.add(item.recipient)
        task = asyncio.create_task(self._send(item))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, item: _Item) -> None:
        item.tries += 1
        reached = True
        try:
            assert item.message is not None
            await self.transport.send(item.recipient, item.message)
        except SendError as e:
            reached = e.reached_server
            self._failed(item, e)
        except Exception as e:  # a bug in a transport must not kill the sender: treat as transient
            log.exception("unexpected error sending outbox message %s", item.record.id)
            self._failed(item, SendError("transient", f"{type(e).__name__}: {e}"))
        else:
            self.stats.sent += 1
            self._done(item.record, Outcome(item.record.id, "sent", self.clock()), item.tries)
        finally:
            self.pacer.end(item.recipient, self.monotonic(), delivered=reached)
            self._busy_chats.discard(item.recipient)
            self._event.set()

    def _failed(self, item: _Item, error: SendError) -> None:
        record, now = item.record, self.clock()
        if error.kind == "rate_limited":
            seconds = max(1.0, error.retry_after or 1.0)
            self.stats.rate_limited += 1
            item.rate_limited += 1
            log.warning("%s asks to wait %.0f s (chat %s)", self.channel, seconds, item.recipient)
            if item.is_group:
                self.pacer.pause(self.monotonic(), seconds, item.recipient, True)
            else:
                self.pacer.pause(self.monotonic(), seconds)
            self._buffer.insert(0, item)  # first in line again, for when the pause ends
            return
        if error.kind == "unreachable":
            self.stats.unreachable += 1
            self._done(record, Outcome(record.id, "unreachable", now, error.description), item.tries)
            self._effects.unreachable.append((item.recipient, record.recipient_kind, error.description))
            self._drop_recipient(item.recipient, now, "recipient unreachable")
            return
        if error.kind == "migrated" and error.migrate_to is not None:
            new_chat = str(error.migrate_to)
            self._done(record, Outcome(record.id, "retry", now, error.description, next_attempt_at=now), item.tries)
            self._effects.reroute.append((item.recipient, new_chat))
            self._drop_recipient(item.recipient, now, None)
            return
        attempts = record.attempts + item.tries - item.rate_limited
        if error.kind == "permanent" or attempts >= self.retry.max_attempts:
            self.stats.failed += 1
            self._done(record, Outcome(record.id, "failed", now, error.description), item.tries)
            log.warning("outbox message %s failed after %s attempt(s): %s", record.id, attempts, error.description)
            return
        self.stats.retried += 1
        next_at = now + timedelta(seconds=self.retry.backoff(attempts))
        self._done(record, Outcome(record.id, "retry", now, error.description, next_attempt_at=next_at), item.tries)
        self._effects.postpone.append((item.recipient, record.id, next_at))
        self._drop_recipient(item.recipient, now, None)

    def _drop_recipient(self, recipient: str, now: datetime, cancel_reason: str | None) -> None:
        """Take a recipient's other buffered messages out (they are cancelled, or re-read later in order)."""
        kept: list[_Item] = []
        for item in self._buffer:
            if item.recipient != recipient:
                kept.append(item)
            elif cancel_reason is not None:
                self.stats.cancelled += 1
                self._done(item.record, Outcome(item.record.id, "cancelled", now, cancel_reason), item.tries)
            else:  # held until the write-back has postponed it too, so a refill cannot overtake
                self._effects.ids.add(item.record.id)
        self._buffer = kept

    def _done(self, record: OutboxRecord, outcome: Outcome, tries: int) -> None:
        self._effects.outcomes.append(replace(outcome, tries=tries))
        self._effects.ids.add(record.id)

    # --- writing outcomes back ---------------------------------------------------------------------------

    def _maybe_flush(self, now: float) -> None:
        if not self._effects or (self._flushing is not None and not self._flushing.done()):
            return
        if now - self._last_flush >= self.flush_interval or len(self._effects.outcomes) >= 100:
            self._last_flush = now
            effects, self._effects = self._effects, _Effects()
            self._flushing = asyncio.create_task(self._flush(effects))

    async def _flush(self, effects: _Effects) -> None:
        now = self.clock()
        try:
            async with self.db.write() as conn:
                await repo.record_outcomes(conn, effects.outcomes)
                for recipient, after_id, until in effects.postpone:
                    await repo.postpone_recipient(conn, recipient, after_id, until, self.channel)
                for old, new in effects.reroute:
                    await repo.reroute_group(conn, old, new, self.channel)
                for recipient, kind, reason in effects.unreachable:
                    await self._mark_unreachable(conn, recipient, kind, reason, now)
        except Exception:
            log.exception("could not write back %d outbox outcome(s); will retry", len(effects.outcomes))
            self._effects.outcomes[:0] = effects.outcomes
            self._effects.postpone[:0] = effects.postpone
            self._effects.reroute[:0] = effects.reroute
            self._effects.unreachable[:0] = effects.unreachable
            self._effects.ids |= effects.ids
            await asyncio.sleep(1)
            return
        finally:
            self._event.set()
        self._held -= effects.ids

    async def _mark_unreachable(
        self, conn: AsyncConnection, recipient: str, kind: str, reason: str, now: datetime
    ) -> None:
        if kind == "group":
            await chats.set_active(conn, recipient, False, self.channel)
            log.warning("official chat %s is unreachable (%s): digests paused", recipient, reason)
        else:
            await addresses.mark_unreachable(conn, self.channel, recipient, now)
        await repo.cancel_pending_to(conn, recipient, "recipient unreachable", self.channel)

    async def _settle(self) -> None:
        """Wait for the sends in flight, then write every outcome back."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        for _ in range(100):
            if self._flushing is not None:
                await self._flushing
                self._flushing = None
            if not self._effects:
                return
            effects, self._effects = self._effects, _Effects()
            self._flushing = asyncio.create_task(self._flush(effects))
        raise RuntimeError("could not write the outbox outcomes back")  # pragma: no cover

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    @property
    def buffered(self) -> int:
        return len(self._buffer)


def quiet_hours_end(now: datetime, start: str, end: str, tz: ZoneInfo) -> datetime | None:
    """If `now` is within the daily quiet hours [start, end) in `tz` (which may wrap midnight, as 21:00-07:00),
    the moment they end (timezone-aware); otherwise None. Equal start and end mean no quiet hours."""
    start_t, end_t = _hhmm(start), _hhmm(end)
    if start_t == end_t:
        return None
    local = now.astimezone(tz)
    minute = local.hour * 60 + local.minute
    s, e = start_t[0] * 60 + start_t[1], end_t[0] * 60 + end_t[1]
    inside = s <= minute < e if s < e else (minute >= s or minute < e)
    if not inside:
        return None
    day = local.date() if minute < e else local.date() + timedelta(days=1)
    naive = datetime(day.year, day.month, day.day, end_t[0], end_t[1])
    return naive.replace(tzinfo=tz)


def _hhmm(text: str) -> tuple[int, int]:
    try:
        hours, minutes = text.strip().split(":")
        h, m = int(hours), int(minutes)
    except ValueError:
        raise ValueError(f"invalid time {text!r}: use HH:MM, e.g. 21:00") from None
    if not (0 <= h <= 23 and 0 <= m <= 59):
        raise ValueError(f"invalid time {text!r}: use HH:MM between 00:00 and 23:59")
    return h, m
