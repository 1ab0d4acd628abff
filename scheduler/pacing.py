"""Pacing for Telegram's limits: sliding windows over *completed* sends, with sends in flight counted.

Telegram counts a message when its server receives the request, which is somewhere between the moment we
start the request and the moment its answer arrives. So a new send may start at time t only if fewer than
`limit` sends of the same window can fall within (t - window, t]: every send still in flight counts (its
arrival time is unknown), and a finished send counts while its *completion* time is later than t - window.
Then no window of that length, measured at the server, ever holds more than `limit` sends, whatever the
network jitter; the price is one round trip per window (on localhost nothing; over the Internet a few
percent of the ceiling).

Three kinds of window, all configurable: everything together (default 30 per second, and spread evenly: one
start every 1/30 s rather than bursts of 30), each private chat (1 per second), each group (20 per 60 seconds).
A 429 pauses a chat, or everything, until its retry_after.

Pure logic over a monotonic time passed in by the caller, so tests run it on a virtual clock.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Limits:
    global_per_sec: float = 30.0
    private_per_sec: float = 1.0
    group_per_min: float = 20.0

    def __post_init__(self) -> None:
        for name in ("global_per_sec", "private_per_sec", "group_per_min"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")


@dataclass
class _Window:
    """At most `limit` sends per `length` seconds."""

    length: float
    limit: int
    in_flight: int = 0
    ends: deque[float] = field(default_factory=deque)  # completion times, ascending
    paused_until: float = 0.0
    spacing: float = 0.0  # least time between two starts (smooths a burst over the window)
    last_start: float = -math.inf

    def prune(self, now: float) -> None:
        horizon = now - self.length
        while self.ends and self.ends[0] <= horizon:
            self.ends.popleft()

    def delay(self, now: float) -> float:
        """Seconds until one more send may start (math.inf: wait for a send in flight to finish)."""
        self.prune(now)
        wait = max(0.0, self.paused_until - now, self.last_start + self.spacing - now)
        if self.in_flight + len(self.ends) < self.limit:
            return wait
        if self.in_flight >= self.limit:
            return math.inf
        # Enough finished sends must leave the window: the (k - limit)-th oldest completion, plus the length.
        k = self.in_flight + len(self.ends)
        return max(wait, self.ends[k - self.limit] + self.length - now)

    @property
    def idle(self) -> bool:
        return self.in_flight == 0 and not self.ends


def _as_window(per_base: float, base: float) -> tuple[float, int]:
    """`per_base` sends per `base` seconds as (window length, whole sends per window), the same average rate:
    30 per 1 s -> (1 s, 30); 0.5 per 1 s -> (2 s, 1); 1.5 per 1 s -> (0.667 s, 1); 20 per 60 s -> (60 s, 20)."""
    limit = max(1, math.floor(per_base + 1e-9))
    return base * limit / per_base, limit


class Pacer:
    """Decides when the next send to a chat may start; `begin`/`end` bracket every send."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        length, limit = _as_window(self.limits.global_per_sec, 1.0)
        # Overall, sends are also spread evenly (30/s: one every 33 ms) rather than sent in bursts of 30.
        self._global = _Window(length, limit, spacing=length / limit)
        self._private = _as_window(self.limits.private_per_sec, 1.0)
        self._group = _as_window(self.limits.group_per_min, 60.0)
        self._chats: dict[str, _Window] = {}

    def _chat(self, chat: str, is_group: bool) -> _Window:
        window = self._chats.get(chat)
        if window is None:
            length, limit = self._group if is_group else self._private
            window = self._chats[chat] = _Window(length, limit)
        return window

    def global_delay(self, now: float) -> float:
        return self._global.delay(now)

    def delay(self, chat: str, is_group: bool, now: float) -> float:
        """Seconds until a send to `chat` may start (0: now; math.inf: after a send in flight finishes)."""
        return max(self._global.delay(now), self._chat(chat, is_group).delay(now))

    def begin(self, chat: str, is_group: bool, now: float) -> None:
        if self.delay(chat, is_group, now) > 0:
            raise RuntimeError(f"send to {chat} started before the pacer allowed it")
        self._global.in_flight += 1
        self._global.last_start = now
        self._chat(chat, is_group).in_flight += 1

    def end(self, chat: str, now: float, *, delivered: bool = True) -> None:
        """A send finished. A request that certainly did not reach Telegram (`delivered=False`) is not counted;
        when in doubt (a timeout), count it."""
        window = self._chats[chat]
        for w in (self._global, window):
            w.in_flight -= 1
            if delivered:
                w.ends.append(now)

    def pause(self, now: float, seconds: float, chat: str | None = None, is_group: bool = False) -> None:
        """Honour a 429: nothing to `chat` (or to anyone, when chat is None) for `seconds`."""
        window = self._global if chat is None else self._chat(chat, is_group)
        window.paused_until = max(window.paused_until, now + seconds)

    def forget_idle(self, now: float) -> None:
        """Drop the state of chats with nothing in their windows (keeps memory flat over many recipients)."""
        idle = []
        for chat, window in self._chats.items():
            window.prune(now)
            if window.idle and window.paused_until <= now:
                idle.append(chat)
        for chat in idle:
            del self._chats[chat]

    @property
    def tracked_chats(self) -> int:
        return len(self._chats)
