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
* A PAPI-style score (1-10) is the mean of the respondents' scores with a 95% Student t interval
  (mean ± t(0.975, n-1)·s/√n, kept within the scale); the same small-cell rules apply to its n (respondents).
* An honest rank: a unit's rank is 1 + the number of units whose interval lies entirely above its own; units
  with the same rank are tied (`honest_ranks`).

Display wording (see `reports.format`, the one formatter):

* OK (n >= 60):          ``"80% (63–91%)"`` in both languages.
* UNSTABLE (30-59):      ``"80% (63–91%) ⚠ ít phản hồi (n=45)"`` / ``"80% (63–91%) ⚠ few responses (n=45)"``.
* COUNTS_ONLY (10-29):   ``"24/25"`` in both languages, i.e. "k of n"; the caller adds what is counted
  (e.g. "hài lòng" / "satisfied"), because a :class:`Share` does not know whether it counts satisfied
  or dissatisfied answers.
* HIDDEN (< 10):         ``"<10"``.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any, Final, Literal, Protocol, TypeVar

__all__ = [
    "MAX_SCORE",
    "MIN_PERCENT",
    "MIN_RANK",
    "MIN_SCORE",
    "MIN_SHOWN",
    "MIN_STABLE",
    "Z95",
    "AnswerKey",
    "CellKind",
    "Direction",
    "Estimate",
    "Interval",
    "Lang",
    "Mean",
    "Rank",
    "Share",
    "ShareResult",
    "cell_kind",
    "change",
    "estimate_of_mean",
    "estimate_of_share",
    "honest_ranks",
    "index_from_counts",
    "interval_change",
    "lowest",
    "mean_from_sums",
    "mean_of",
    "share",
    "t_quantile",
    "top_choices",
    "total",
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


MIN_SCORE: Final = 1.0
MAX_SCORE: Final = 10.0
"""The range of a PAPI-style dimension score (eight dimensions: a total of 8-80)."""


@dataclass(frozen=True, slots=True)
class Interval:
    """A 95% interval: of a proportion (values in [0, 1]) or of a mean score (values within its scale).

    For a proportion ``centre`` is the Wilson centre (p shrunk towards 1/2), not the observed share, and for
    n == 0 the interval is the whole range, ``Interval(0.0, 1.0, 0.5)``: no answers, no information.  For a
    mean it is the mean itself.
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


# --- PAPI-style scores: means with t intervals ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mean:
    """The mean of ``n`` respondents' scores, their standard deviation and the 95% t interval of the mean.

    For n == 0 the mean is reported as 0.0 and the interval is the whole scale; for n == 1 (no spread to
    measure) the interval is the whole scale too.  Build with :func:`mean_from_sums` or :func:`mean_of`.
    """

    n: int
    mean: float
    sd: float
    interval: Interval

    @property
    def kind(self) -> CellKind:
        """How this mean may be displayed, from its ``n`` (respondents)."""
        return cell_kind(self.n)


def _betacf(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        aa = m * (b - m) * x / ((a - 1.0 + 2 * m) * (a + 2 * m))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 1.0 + 2 * m))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-15:
            break
    return h


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def _t_upper_tail(t: float, df: int) -> float:
    """P(T > t) for Student's t with ``df`` degrees of freedom, t >= 0."""
    return 0.5 * _incomplete_beta(df / 2.0, 0.5, df / (df + t * t))


@lru_cache(maxsize=4096)
def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (p in (0.5, 1)): 2.045 for (0.975, 29).

    Bisection on the distribution function (computed with the incomplete beta function) to 1e-10."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if not 0.5 < p < 1.0:
        raise ValueError(f"p must be in (0.5, 1), got {p}")
    tail = 1.0 - p
    low, high = 0.0, 1.0
    while _t_upper_tail(high, df) > tail:
        high *= 2.0
    while high - low > 1e-10:
        middle = (low + high) / 2.0
        if _t_upper_tail(middle, df) > tail:
            low = middle
        else:
            high = middle
    return (low + high) / 2.0


def mean_from_sums(n: int, total: float, total_sq: float, low: float = MIN_SCORE, high: float = MAX_SCORE) -> Mean:
    """The mean of ``n`` scores given their sum and sum of squares, with its 95% t interval kept in [low, high].

    Raises ``ValueError`` for a negative ``n``."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    whole = Interval(low=low, high=high, centre=(low + high) / 2)
    if n == 0:
        return Mean(0, 0.0, 0.0, whole)
    mean = total / n
    if n == 1:
        return Mean(1, mean, 0.0, Interval(low=low, high=high, centre=mean))
    variance = max(0.0, (total_sq - total * total / n) / (n - 1))
    sd = math.sqrt(variance)
    half = t_quantile(0.975, n - 1) * sd / math.sqrt(n)
    return Mean(n, mean, sd, Interval(low=max(low, mean - half), high=min(high, mean + half), centre=mean))


def mean_of(values: Sequence[float], low: float = MIN_SCORE, high: float = MAX_SCORE) -> Mean:
    """:func:`mean_from_sums` of a list of scores."""
    return mean_from_sums(len(values), math.fsum(values), math.fsum(v * v for v in values), low, high)


def interval_change(previous: Interval, current: Interval) -> Direction:
    """ "up" / "down" only when the two intervals do not overlap (touching counts as overlap), else "same"."""
    if current.low > previous.high:
        return "up"
    if current.high < previous.low:
        return "down"
    return "same"


# --- one kind of figure for both methods -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Estimate:
    """A figure made by one of the two methods, as reports rank and compare them.

    ``method`` "share": the SIPAS share of answers 4-5 (``value`` in [0, 1], ``n`` valid answers, ``share``
    set); "score": a PAPI-style mean score (``value`` on its scale, ``n`` respondents, ``mean`` set) or a
    total of such scores (``parts`` dimension scores added, ``mean`` None)."""

    method: Literal["share", "score"]
    n: int
    value: float
    interval: Interval
    share: Share | None = None
    mean: Mean | None = None
    parts: int = 0

    @property
    def kind(self) -> CellKind:
        return cell_kind(self.n)

    @property
    def shown(self) -> bool:
        """Whether the figure itself is shown (from 30: percentages or scores; below, counts at most)."""
        return self.kind in (CellKind.UNSTABLE, CellKind.OK)

    @property
    def rankable(self) -> bool:
        """Whether it may enter a ranking (n >= 30)."""
        return self.shown and self.n >= MIN_RANK


def estimate_of_share(s: Share) -> Estimate:
    return Estimate("share", s.n, s.p, s.interval, share=s)


def estimate_of_mean(m: Mean) -> Estimate:
    return Estimate("score", m.n, m.mean, m.interval, mean=m)


def total(parts: Sequence[Estimate]) -> Estimate | None:
    """The sum of dimension scores (PAPI's total, 8-80 for eight dimensions), or None unless every part is a
    shown score. Its interval adds the parts' bounds (conservative: the parts come from the same people, so
    their errors are not independent); its n is the smallest part's."""
    if not parts or any(p.method != "score" or not p.shown for p in parts):
        return None
    low = math.fsum(p.interval.low for p in parts)
    high = math.fsum(p.interval.high for p in parts)
    value = math.fsum(p.value for p in parts)
    return Estimate("score", min(p.n for p in parts), value, Interval(low, high, value), parts=len(parts))


@dataclass(frozen=True, slots=True)
class Rank:
    """A unit's place in an honest ranking: ``position`` = 1 + the units clearly ahead; ``tied`` when another
    unit has the same position."""

    position: int
    tied: bool


def honest_ranks(intervals: Mapping[U, Interval]) -> dict[U, Rank]:
    """Rank units by their intervals, separating only what the intervals separate.

    A unit's position is 1 + the number of units whose interval lies entirely above its own (their low bound
    above its high bound; touching is overlap). Units with equal positions are tied. So a unit is placed below
    another only when that one is clearly ahead of it or of something between; two units whose intervals
    overlap share a position unless some third unit is clearly ahead of one of them and not of the other."""
    lows = sorted(i.low for i in intervals.values())
    positions = {unit: 1 + len(lows) - bisect.bisect_right(lows, i.high) for unit, i in intervals.items()}
    counts = Counter(positions.values())
    return {unit: Rank(position, counts[position] > 1) for unit, position in positions.items()}


def _check_counts(k: int, n: int) -> None:
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if k < 0:
        raise ValueError(f"successes must be >= 0, got {k}")
    if k > n:
        raise ValueError(f"successes ({k}) cannot exceed n ({n})")
