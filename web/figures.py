"""The dashboard's figures: counts from SQL (`storage.repo.stats`, `storage.repo.timeline`), statistics from
`reports.stats`, each number turned into what may be shown under the small-cell rules (DOMAIN.md):

* fewer than 10 answers: only "<10" (counts of responses too);
* 10-29: counts only ("24/25"), no percentage;
* 30-59: percentage with its 95% Wilson interval, marked "⚠ ít phản hồi" (unstable);
* 60 and more: percentage with its interval;
* wards are ranked (lowest three) only from 30 answers.

Nothing here formats a number any other way. The factor chart is the digests' chart (`reports.digest`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncConnection

from flows.schema import Survey
from flows.text import fold
from reports import digest as content
from reports import format as fmt
from reports.plan import Plan, plan_of
from reports.stats import (
    MIN_PERCENT,
    MIN_SHOWN,
    AnswerKey,
    index_from_counts,
    lowest,
    top_choices,
)
from storage.admin_units import UnknownProvince, province_name
from storage.records import CampaignRecord, ReminderPolicy
from storage.repo import stats, surveys
from storage.repo import wards as ward_repo
from storage.repo.users import WebUserRecord
from web import timeline as timeline_view
from web.context import WebContext
from web.counting import Counter as Counter_
from web.counting import Questions

RECENT_COMMENTS = 10
LOWEST_WARDS = 3
PAGE_SIZE = 150
"""Wards per page of a campaign's ward table (a province's wards, as Hà Nội's 126, fit on one)."""

STATUS = {
    "draft": ("Nháp", "Draft"),
    "active": ("Đang chạy", "Active"),
    "closed": ("Đã kết thúc", "Closed"),
}


# --- who sees what -------------------------------------------------------------------------------------------


def visible_wards(user: WebUserRecord, c: CampaignRecord) -> list[int] | None:
    """The campaign's wards the user sees: None for all of them (operators, officials without a scope)."""
    if user.is_operator or user.scope is None:
        return None
    return sorted(set(user.scope) & set(c.ward_codes))


def may_see(user: WebUserRecord, c: CampaignRecord) -> bool:
    """Operators see every campaign; officials see launched campaigns that cover one of their wards; monitors see
    no campaign's figures (their oversight pages show how it is run)."""
    if user.is_operator:
        return True
    if c.status == "draft" or user.is_monitor:
        return False
    wards = visible_wards(user, c)
    return wards is None or bool(wards)


def reminders(policy: ReminderPolicy) -> tuple[str, str]:
    """A campaign's reminder policy in Vietnamese and English: when, how many, and the quiet hours."""
    delays = policy.delays()
    if not delays:
        return "Không gửi nhắc nhở", "No reminders"
    quiet_vi = f"; không gửi {policy.quiet_start}–{policy.quiet_end}" if policy.has_quiet_hours else ""
    quiet_en = f"; none {policy.quiet_start}–{policy.quiet_end}" if policy.has_quiet_hours else ""
    return (
        f"Nhắc sau {', '.join(delays)} kể từ câu trả lời cuối{quiet_vi}",
        f"After {', '.join(delays)} since the last answer{quiet_en}",
    )


# --- cells ---------------------------------------------------------------------------------------------------


Cell = fmt.Cell
count_cell = fmt.count_cell
share_cell = fmt.share_cell
rate_cell = fmt.rate_cell
target_cell = fmt.of_target


def _local(moment: datetime | None, tz: str, style: str = "datetime") -> str:
    return fmt.local(moment, tz, style) or "–"


# --- campaign list -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignRow:
    code: str
    title: str
    status: str
    status_vi: str
    status_en: str
    starts: str
    ends: str
    wards: int
    started: Cell
    completed: Cell
    target: Cell
    simulated: bool = False


async def campaign_row(conn: AsyncConnection, user: WebUserRecord, c: CampaignRecord) -> CampaignRow:
    wards = visible_wards(user, c)
    totals = await stats.response_totals(conn, c.id, wards)
    n_wards = len(c.ward_codes) if wards is None else len(wards)
    vi, en = STATUS.get(c.status, (c.status, c.status))
    return CampaignRow(
        code=c.code,
        title=c.title,
        status=c.status,
        status_vi=vi,
        status_en=en,
        starts=_local(c.starts_at, c.timezone),
        ends=_local(c.ends_at, c.timezone),
        wards=n_wards,
        started=count_cell(totals.started),
        completed=count_cell(totals.completed),
        target=target_cell(totals.completed, c.target_per_ward * n_wards if c.target_per_ward else None),
        simulated=c.simulated,
    )


# --- a campaign or a ward ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexLine:
    label_vi: str
    label_en: str
    n: Cell
    satisfied: Cell
    dissatisfied: Cell
    n_valid: int
    is_overall: bool = False


@dataclass(frozen=True)
class WardLine:
    code: int
    name: str
    province: str
    started: Cell
    completed: Cell
    target: Cell
    completion: Cell
    n: Cell
    satisfied: Cell
    dissatisfied: Cell
    rank: int | None
    """1, 2, 3 for the lowest overall indices among wards with 30+ answers."""


@dataclass(frozen=True)
class ProvinceLine:
    """A province's wards of a campaign taken together (a campaign over several provinces groups them)."""

    code: int
    name: str
    wards: int
    started: Cell
    completed: Cell
    n: Cell
    satisfied: Cell
    dissatisfied: Cell


@dataclass(frozen=True)
class WardView:
    """Which wards the ward table shows: one province, those whose name has `query` (diacritics optional), one
    page of `PAGE_SIZE`."""

    province: int | None = None
    query: str = ""
    page: int = 1


@dataclass(frozen=True)
class WardTable:
    lines: list[WardLine]
    """The page's wards."""
    total: int
    """Wards in the scope."""
    matching: int
    """Wards the view's province and search select."""
    page: int
    pages: int
    provinces: list[ProvinceLine]
    """Every province of the scope, when there are several (empty otherwise)."""
    view: WardView


@dataclass(frozen=True)
class IssueLine:
    label_vi: str
    label_en: str
    share: Cell


@dataclass(frozen=True)
class CommentLine:
    ward: str | None
    day: str
    text: str


@dataclass(frozen=True)
class Report:
    wards: list[int] | None
    """The wards reported on (None: every ward of the campaign)."""
    scope_names: list[str] | None
    started: Cell
    completed: Cell
    completion: Cell
    target: Cell
    days: list[timeline_view.DayLine]
    timeline: Markup
    overall: IndexLine | None
    factors: list[IndexLine]
    table: WardTable | None
    issues_vi: str | None
    issues_en: str | None
    issues_base: Cell
    issues: list[IssueLine]
    issues_hidden: bool
    """Fewer than 10 completed responses: which issues were chosen would point at individual answers."""
    comments_count: Cell
    comments: list[CommentLine]
    comments_hidden: bool
    """Fewer than 10 completed responses (to an official): the comments' texts are not shown."""
    has_chart: bool
    as_of: str | None = None
    channels: list[tuple[str, str, Cell]] = field(default_factory=list)
    """Completed responses per channel they came through: (name in Vietnamese, in English, count)."""
    """When the figures were counted, for a large campaign's figures kept up to a minute (None: just now)."""

    @property
    def ward_lines(self) -> list[WardLine]:
        return self.table.lines if self.table else []


def questions_of(p: Plan) -> Questions:
    """What the counter counts for a plan's figures."""
    return Questions(p.scale_questions, p.overall.id if p.overall else None, [p.issues] if p.issues else [], p.comments)


def plan(survey: Survey) -> Plan:
    """Which questions feed the figures: the one plan of `reports.plan`."""
    return plan_of(survey)


def _sum(histograms: Sequence[Mapping[int | str, int]]) -> dict[AnswerKey, int]:
    total: Counter[AnswerKey] = Counter()
    for h in histograms:
        total.update(h)
    return dict(total)


def _index_line(label_vi: str, label_en: str, histogram: Mapping[Any, int], overall: bool = False) -> IndexLine:
    """An index line from a histogram of answers (keys: the answer values, as the repository counts them)."""
    result = index_from_counts(histogram)
    return IndexLine(
        label_vi=label_vi,
        label_en=label_en,
        n=count_cell(result.n_valid),
        satisfied=share_cell(result.satisfied),
        dissatisfied=share_cell(result.dissatisfied),
        n_valid=result.n_valid,
        is_overall=overall,
    )


@lru_cache(maxsize=64)
def province_label(code: int) -> str:
    try:
        return province_name(code)
    except UnknownProvince:
        return str(code)


def ward_table(
    c: CampaignRecord,
    progress: Sequence[stats.WardProgress],
    overall_by_ward: Mapping[int | None, Mapping[int | str, int]] | None,
    view: WardView,
) -> WardTable:
    """The ward table of a campaign page: the lowest three ranked among ALL the scope's wards, then the view's
    province and search applied, then one page; a campaign over several provinces adds a line per province."""
    results = {w.code: index_from_counts(overall_by_ward.get(w.code, {})) for w in progress} if overall_by_ward else {}
    ranked = lowest([(code, r.satisfied) for code, r in results.items()], LOWEST_WARDS)
    ranks = {code: i for i, (code, _) in enumerate(ranked, start=1)}
    by_province: dict[int, list[stats.WardProgress]] = {}
    for w in progress:
        by_province.setdefault(w.province_code, []).append(w)
    provinces: list[ProvinceLine] = []
    if len(by_province) > 1:
        for code, members in sorted(by_province.items(), key=lambda kv: province_label(kv[0])):
            histogram = _sum([overall_by_ward.get(w.code, {}) for w in members]) if overall_by_ward else {}
            r = index_from_counts(histogram)
            provinces.append(
                ProvinceLine(
                    code=code,
                    name=province_label(code),
                    wards=len(members),
                    started=count_cell(sum(w.started for w in members)),
                    completed=count_cell(sum(w.completed for w in members)),
                    n=count_cell(r.n_valid) if overall_by_ward else Cell("–"),
                    satisfied=share_cell(r.satisfied) if overall_by_ward else Cell("–"),
                    dissatisfied=share_cell(r.dissatisfied) if overall_by_ward else Cell("–"),
                )
            )
    chosen = [w for w in progress if view.province is None or w.province_code == view.province]
    key = fold(view.query)
    if key:
        chosen = [w for w in chosen if key in w.search_key or key == str(w.code)]
    pages = max(1, -(-len(chosen) // PAGE_SIZE))
    page = min(max(1, view.page), pages)
    lines = []
    for w in chosen[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]:
        found_result = results.get(w.code)
        lines.append(
            WardLine(
                code=w.code,
                name=w.name,
                province=province_label(w.province_code),
                started=count_cell(w.started),
                completed=count_cell(w.completed),
                target=target_cell(w.completed, w.target),
                completion=rate_cell(w.completed, w.started),
                n=count_cell(found_result.n_valid) if found_result else Cell("–"),
                satisfied=share_cell(found_result.satisfied) if found_result else Cell("–"),
                dissatisfied=share_cell(found_result.dissatisfied) if found_result else Cell("–"),
                rank=ranks.get(w.code),
            )
        )
    return WardTable(
        lines, len(progress), len(chosen), page, pages, provinces, WardView(view.province, view.query, page)
    )


def counter(ctx: WebContext) -> Counter_:
    """The process's counter of pages' figures (`web.counting`), made on first use."""
    if ctx.counter is None:
        ctx.counter = Counter_(ctx.db, RECENT_COMMENTS)
    return ctx.counter


async def report(
    ctx: WebContext,
    c: CampaignRecord,
    wards: list[int] | None,
    now: datetime,
    *,
    by_ward: bool = True,
    view: WardView | None = None,
    dimensions: Sequence[int] | None = None,
) -> Report:
    """Every figure of a campaign page (wards None: all of them) or of a ward page (wards [code], by_ward off);
    with `dimensions` (an official's), only the factors of those PAPI dimensions."""
    async with ctx.db.read() as conn:
        survey = await surveys.definition(conn, c.survey_id, c.survey_hash)
        scope_names = [u.name for u in await ward_repo.get_many(conn, wards)] if wards is not None else None
        by_channel = await stats.completed_by_channel(conn, c.id, wards)
    p = plan(survey)
    counts = await counter(ctx).count(c, wards, questions_of(p), now, by_ward=by_ward)
    totals, found = counts.totals, counts.figures
    n_wards = len(c.ward_codes) if wards is None else len(wards)
    day_lines = timeline_view.days(c, counts.per_day, now)

    overall = None
    if p.overall is not None:
        overall = _index_line(
            p.overall.label("vi"), p.overall.label("en"), found.scale.get(p.overall.id, {}), overall=True
        )
    factors = []
    for f in p.factors:
        if dimensions is not None and f.dimension not in dimensions:
            continue
        label_vi, label_en, qids = f.label("vi"), f.label("en"), f.questions
        histogram = _sum([found.scale.get(q, {}) for q in qids])
        if sum(histogram.values()):  # a factor nobody has answered yet is left out, as in digests
            factors.append(_index_line(label_vi, label_en, histogram))

    table = None
    if by_ward and counts.progress is not None:
        table = ward_table(c, counts.progress, found.by_ward if p.overall else None, view or WardView())

    issues: list[IssueLine] = []
    issues_vi = issues_en = None
    issues_hidden = False
    completed = totals.completed
    if p.issues is not None:
        question = survey.question(p.issues)
        issues_vi, issues_en = survey.text(question.label, "vi"), survey.text(question.label, "en")
        chosen = found.choices.get(p.issues, {})
        base = max(completed, max(chosen.values(), default=0))
        issues_hidden = 0 < base < MIN_SHOWN
        for value, s in top_choices(chosen, base, k=len(chosen)) if not issues_hidden else ():
            vi, en = p.issue_label(value, "vi"), p.issue_label(value, "en")
            issues.append(IssueLine(vi, en, share_cell(s)))

    comments = [CommentLine(cm.ward_name, _local(cm.completed_at, c.timezone, "date"), cm.text) for cm in counts.recent]
    comments_hidden = bool(comments) and fmt.hidden(completed)  # under 10 people: a comment could be told apart
    if comments_hidden:
        comments = []
    has_chart = any(line.n_valid >= MIN_PERCENT for line in ([overall] if overall else []) + factors)
    return Report(
        wards=wards,
        scope_names=scope_names,
        started=count_cell(totals.started),
        completed=count_cell(completed),
        completion=rate_cell(completed, max(totals.started, completed)),
        target=target_cell(completed, c.target_per_ward * n_wards if c.target_per_ward else None),
        days=day_lines,
        timeline=timeline_view.svg(day_lines, dict(counts.per_day)),
        overall=overall,
        factors=factors,
        table=table,
        issues_vi=issues_vi,
        issues_en=issues_en,
        issues_base=count_cell(completed),
        issues=issues,
        issues_hidden=issues_hidden,
        comments_count=count_cell(found.comments),
        comments=comments,
        comments_hidden=comments_hidden,
        has_chart=has_chart,
        as_of=_local(counts.at, c.timezone, "seconds") if counts.kept else None,
        channels=[
            (fmt.channel_name(channel, "vi"), fmt.channel_name(channel, "en"), cell)
            for channel, cell in fmt.breakdown(by_channel)
        ],
    )


async def chart_input(
    ctx: WebContext,
    c: CampaignRecord,
    wards: list[int] | None,
    now: datetime,
    *,
    by_ward: bool = True,
    dimensions: Sequence[int] | None = None,
) -> content.DigestInput:
    """What the digests' factor chart needs for a scope (`chart_png` draws it); `by_ward` as for the page it is
    drawn for, whose counts it then shares when they are kept; `dimensions` as for `report`."""
    async with ctx.db.read() as conn:
        survey = await surveys.definition(conn, c.survey_id, c.survey_hash)
    p = plan(survey)
    counts = await counter(ctx).count(c, wards, questions_of(p), now, by_ward=by_ward)
    scale = counts.figures.scale
    overall = None
    if p.overall is not None:
        overall = content.FactorCounts(label=p.overall.label("vi"), total=_sum([scale.get(p.overall.id, {})]))
    factors = [
        content.FactorCounts(label=f.label("vi"), total=_sum([scale.get(q, {}) for q in f.questions]))
        for f in p.factors
        if dimensions is None or f.dimension in dimensions
    ]
    end = max(now, c.starts_at + timedelta(minutes=1))
    return content.DigestInput(
        language="vi",
        campaign_title=c.title,
        scope_label="",
        period=content.Window(c.starts_at, end),
        timezone=c.timezone,
        responses_period=0,
        responses_total=0,
        started_total=0,
        overall=overall,
        factors=factors,
    )


def chart_png(data: content.DigestInput) -> bytes | None:
    """The digests' chart: factor indices with their 95% interval bars, factors from 30 answers only (None:
    nothing to draw). CPU-bound (matplotlib): run it in a thread."""
    return content.chart_png(content.compute(data))


# --- PAPI dimensions of a campaign or a ward -----------------------------------------------------------------


@dataclass(frozen=True)
class DimensionLine:
    number: int
    label_vi: str
    label_en: str
    method_vi: str
    method_en: str
    figure: Cell
    lead: str | None
    """The lead department's code (its page), None when no department leads it."""


async def dimension_lines(
    ctx: WebContext, c: CampaignRecord, wards: list[int] | None, user: WebUserRecord
) -> list[DimensionLine]:
    """The PAPI dimensions the campaign's questionnaire measures (those the user may see), each with its figure
    over the wards given (None: all) and its lead department; [] for a questionnaire without dimensions."""
    from reports.dimensions import figures as dimension_figures
    from reports.plan import dimension_label, method_label
    from storage.repo import departments

    async with ctx.db.read() as conn:
        p = plan(await surveys.definition(conn, c.survey_id, c.survey_hash))
        numbers = [d.number for d in p.dimensions if user.sees_dimension(d.number)]
        if not numbers:
            return []
        found = await dimension_figures(conn, c.id, p, numbers, wards)
        leads = await departments.lead_departments(conn)
    return [
        DimensionLine(
            f.number,
            dimension_label(f.number, "vi"),
            dimension_label(f.number, "en"),
            method_label(f.scoring, "vi"),
            method_label(f.scoring, "en"),
            fmt.estimate_cell(f.overall),
            leads[f.number].code if f.number in leads else None,
        )
        for f in found
    ]
