"""What a dashboard page counts, read from the database at once, and kept a minute for a large campaign.

The counts of a page (responses by status, per day and per ward, the answers' histograms, issues, comments)
come from a handful of grouped queries (`storage.repo.stats`), run side by side on their own connections; the
answers are read in two passes (`stats.figure_counts`: the scales, and the questions read as JSON). A national
campaign's page over 100,000 responses still costs more than a second of database time (see
`python -m bench.dashboard`), so the counts of a campaign with `LARGE` completed responses or more are kept per
campaign and scope: a page shows them (saying as of when), and once they are `KEEP_SECONDS` old the next page
still shows them while they are counted again in the background. Only the first page of such a campaign after
a start waits for its counts; the factor chart that a page loads next reuses them. Smaller campaigns are
counted afresh for every page.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from storage.db import Database
from storage.records import CampaignRecord
from storage.repo import stats, timeline
from storage.repo.stats import Comment, FigureCounts, Totals, WardProgress

log = logging.getLogger(__name__)

LARGE = 10_000
KEEP_SECONDS = 60.0
KEPT = 32
"""How many (campaign, scope) counts one process keeps at most."""


@dataclass(frozen=True)
class Counts:
    """Everything a campaign or ward page shows, counted at `at`."""

    at: datetime
    totals: Totals
    per_day: list[tuple[date, int]]
    progress: list[WardProgress] | None
    """Every ward of the scope (None for a ward page)."""
    figures: FigureCounts
    recent: list[Comment]
    kept: bool = False
    """Taken from the kept counts of a large campaign rather than counted for this page."""


@dataclass(frozen=True)
class Questions:
    """Which questions feed the figures (see `web.figures.plan`)."""

    scale: Sequence[str]
    overall: str | None
    choices: Sequence[str]
    comments: Sequence[str]


class Counter:
    """Counts pages' figures; keeps those of large campaigns a minute (one per process, `WebContext.counter`)."""

    def __init__(self, db: Database, recent: int = 10) -> None:
        self.db = db
        self.recent = recent
        self.kept: OrderedDict[tuple[Any, ...], tuple[float, Counts]] = OrderedDict()
        self.locks: dict[tuple[Any, ...], asyncio.Lock] = {}
        self.refreshing: dict[tuple[Any, ...], asyncio.Task[Counts]] = {}

    async def count(
        self,
        c: CampaignRecord,
        wards: Sequence[int] | None,
        questions: Questions,
        now: datetime,
        *,
        by_ward: bool,
    ) -> Counts:
        """The counts of campaign `c` over `wards` (None: all), per ward too when `by_ward`."""
        key = (c.id, None if wards is None else tuple(wards), by_ward)
        found = self.kept.get(key)
        if found is not None:
            self.kept.move_to_end(key)
            if time.monotonic() - found[0] >= KEEP_SECONDS and key not in self.refreshing:
                task = asyncio.create_task(self._refresh(key, c, wards, questions, now, by_ward))
                self.refreshing[key] = task
                task.add_done_callback(lambda _: self.refreshing.pop(key, None))
            return replace(found[1], kept=True)
        lock = self.locks.setdefault(key, asyncio.Lock())
        async with lock:  # a second page asking at the same time waits for the first one's counts
            found = self.kept.get(key)
            if found is not None:
                return replace(found[1], kept=True)
            return await self._refresh(key, c, wards, questions, now, by_ward)

    async def _refresh(
        self,
        key: tuple[Any, ...],
        c: CampaignRecord,
        wards: Sequence[int] | None,
        questions: Questions,
        now: datetime,
        by_ward: bool,
    ) -> Counts:
        """Count, and keep the counts when the campaign is large (forget them otherwise)."""
        try:
            counts = await self._count(c, wards, questions, now, by_ward)
        except Exception:
            found = self.kept.get(key)
            if key not in self.refreshing or found is None:
                raise
            log.exception("dashboard: counting campaign %s again failed", c.code)  # keep showing what there is
            self.kept[key] = (time.monotonic(), found[1])
            return found[1]
        if counts.totals.completed >= LARGE:
            self.kept[key] = (time.monotonic(), counts)
            while len(self.kept) > KEPT:
                self.kept.popitem(last=False)
        else:
            self.kept.pop(key, None)
        return counts

    async def _count(
        self, c: CampaignRecord, wards: Sequence[int] | None, questions: Questions, now: datetime, by_ward: bool
    ) -> Counts:
        async def read(query: Any) -> Any:
            async with self.db.read() as conn:
                return await query(conn)

        overall = questions.overall if by_ward else None
        jobs = [
            read(lambda conn: stats.response_totals(conn, c.id, wards)),
            read(lambda conn: timeline.completed_per_day(conn, c.id, c.timezone, wards, at=now)),
            # the answers in two passes side by side: the scales (by ward for the overall index), and the
            # questions read as JSON (issues, comments)
            read(lambda conn: stats.figure_counts(conn, c.id, questions.scale, overall, wards=wards)),
            read(
                lambda conn: stats.figure_counts(
                    conn, c.id, (), None, questions.choices, questions.comments, wards=wards
                )
            ),
            read(lambda conn: stats.latest_comments(conn, c.id, questions.comments, wards, self.recent)),
        ]
        if by_ward:
            jobs.append(read(lambda conn: stats.ward_progress(conn, c.id, wards)))
        done = await asyncio.gather(*jobs)
        scales, texts = done[2], done[3]
        figures = FigureCounts(scales.scale, scales.by_ward, texts.choices, texts.comments)
        return Counts(now, done[0], done[1], done[5] if by_ward else None, figures, done[4])
