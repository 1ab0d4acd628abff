"""Trends on the dashboard: each factor's index over the successive campaigns of a campaign's survey, for a
ward (its page) or for every ward the viewer may see (a CSV). Counts from `storage.repo.stats`, maths from
`reports.trends`; factors are matched across survey versions by their id."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from reports import trends as maths
from reports.stats import AnswerKey
from storage.records import CampaignRecord
from storage.repo.users import WebUserRecord
from web import figures
from web.context import WebContext

Histogram = Mapping[Any, int]
"""Answers counted by value (the repository's keys: int | str)."""


@dataclass(frozen=True)
class TrendCell:
    text: str
    kind: str
    arrow: str


@dataclass(frozen=True)
class TrendRow:
    label_vi: str
    label_en: str
    cells: list[TrendCell | None]
    """One per wave (None: its survey version did not ask this factor)."""


@dataclass(frozen=True)
class TrendTable:
    waves: list[maths.Wave]
    current: int
    """The index of the page's campaign among the waves."""
    rows: list[TrendRow]


@dataclass(frozen=True)
class _Factors:
    order: list[tuple[str, str, str]]
    """(factor id, label vi, label en), the overall index first."""
    questions: dict[int, dict[str, tuple[str, ...]]]
    """Campaign id -> factor id -> its questions in that campaign's survey version."""

    @property
    def question_ids(self) -> list[str]:
        return list(dict.fromkeys(q for plan in self.questions.values() for qids in plan.values() for q in qids))


async def _waves(ctx: WebContext, c: CampaignRecord, user: WebUserRecord) -> tuple[list[CampaignRecord], _Factors]:
    """The campaigns of `c`'s survey the user may see, oldest first, and each one's factors."""
    from storage.repo import campaigns, surveys

    async with ctx.db.read() as conn:
        found = [w for w in await campaigns.same_survey(conn, c) if figures.may_see(user, w) or w.id == c.id]
        plans = {}
        for w in found:
            if w.survey_id not in plans:
                plans[w.survey_id] = figures.plan(await surveys.definition(conn, w.survey_id, w.survey_hash))
    order: dict[str, tuple[str, str, str]] = {}
    questions: dict[int, dict[str, tuple[str, ...]]] = {}
    for w in sorted(found, key=lambda w: w.id != c.id):  # the page's campaign names the factors
        p = plans[w.survey_id]
        mine: dict[str, tuple[str, ...]] = {}
        if p.overall is not None:
            order.setdefault("overall", ("overall", p.overall.label("vi"), p.overall.label("en")))
            mine["overall"] = p.overall.questions
        for f in p.factors:
            if user.dimensions is not None and f.dimension not in user.dimensions:
                continue  # an official of some dimensions sees only their factors
            order.setdefault(f.id, (f.id, f.label("vi"), f.label("en")))
            mine[f.id] = f.questions
        questions[w.id] = mine
    return found, _Factors(list(order.values()), questions)


def _wave(w: CampaignRecord) -> maths.Wave:
    return maths.Wave(w.code, w.title, w.starts_at.astimezone(ZoneInfo(w.timezone)).date())


def _histogram(counts: Mapping[str, Histogram], qids: Sequence[str]) -> dict[AnswerKey, int]:
    total: dict[AnswerKey, int] = {}
    for q in qids:
        for value, n in counts.get(q, {}).items():
            total[value] = total.get(value, 0) + n
    return total


def _trends(
    waves: Sequence[CampaignRecord],
    factors: _Factors,
    counts: Mapping[int, Mapping[str, Histogram]],
    ward: int | None,
    covers: Mapping[int, frozenset[int]],
) -> list[maths.Trend]:
    lines = []
    for factor, label_vi, label_en in factors.order:
        histograms: list[Histogram | None] = []
        for w in waves:
            qids = factors.questions[w.id].get(factor)
            covered = ward is None or ward in covers[w.id]
            histograms.append(_histogram(counts.get(w.id, {}), qids) if qids and covered else None)
        lines.append(maths.trend(factor, label_vi, label_en, histograms))
    return lines


async def ward_trends(ctx: WebContext, c: CampaignRecord, ward: int, user: WebUserRecord) -> TrendTable:
    """The ward's factors over the campaigns of `c`'s survey that cover it (and the user may see)."""
    from storage.repo import stats

    found, factors = await _waves(ctx, c, user)
    waves = [w for w in found if ward in w.ward_codes]
    async with ctx.db.read() as conn:
        raw = await stats.scale_counts_by_campaign(conn, [w.id for w in waves], factors.question_ids, [ward])
    counts: dict[int, dict[str, Histogram]] = {}
    for (campaign_id, _, qid), histogram in raw.items():
        counts.setdefault(campaign_id, {})[qid] = histogram
    rows = []
    for t in _trends(waves, factors, counts, ward, {w.id: frozenset(w.ward_codes) for w in waves}):
        cells: list[TrendCell | None] = []
        for point in t.points:
            if point is None:
                cells.append(None)
                continue
            cell = figures.share_cell(point.result.satisfied)
            cells.append(TrendCell(cell.text, cell.kind, point.arrow))
        rows.append(TrendRow(t.label_vi, t.label_en, cells))
    current = next(i for i, w in enumerate(waves) if w.id == c.id)
    return TrendTable([_wave(w) for w in waves], current, rows)


async def trends_csv(
    ctx: WebContext, c: CampaignRecord, wards: Sequence[int] | None, user: WebUserRecord
) -> str:
    """Every ward of `wards` (None: all of `c`'s), factor and campaign of `c`'s survey as CSV
    (`reports.trends.CSV_HEADER`; first a `simulated` column for the demo), under the small-cell rules."""
    from storage.repo import stats
    from storage.repo import wards as ward_repo

    found, factors = await _waves(ctx, c, user)
    async with ctx.db.read() as conn:
        raw = await stats.scale_counts_by_campaign(
            conn, [w.id for w in found], factors.question_ids, None if wards is None else list(wards), by_ward=True
        )
        wards = list(c.ward_codes) if wards is None else list(wards)
        names = {u.code: u.name for u in await ward_repo.get_many(conn, wards)}
    by_ward: dict[int, dict[int, dict[str, Histogram]]] = {}
    for (campaign_id, ward, qid), histogram in raw.items():
        if ward is not None:
            by_ward.setdefault(ward, {}).setdefault(campaign_id, {})[qid] = histogram
    out = io.StringIO()
    writer = csv.writer(out)
    lead = ["simulated"] if c.simulated else []
    writer.writerow([*lead, *maths.CSV_HEADER])
    made = [_wave(w) for w in found]
    covers = {w.id: frozenset(w.ward_codes) for w in found}
    for ward in sorted(wards):
        for t in _trends(found, factors, by_ward.get(ward, {}), ward, covers):
            for w, wave, point in zip(found, made, t.points, strict=True):
                if ward not in covers[w.id]:
                    continue
                row = maths.csv_row(ward, names.get(ward, ""), t, wave, point)
                writer.writerow([*([1] if c.simulated else []), *row])
    return out.getvalue()
