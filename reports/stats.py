"""Pure statistics for satisfaction reports: shares, Wilson intervals, small-cell rules and display.

Everything here is a pure function of its arguments (no I/O, no clock) so that digests, exports and
the web views all compute and print the same numbers.

Domain rules implemented here:

* Satisfaction index = share of answers 4 or 5 among *valid* answers on the 1-5 scale; "dk" (don't
  know) and skipped answers (``None``) are excluded from the denominator.  Dissatisfaction share =
  share of answers 1 or 2 among valid answers.
* Every share carries a 95% Wilson score interval (z = 1.96).
* Small cells: n < 10 shows only "<10"; n 10-29 shows counts only; n 30-59 shows percentages marked
  as unstable; n >= 60 is shown normally.  Units are ranked only when n >= 30, and a change between
  two periods is called only when their intervals do not overlap.
* Respondents opted in, so the interval is *not* a margin of sampling error and no text produced here
  calls it one: it describes how much the figure could move with a handful more or fewer answers.

Display wording (see `reports.format`, the one formatter):

* OK (n >= 60):          ``"80% (63–91%)"`` in both languages.
* UNSTABLE (30-59):      ``"80% (63–91%) ⚠ ít phản hồi (n=45)"`` / ``"80% (63–91%) ⚠ few responses (n=45)"``.
* COUNTS_ONLY (10-29):   ``"24/25"`` in both languages, i.e. "k of n"; the caller adds what is counted
  (e.g. "hài lòng" / "satisfied"), because a :class:`Share` does not know whether it counts satisfied
  or dissatisfied answers.
* HIDDEN (< 10):         ``"<10"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Literal, Protocol, TypeVar

__all__ = [
    "MIN_PERCENT",
    "MIN_RANK",
    "MIN_SHOWN",
    "MIN_STABLE",
    "Z95",
    "AnswerKey",
    "CellKind",
    "Direction",
    "Interval",
    "Lang",
    "Share",
    "ShareResult",
    "cell_kind",
    "change",
    "index_from_counts",
    "lowest",
    "share",
    "top_choices",
    "wilson",
]

Z95: Final = 1.96
"""Normal quantile for a two-sided 95% interval."""

MIN_SHOWN: Final = 10
"""Below this many answers a cell shows only "<10"."""
MIN_PERCENT: Final = 30
"""From this many answers on, percentages are shown (below: counts only)."""
MIN_STABLE: Final = 60
"""From this many answers on, percentages are shown without the "unstable" mark."""
MIN_RANK: Final = MIN_PERCENT
"""Units (e.g. wards) enter a ranking only with at least this many answers."""

Lang = Literal["vi", "en"]
Direction = Literal["up", "down", "same"]
AnswerKey = int | str | None

DONT_KNOW: Final = "dk"
SATISFIED_VALUES: Final = frozenset({4, 5})
DISSATISFIED_VALUES: Final = frozenset({1, 2})
SCALE_VALUES: Final = frozenset({1, 2, 3, 4, 5})


@dataclass(frozen=True, slots=True)
class Interval:
    """A confidence interval for a proportion, all values in [0, 1].

    ``centre`` is the Wilson centre (p shrunk towards 1/2), not the observed share.  For n == 0 the
    interval is the whole range, ``Interval(0.0, 1.0, 0.5)``: no answers, no information.
    """

    low: float
    high: float
    centre: float

    def overlaps(self, other: Interval) -> bool:
        """True when the two intervals share at least one point (touching bounds count as overlap)."""
        return self.low <= other.high and other.low <= self.high


@dataclass(frozen=True, slots=True)
class Share:
    """``k`` of ``n`` answers, the share ``p = k / n`` and its 95% Wilson interval.

    For ``n == 0`` the share ``p`` is reported as 0.0 and the interval is the whole [0, 1]; such a cell
    is HIDDEN and never displayed as a percentage.  Build with :func:`share`.
    """

    k: int
    n: int
    p: float
    interval: Interval

    @property
    def kind(self) -> CellKind:
        """How this cell may be displayed, from its ``n``."""
        return cell_kind(self.n)


class CellKind(StrEnum):
    """How a cell of ``n`` answers may be displayed."""

    HIDDEN = "hidden"
    """n < 10: show only "<10" (no count, no percentage)."""
    COUNTS_ONLY = "counts_only"
    """10 <= n < 30: show counts, no percentages."""
    UNSTABLE = "unstable"
    """30 <= n < 60: show percentages, marked as unstable."""
    OK = "ok"
    """n >= 60: show normally."""


@dataclass(frozen=True, slots=True)
class ShareResult:
    """Satisfaction and dissatisfaction for one factor (or overall) from a histogram of answers."""

    satisfied: Share
    """Answers 4-5 among valid answers: the satisfaction index."""
    dissatisfied: Share
    """Answers 1-2 among valid answers."""
    n_valid: int
    """Answers 1-5 (the denominator of both shares)."""
    dont_know: int
    """"dk" answers, excluded from the denominator."""
    skipped: int
    """Skipped questions (``None``), excluded from the denominator."""

    @property
    def kind(self) -> CellKind:
        """How this result may be displayed, from ``n_valid``."""
        return cell_kind(self.n_valid)


def wilson(successes: int, n: int, z: float = Z95) -> Interval:
    """Wilson score interval for ``successes`` out of ``n``; ``Interval(0, 1, 0.5)`` when ``n == 0``.

    Raises ``ValueError`` for negative counts, ``successes > n`` or a non-positive / non-finite ``z``.
    """
    _check_counts(successes, n)
    if not (math.isfinite(z) and z > 0):
        raise ValueError(f"z must be a positive finite number, got {z!r}")
    if n == 0:
        return Interval(low=0.0, high=1.0, centre=0.5)
    # Same formula as (p + z²/2n) / (1 + z²/n) ± z·sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n),
    # multiplied through by n to avoid the rounding of p = k/n.
    z2 = z * z
    denominator = n + z2
    centre = (successes + z2 / 2) / denominator
    half_width = z * math.sqrt(successes * (n - successes) / n + z2 / 4) / denominator
    # The exact bounds are 0 for k == 0 and 1 for k == n; pin them so float noise cannot leak out of [0, 1].
    low = 0.0 if successes == 0 else max(0.0, centre - half_width)
    high = 1.0 if successes == n else min(1.0, centre + half_width)
    return Interval(low=low, high=high, centre=centre)


def share(k: int, n: int, z: float = Z95) -> Share:
    """``k`` of ``n`` as a :class:`Share` with its Wilson interval (``p = 0.0`` when ``n == 0``)."""
    interval = wilson(k, n, z)
    return Share(k=k, n=n, p=k / n if n else 0.0, interval=interval)


def cell_kind(n: int) -> CellKind:
    """Display rule for a cell of ``n`` answers: HIDDEN < 10 <= COUNTS_ONLY < 30 <= UNSTABLE < 60 <= OK."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if n < MIN_SHOWN:
        return CellKind.HIDDEN
    if n < MIN_PERCENT:
        return CellKind.COUNTS_ONLY
    if n < MIN_STABLE:
        return CellKind.UNSTABLE
    return CellKind.OK


K = TypeVar("K", bound=AnswerKey)


def index_from_counts(counts: Mapping[K, int]) -> ShareResult:
    """Satisfied (4-5) and dissatisfied (1-2) shares from a histogram of answers.

    Keys are the stored answer values: the ints 1-5, ``"dk"`` (don't know) and ``None`` (skipped);
    "dk" and skipped answers are counted but excluded from the denominator.  Any other key (including
    the strings "1".."5") or a negative count raises ``ValueError``.
    """
    histogram = dict.fromkeys(SCALE_VALUES, 0)
    dont_know = skipped = 0
    for key, count in counts.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count for answer {key!r} must be a non-negative int, got {count!r}")
        if key is None:
            skipped += count
        elif key == DONT_KNOW:
            dont_know += count
        elif isinstance(key, int) and not isinstance(key, bool) and key in SCALE_VALUES:
            histogram[key] += count
        else:
            raise ValueError(f"unexpected answer {key!r}: expected 1-5, {DONT_KNOW!r} or None")
    n_valid = sum(histogram.values())
    satisfied = sum(histogram[v] for v in SATISFIED_VALUES)
    dissatisfied = sum(histogram[v] for v in DISSATISFIED_VALUES)
    return ShareResult(
        satisfied=share(satisfied, n_valid),
        dissatisfied=share(dissatisfied, n_valid),
        n_valid=n_valid,
        dont_know=dont_know,
        skipped=skipped,
    )


def change(previous: Share, current: Share) -> Direction:
    """ "up" / "down" only when the two intervals do not overlap (touching counts as overlap), else "same".

    This is the statistical rule only; a caller must not publish a direction for a cell whose
    percentages are not shown (HIDDEN or COUNTS_ONLY), as that would reveal what the cell hides.
    """
    if current.interval.low > previous.interval.high:
        return "up"
    if current.interval.high < previous.interval.low:
        return "down"
    return "same"


class _Comparable(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


U = TypeVar("U", bound=_Comparable)


def lowest(units: Sequence[tuple[U, Share]], k: int = 3) -> list[tuple[U, Share]]:
    """The ``k`` units with the lowest share, among those with ``n >= 30`` only.

    Sorted by ``p`` ascending, ties broken by the unit key ascending (so the result is deterministic).
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    rankable = [unit for unit in units if unit[1].n >= MIN_RANK]
    rankable.sort(key=lambda unit: (unit[1].p, unit[0]))
    return rankable[:k]


def top_choices(counts: Mapping[str, int], total_respondents: int, k: int = 3) -> list[tuple[str, Share]]:
    """The ``k`` most chosen options, each as the share of *respondents* who chose it.

    For multi-choice questions the shares can add up to more than 100%.  Options nobody chose are left
    out; ties are broken by option key ascending.  A count above ``total_respondents`` raises ``ValueError``.
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    if total_respondents < 0:
        raise ValueError(f"total_respondents must be >= 0, got {total_respondents}")
    shares = [(option, share(count, total_respondents)) for option, count in counts.items()]
    chosen = [(option, s) for option, s in shares if s.k > 0]
    chosen.sort(key=lambda item: (-item[1].k, item[0]))
    return chosen[:k]


def _check_counts(k: int, n: int) -> None:
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if k < 0:
        raise ValueError(f"successes must be >= 0, got {k}")
    if k > n:
        raise ValueError(f"successes ({k}) cannot exceed n ({n})")
