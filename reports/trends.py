"""Trends: a satisfaction index over successive campaigns of the same survey (SIPAS is compared year on year),
for one ward and one factor at a time. Pure: the counts come from `storage.repo.stats`, the statistics and the
small-cell rules from `reports.stats`.

A change between two campaigns is called (▲/▼) only when both show a percentage (30 answers or more) and their
95% Wilson intervals do not overlap; otherwise the figures stand side by side without a verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from reports import format as fmt
from reports.stats import (
    MIN_PERCENT,
    AnswerKey,
    CellKind,
    Direction,
    ShareResult,
    change,
    index_from_counts,
)

ARROWS: Mapping[Direction, str] = {"up": "▲", "down": "▼", "same": ""}


@dataclass(frozen=True)
class Wave:
    """One campaign in a trend, in the order they ran."""

    code: str
    title: str
    starts: date
    """Its first day, in its time zone."""


@dataclass(frozen=True)
class Point:
    """A factor's index in one campaign."""

    result: ShareResult
    change: Direction | None
    """Against the latest earlier campaign that shows a percentage; None when there is none to compare."""

    @property
    def arrow(self) -> str:
        return ARROWS[self.change] if self.change else ""


@dataclass(frozen=True)
class Trend:
    """One factor's index over the campaigns (None where the campaign's survey version did not ask it)."""

    factor: str
    label_vi: str
    label_en: str
    points: tuple[Point | None, ...]


def points(histograms: Sequence[Mapping[AnswerKey, int] | None]) -> tuple[Point | None, ...]:
    """Each campaign's index from its histogram (None: not asked), with the change against the latest earlier
    campaign that shows a percentage; a change is called only between two shown percentages (see `change`)."""
    out: list[Point | None] = []
    before: ShareResult | None = None
    for histogram in histograms:
        if histogram is None:
            out.append(None)
            continue
        result = index_from_counts(histogram)
        direction: Direction | None = None
        if result.n_valid >= MIN_PERCENT and before is not None:
            direction = change(before.satisfied, result.satisfied)
        out.append(Point(result, direction))
        if result.n_valid >= MIN_PERCENT:
            before = result
    return tuple(out)


def trend(
    factor: str, label_vi: str, label_en: str, histograms: Sequence[Mapping[AnswerKey, int] | None]
) -> Trend:
    return Trend(factor, label_vi, label_en, points(histograms))


CSV_HEADER = (
    "ward_code",
    "ward_name",
    "factor",
    "factor_vi",
    "factor_en",
    "campaign",
    "campaign_title",
    "campaign_starts",
    "valid_answers",
    "satisfied",
    "index",
    "low_95",
    "high_95",
    "shown_as",
    "change",
)
"""The trends CSV: one row per ward, factor and campaign. Under 10 answers nothing but "<10" is shown; 10-29
give counts only (valid answers and satisfied); percentages (index and its interval, 0-1) from 30."""


def csv_row(ward_code: int, ward_name: str, t: Trend, wave: Wave, point: Point | None) -> list[Any]:
    """One row of the trends CSV, following the small-cell rules (see `CSV_HEADER`)."""
    base: list[Any] = [ward_code, ward_name, t.factor, t.label_vi, t.label_en, wave.code, wave.title]
    base.append(wave.starts.isoformat())
    if point is None:
        return [*base, "", "", "", "", "", "not asked", ""]
    s = point.result.satisfied
    shown = fmt.share(s, "en")
    if s.kind is CellKind.HIDDEN:
        return [*base, "", "", "", "", "", shown, ""]
    if s.kind is CellKind.COUNTS_ONLY:
        return [*base, s.n, "" if fmt.hidden(s.k) else s.k, "", "", "", shown, ""]
    return [*base, s.n, s.k, round(s.p, 4), round(s.interval.low, 4), round(s.interval.high, 4), shown,
            point.change or ""]  # fmt: skip
