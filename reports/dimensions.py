"""PAPI dimensions' figures for a campaign and a scope of wards: each dimension's figure over the scope and per
ward, its sub-dimensions, the honest ranks of the wards and the wards that need attention. What a lead
department's digest, the department pages of the dashboard and the annual report are made of.

A figure is an `reports.stats.Estimate` of its dimension's method (`reports.plan`): a share of answers 4-5
with its Wilson interval, or a 1-10 score (the mean of respondents' scores) with its t interval.

The wards that need attention: those whose figure (from 30 answers or respondents) has an interval lying
entirely below the interval of the figure of the whole scope (all its wards together), lowest first. A ward
is named only where the intervals separate it from the rest; "none" means no ward can be told apart yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from reports.plan import Dimension, Figure, Plan
from reports.stats import (
    AnswerKey,
    Estimate,
    Rank,
    estimate_of_mean,
    estimate_of_share,
    honest_ranks,
    index_from_counts,
    mean_from_sums,
)
from storage.repo import stats
from storage.repo.stats import NO_SCORES, ScoreSums

ATTENTION = 5
"""At most this many wards are named as needing attention."""


def of_sums(sums: ScoreSums) -> Estimate:
    """A 1-10 score from respondents' mean item scores x (each in [0, 1]): the mean of 1 + 9x, its t interval."""
    n, t, t2 = sums.n, sums.total, sums.total_sq
    return estimate_of_mean(mean_from_sums(n, n + 9 * t, n + 18 * t + 81 * t2))


def of_histogram(histogram: Mapping[AnswerKey, int]) -> Estimate:
    """The share of answers 4-5 among valid answers, with its Wilson interval."""
    return estimate_of_share(index_from_counts(histogram).satisfied)


@dataclass(frozen=True)
class DimensionFigures:
    """One dimension in one window: over the scope, per ward (wards with answers), and its sub-dimensions."""

    dimension: Dimension
    overall: Estimate
    by_ward: Mapping[int, Estimate]
    factors: tuple[tuple[Figure, Estimate], ...]

    @property
    def number(self) -> int:
        return self.dimension.number

    @property
    def scoring(self) -> str:
        return self.dimension.scoring

    def ranks(self) -> dict[int, Rank]:
        """Honest ranks of the wards whose figure may be ranked (n >= 30)."""
        return honest_ranks({w: e.interval for w, e in self.by_ward.items() if e.rankable})

    def attention(self, limit: int = ATTENTION) -> list[tuple[int, Estimate]]:
        """The wards clearly below the whole scope (interval entirely below its interval), lowest first."""
        if not self.overall.shown:
            return []
        low = self.overall.interval.low
        below = [(w, e) for w, e in self.by_ward.items() if e.rankable and e.interval.high < low]
        below.sort(key=lambda item: (item[1].value, item[0]))
        return below[:limit]

    @property
    def rankable_wards(self) -> int:
        return sum(1 for e in self.by_ward.values() if e.rankable)


def _sum(histograms: Sequence[Mapping[Any, int]]) -> dict[AnswerKey, int]:
    total: dict[AnswerKey, int] = {}
    for h in histograms:
        for key, n in h.items():
            total[key] = total.get(key, 0) + n
    return total


async def figures(
    conn: AsyncConnection,
    campaign_id: int,
    plan: Plan,
    numbers: Sequence[int] | None,
    wards: Sequence[int] | None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[DimensionFigures]:
    """The figures of the plan's dimensions among `numbers` (None: all) for completed responses in the window,
    in the wards given (None: all): three grouped queries at most, whatever the number of wards."""
    wanted = [d for d in plan.dimensions if numbers is None or d.number in numbers]
    scored = [d for d in wanted if d.scoring == "score"]
    shared = [d for d in wanted if d.scoring == "share"]
    result: dict[int, DimensionFigures] = {}
    if scored:
        groups = {k: v for d in scored for k, v in d.groups().items()}
        by_ward = await stats.score_sums(conn, campaign_id, groups, wards, since, until, by_ward=True)
        factor_groups = {f.id: {q.id: q.scores for q in f.scored} for d in scored for f in d.factors}
        by_factor = await stats.score_sums(conn, campaign_id, factor_groups, wards, since, until)
        for d in scored:
            key = str(d.number)
            ward_sums = {w: s for (g, w), s in by_ward.items() if g == key and w is not None}
            total = NO_SCORES
            for s in ward_sums.values():
                total = total + s
            result[d.number] = DimensionFigures(
                d,
                of_sums(total),
                {w: of_sums(s) for w, s in ward_sums.items()},
                tuple((f, of_sums(by_factor.get((f.id, None), NO_SCORES))) for f in d.factors),
            )
    if shared:
        qids = [q for d in shared for q in d.questions]
        counts = await stats.scale_counts(conn, campaign_id, qids, wards, since, until, by_ward=True)
        for d in shared:
            per_ward: dict[int, list[Mapping[int | str, int]]] = {}
            for (qid, ward), histogram in counts.items():
                if qid in d.questions and ward is not None:
                    per_ward.setdefault(ward, []).append(histogram)
            ward_histograms = {w: _sum(h) for w, h in per_ward.items()}
            factors = []
            for f in d.factors:
                parts = [h for (qid, ward), h in counts.items() if qid in f.questions and ward is not None]
                factors.append((f, of_histogram(_sum(parts))))
            result[d.number] = DimensionFigures(
                d,
                of_histogram(_sum(list(ward_histograms.values()))),
                {w: of_histogram(h) for w, h in ward_histograms.items()},
                tuple(factors),
            )
    return [result[d.number] for d in wanted]
