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
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape
from sqlalchemy.ext.asyncio import AsyncConnection

from flows.schema import Survey
from reports import digest as content
from reports.stats import (
    MIN_PERCENT,
    MIN_SHOWN,
    AnswerKey,
    CellKind,
    Share,
    cell_kind,
    format_count,
    format_percent,
    format_share,
    index_from_counts,
    lowest,
    top_choices,
)
from storage.records import CampaignRecord, ReminderPolicy
from storage.repo import stats, surveys, timeline
from storage.repo import wards as ward_repo
from storage.repo.users import WebUserRecord

RECENT_COMMENTS = 10
LOWEST_WARDS = 3
TIMELINE_DAYS = 92

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
    """Operators see every campaign; officials see launched campaigns that cover one of their wards."""
    if user.is_operator:
        return True
    if c.status == "draft":
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


@dataclass(frozen=True)
class Cell:
    """A figure as shown, with its small-cell kind (a CSS class: hidden, counts_only, unstable, ok, plain)."""

    text: str
    kind: str = "plain"


def count_cell(n: int) -> Cell:
    return Cell(format_count(n), CellKind.HIDDEN.value if n < 10 else "plain")


def share_cell(s: Share) -> Cell:
    return Cell(format_share(s, "vi"), s.kind.value)


def rate_cell(k: int, n: int) -> Cell:
    """A descriptive rate (completion): "<10" (n < 10), "k/n" (n < 30), else "78% (k/n)"."""
    kind = cell_kind(n)
    if kind is CellKind.HIDDEN:
        return Cell("<10", kind.value)
    if kind is CellKind.COUNTS_ONLY:
        return Cell(f"{k}/{n}", kind.value)
    return Cell(f"{format_percent(k / n)} ({k}/{n})", "plain")


def target_cell(completed: int, target: int | None) -> Cell:
    """Completed against a target: "<10 / 300" or "45 / 300 (15%)"; "–" without a target."""
    if not target:
        return Cell("–")
    if completed < 10:
        return Cell(f"<10 / {target}", CellKind.HIDDEN.value)
    return Cell(f"{completed} / {target} ({format_percent(completed / target)})")


def _local(moment: datetime | None, tz: str, fmt: str = "%d/%m/%Y %H:%M") -> str:
    return "–" if moment is None else moment.astimezone(ZoneInfo(tz)).strftime(fmt)


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
class DayLine:
    day: date
    completed: Cell
    cumulative: Cell


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
    days: list[DayLine]
    timeline: Markup
    overall: IndexLine | None
    factors: list[IndexLine]
    ward_lines: list[WardLine]
    issues_vi: str | None
    issues_en: str | None
    issues_base: Cell
    issues: list[IssueLine]
    issues_hidden: bool
    """Fewer than 10 completed responses: which issues were chosen would point at individual answers."""
    comments_count: Cell
    comments: list[CommentLine]
    has_chart: bool


@dataclass(frozen=True)
class _Plan:
    overall: tuple[str, str, str] | None
    """(question id, label vi, label en)."""
    factors: list[tuple[str, str, tuple[str, ...]]]
    """(label vi, label en, question ids)."""
    issues: str | None
    issue_labels: dict[str, tuple[str, str]]
    comments: tuple[str, ...]

    @property
    def scale_questions(self) -> list[str]:
        ids = [self.overall[0]] if self.overall else []
        for _, _, qids in self.factors:
            ids.extend(qids)
        return list(dict.fromkeys(ids))


def plan(survey: Survey) -> _Plan:
    """Which questions feed the figures: the digests' plan (`scheduler.digests.plan_for`), in both languages."""
    from scheduler.digests import plan_for

    vi, en = plan_for(survey, "vi"), plan_for(survey, "en")
    overall = (vi.overall[0], vi.overall[1], en.overall[1]) if vi.overall and en.overall else None
    factors = [(f_vi[1], f_en[1], f_vi[2]) for f_vi, f_en in zip(vi.factors, en.factors, strict=True)]
    labels = {value: (label, en.issue_labels.get(value, label)) for value, label in vi.issue_labels.items()}
    return _Plan(overall, factors, vi.issues, labels, vi.comments)


def _sum(histograms: Sequence[Mapping[int | str, int]]) -> dict[AnswerKey, int]:
    total: Counter[AnswerKey] = Counter()
    for h in histograms:
        total.update(h)
    return dict(total)


def _index_line(label_vi: str, label_en: str, histogram: Mapping[AnswerKey, int], overall: bool = False) -> IndexLine:
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


def _days(c: CampaignRecord, per_day: list[tuple[date, int]], now: datetime) -> list[DayLine]:
    tz = ZoneInfo(c.timezone)
    first = c.starts_at.astimezone(tz).date()
    last = min(now, c.closed_at or c.ends_at, c.ends_at).astimezone(tz).date()
    if per_day:
        first, last = min(first, per_day[0][0]), max(last, per_day[-1][0])
    if last < first:
        return []
    counts = dict(per_day)
    lines: list[DayLine] = []
    cumulative = 0
    day = first
    while day <= last:
        n = counts.get(day, 0)
        cumulative += n
        lines.append(DayLine(day, count_cell(n), count_cell(cumulative)))
        day += timedelta(days=1)
    return lines[-TIMELINE_DAYS:]


def timeline_svg(days: Sequence[DayLine], per_day: Mapping[date, int]) -> Markup:
    """Completed responses per day as an SVG bar chart (no inline styles: the CSP forbids them). A day with
    fewer than 10 shows as a pale bar at the "<10" level, never its exact count."""
    if not days:
        return Markup("")
    width, height, left, bottom, top = 720, 180, 40, 24, 12
    plot_h = height - bottom - top
    peak = max([10, *(per_day.get(d.day, 0) for d in days)])
    step = (width - left - 8) / len(days)
    bar = min(36.0, max(1.0, step * 0.75))
    parts = [
        f'<svg class="timeline" viewBox="0 0 {width} {height}" role="img" '
        'aria-labelledby="timeline-title" xmlns="http://www.w3.org/2000/svg">',
        '<title id="timeline-title">Phiếu hoàn thành mỗi ngày / Completed responses per day</title>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 4}" y2="{top + plot_h}" class="axis"/>',
        f'<text x="{left - 6}" y="{top + 4}" class="tick" text-anchor="end">{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" class="tick" text-anchor="end">0</text>',
    ]
    for i, line in enumerate(days):
        n = per_day.get(line.day, 0)
        shown = n if n >= 10 else 10
        h = plot_h * shown / peak
        x = left + i * step + (step - bar) / 2
        y = top + plot_h - h
        kind = "bar" if n >= 10 else "bar hidden"
        label = escape(f"{line.day:%d/%m}: {line.completed.text}")
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" class="{kind}">'
            f"<title>{label}</title></rect>"
        )
    ticks = sorted({0, len(days) - 1, *range(0, len(days), max(1, len(days) // 6))})
    for i in ticks:
        x = left + i * step + step / 2
        parts.append(f'<text x="{x:.1f}" y="{height - 6}" class="tick" text-anchor="middle">{days[i].day:%d/%m}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


async def report(
    conn: AsyncConnection,
    c: CampaignRecord,
    wards: list[int] | None,
    now: datetime,
    *,
    by_ward: bool = True,
) -> Report:
    """Every figure of a campaign page (wards None: all of them) or of a ward page (wards [code], by_ward off)."""
    survey = await surveys.definition(conn, c.survey_id)
    p = plan(survey)
    totals = await stats.response_totals(conn, c.id, wards)
    n_wards = len(c.ward_codes) if wards is None else len(wards)
    per_day = await timeline.completed_per_day(conn, c.id, c.timezone, wards, at=now)
    days = _days(c, per_day, now)

    scale = await stats.scale_counts(conn, c.id, p.scale_questions, wards)
    overall = None
    if p.overall is not None:
        overall = _index_line(p.overall[1], p.overall[2], _sum([scale.get((p.overall[0], None), {})]), overall=True)
    factors = []
    for label_vi, label_en, qids in p.factors:
        histogram = _sum([scale.get((q, None), {}) for q in qids])
        if sum(histogram.values()):  # a factor nobody has answered yet is left out, as in digests
            factors.append(_index_line(label_vi, label_en, histogram))

    ward_lines: list[WardLine] = []
    if by_ward:
        progress = await stats.ward_progress(conn, c.id, wards)
        overall_by_ward = await stats.scale_counts(conn, c.id, [p.overall[0]], wards, by_ward=True) if p.overall else {}
        results = {
            w.code: index_from_counts(overall_by_ward.get((p.overall[0], w.code), {})) if p.overall else None
            for w in progress
        }
        units = [(code, r.satisfied) for code, r in results.items() if r is not None]
        ranks = {code: i for i, (code, _) in enumerate(lowest(units, LOWEST_WARDS), start=1)}
        for w in progress:
            r = results[w.code]
            ward_lines.append(
                WardLine(
                    code=w.code,
                    name=w.name,
                    started=count_cell(w.started),
                    completed=count_cell(w.completed),
                    target=target_cell(w.completed, w.target),
                    completion=rate_cell(w.completed, w.started),
                    n=count_cell(r.n_valid) if r else Cell("–"),
                    satisfied=share_cell(r.satisfied) if r else Cell("–"),
                    dissatisfied=share_cell(r.dissatisfied) if r else Cell("–"),
                    rank=ranks.get(w.code),
                )
            )

    issues: list[IssueLine] = []
    issues_vi = issues_en = None
    issues_hidden = False
    completed = totals.completed
    if p.issues is not None:
        question = survey.question(p.issues)
        issues_vi, issues_en = survey.text(question.label, "vi"), survey.text(question.label, "en")
        chosen = await stats.choice_counts(conn, c.id, p.issues, wards)
        base = max(completed, max(chosen.values(), default=0))
        issues_hidden = 0 < base < MIN_SHOWN
        for value, s in top_choices(chosen, base, k=len(chosen)) if not issues_hidden else ():
            vi, en = p.issue_labels.get(value, (value, value))
            issues.append(IssueLine(vi, en, share_cell(s)))

    n_comments, recent = await stats.comments(conn, c.id, p.comments, wards, limit=RECENT_COMMENTS)
    comments = [CommentLine(cm.ward_name, _local(cm.completed_at, c.timezone, "%d/%m/%Y"), cm.text) for cm in recent]

    scope_names = None
    if wards is not None:
        scope_names = [u.name for u in await ward_repo.get_many(conn, wards)]
    has_chart = any(line.n_valid >= MIN_PERCENT for line in ([overall] if overall else []) + factors)
    return Report(
        wards=wards,
        scope_names=scope_names,
        started=count_cell(totals.started),
        completed=count_cell(completed),
        completion=rate_cell(completed, max(totals.started, completed)),
        target=target_cell(completed, c.target_per_ward * n_wards if c.target_per_ward else None),
        days=days,
        timeline=timeline_svg(days, dict(per_day)),
        overall=overall,
        factors=factors,
        ward_lines=ward_lines,
        issues_vi=issues_vi,
        issues_en=issues_en,
        issues_base=count_cell(completed),
        issues=issues,
        issues_hidden=issues_hidden,
        comments_count=count_cell(n_comments),
        comments=comments,
        has_chart=has_chart,
    )


async def chart_input(
    conn: AsyncConnection, c: CampaignRecord, wards: list[int] | None, now: datetime
) -> content.DigestInput:
    """What the digests' factor chart needs for a scope (`chart_png` draws it)."""
    survey = await surveys.definition(conn, c.survey_id)
    p = plan(survey)
    scale = await stats.scale_counts(conn, c.id, p.scale_questions, wards)
    overall = None
    if p.overall is not None:
        overall = content.FactorCounts(label=p.overall[1], total=_sum([scale.get((p.overall[0], None), {})]))
    factors = [
        content.FactorCounts(label=label_vi, total=_sum([scale.get((q, None), {}) for q in qids]))
        for label_vi, _, qids in p.factors
    ]
    end = max(now, c.starts_at + timedelta(minutes=1))
    data = content.DigestInput(
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
    return data


def chart_png(data: content.DigestInput) -> bytes | None:
    """The digests' chart: factor indices with their 95% interval bars, factors from 30 answers only (None:
    nothing to draw). CPU-bound (matplotlib): run it in a thread."""
    return content.chart_png(content.compute(data))
