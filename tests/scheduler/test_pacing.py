"""The pacer on a virtual clock: whatever the network delays, Telegram's server never sees more than the limits."""

from __future__ import annotations

import heapq
import math
import random

import pytest

from scheduler.pacing import Limits, Pacer
from tests.fakebot.server import _window_violations


def simulate(
    pacer: Pacer, sends: list[tuple[str, bool]], *, seed: int = 1, min_rtt: float = 0.01, max_rtt: float = 0.3
) -> tuple[list[tuple[float, str, bool]], float]:
    """Send in order, each as soon as the pacer allows, up to 100 in flight and one at a time per chat (like the
    sender); the server receives each request at a random moment between its start and its end.
    Returns (server receipt times with chat and kind, time of the last completion)."""
    rng = random.Random(seed)
    now = 0.0
    in_flight: list[tuple[float, int, str]] = []  # (end, seq, chat)
    busy: set[str] = set()
    arrivals: list[tuple[float, str, bool]] = []
    queue = list(sends)
    seq = 0
    while queue or in_flight:
        # finish everything due by now
        while in_flight and in_flight[0][0] <= now:
            end, _, chat = heapq.heappop(in_flight)
            pacer.end(chat, end)
            busy.discard(chat)
            now = max(now, end)
        if not queue and not in_flight:
            break
        started = False
        seen: set[str] = set()
        for i, (chat, is_group) in enumerate(queue):
            if chat in seen or chat in busy:
                seen.add(chat)
                continue
            seen.add(chat)
            if len(in_flight) < 100 and pacer.delay(chat, is_group, now) == 0:
                pacer.begin(chat, is_group, now)
                rtt = rng.uniform(min_rtt, max_rtt)
                arrivals.append((now + rng.uniform(0, rtt), chat, is_group))
                seq += 1
                heapq.heappush(in_flight, (now + rtt, seq, chat))
                busy.add(chat)
                del queue[i]
                started = True
                break
        if started:
            continue
        blocked = pacer.global_delay(now)
        if blocked > 0:
            candidates = [blocked] if blocked < math.inf else []
        else:
            waits = [pacer.delay(c, g, now) for c, g in queue if c not in busy]
            candidates = [w for w in waits if w < math.inf]
        if in_flight:
            candidates.append(in_flight[0][0] - now)
        now += max(min(candidates), 1e-6)
    return arrivals, now


def violations(arrivals: list[tuple[float, str, bool]], limits: Limits) -> list[str]:
    found = _window_violations([t for t, _, _ in arrivals], 1.0, int(limits.global_per_sec), "all", 0)
    chats: dict[str, list[float]] = {}
    for t, chat, _ in arrivals:
        chats.setdefault(chat, []).append(t)
    for chat, times in chats.items():
        is_group = any(g for _, c, g in arrivals if c == chat)
        if is_group:
            found += _window_violations(times, 60.0, int(limits.group_per_min), chat, 0)
        else:
            found += _window_violations(times, 1.0, int(limits.private_per_sec), chat, 0)
    return found


@pytest.mark.parametrize("seed", [1, 2])
def test_many_private_chats_never_exceed_the_global_limit(seed: int) -> None:
    limits = Limits(30, 1, 20)
    sends = [(f"u{i}", False) for i in range(300)]
    arrivals, elapsed = simulate(Pacer(limits), sends, seed=seed)
    assert violations(arrivals, limits) == []
    # 300 messages at 30/s take 10 s; each window costs at most one round trip (<= 0.3 s) more
    assert elapsed < 300 / 30 * 1.3 + 1


def test_repeated_chats_and_groups_never_exceed_their_limits() -> None:
    limits = Limits(30, 1, 20)
    sends = [(f"u{i % 7}", False) for i in range(70)] + [(f"-g{i % 2}", True) for i in range(50)]
    random.Random(5).shuffle(sends)
    arrivals, elapsed = simulate(Pacer(limits), sends)
    assert violations(arrivals, limits) == []
    # 25 messages to one group at 20 a minute need a second minute
    assert elapsed > 60


def test_zero_latency_sustains_the_ceiling_exactly() -> None:
    limits = Limits(30, 1, 20)
    arrivals, elapsed = simulate(Pacer(limits), [(f"u{i}", False) for i in range(300)], min_rtt=0, max_rtt=1e-9)
    assert violations(arrivals, limits) == []
    assert len(arrivals) / elapsed > 0.9 * 30


def test_sends_in_flight_count_until_they_finish() -> None:
    pacer = Pacer(Limits(2, 1, 20))
    pacer.begin("a", False, 0.0)
    assert pacer.global_delay(0.0) == pytest.approx(0.5)  # 2 per second, spread: one start every 0.5 s
    pacer.begin("b", False, 0.5)
    assert pacer.global_delay(0.5) == math.inf  # both in flight: their arrival times are unknown
    assert pacer.delay("a", False, 0.5) == math.inf
    pacer.end("a", 0.8)
    assert pacer.global_delay(0.8) == pytest.approx(1.0)  # "b" in flight; "a" counts until 1 s after it ended
    pacer.end("b", 0.9)
    assert pacer.global_delay(0.9) == pytest.approx(0.9)
    assert pacer.delay("c", False, 1.8) == 0
    assert pacer.delay("b", False, 1.8) == pytest.approx(0.1)  # 1 s after "b" finished
    with pytest.raises(RuntimeError, match="before the pacer allowed it"):
        pacer.begin("b", False, 1.8)


def test_undelivered_requests_do_not_count() -> None:
    pacer = Pacer(Limits(10, 1, 20))
    pacer.begin("a", False, 0.0)
    pacer.end("a", 0.1, delivered=False)  # connection refused: Telegram never saw it
    assert pacer.delay("a", False, 0.2) == 0


def test_pause_honours_retry_after_for_a_group_or_for_everyone() -> None:
    pacer = Pacer(Limits(30, 1, 20))
    pacer.pause(10.0, 7, "-100", True)
    assert pacer.delay("-100", True, 10.0) == pytest.approx(7)
    assert pacer.delay("-200", True, 10.0) == 0
    pacer.pause(20.0, 3)
    assert pacer.delay("u1", False, 20.0) == pytest.approx(3)
    assert pacer.delay("u1", False, 23.0) == 0


def test_fractional_rates() -> None:
    pacer = Pacer(Limits(0.5, 0.25, 2))
    pacer.begin("a", False, 0.0)
    pacer.end("a", 0.0)
    assert pacer.global_delay(0.0) == pytest.approx(2.0)  # 0.5/s: one per 2 s
    assert pacer.delay("a", False, 0.0) == pytest.approx(4.0)  # 0.25/s: one per 4 s
    with pytest.raises(ValueError, match="global_per_sec must be a positive number"):
        Limits(0, 1, 20)


def test_idle_chats_are_forgotten() -> None:
    pacer = Pacer()
    for i in range(50):
        pacer.begin(f"u{i}", False, i * 0.05)
        pacer.end(f"u{i}", i * 0.05 + 0.01)
    assert pacer.tracked_chats == 50
    pacer.forget_idle(100.0)
    assert pacer.tracked_chats == 0
