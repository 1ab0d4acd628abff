"""The annual ranking for the administrative-reform (CCHC) score and the emulation ranking: per ward, each PAPI
dimension's figure with its interval, its change from the previous year and an honest rank, the total of the
eight dimensions when a year measures them all, the response counts and the method notes.

    data = await gather_year(conn, 2026, tz)              # SQL: grouped sums per campaign, added up
    table = annual_table(data, previous, leads, "vi")     # pure: figures, changes, ranks, texts
    write_xlsx(table, path) / write_html(table, path)     # the files; the dashboard renders the same table

A year: the responses completed from 1 January to 31 December (in the time zone given) in every launched
campaign that is not the demo and whose questionnaire measures PAPI dimensions. Each dimension keeps one
method over the year (a questionnaire that scores it otherwise makes the year refuse, saying which).

The ranking (`reports.stats.honest_ranks`): among the wards whose figure may be ranked (30 respondents, or 30
valid answers for a share), a ward's rank is 1 + the number of wards whose 95% interval lies entirely above
its own; wards with the same rank are tied ("=3"). A ward is thus never placed below another whose interval
overlaps its own unless a third ward is clearly ahead of it and not of the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from flows.i18n import Section
from flows.text import fold
from reports import format as fmt
from reports.dimensions import of_histogram, of_sums
from reports.plan import dimension_label, method_label, plan_of
from reports.stats import AnswerKey, Estimate, Lang, Rank, honest_ranks, total
from storage.records import CampaignRecord
from storage.repo import campaigns as campaign_repo
from storage.repo import stats
from storage.repo import surveys as survey_repo
from storage.repo import wards as ward_repo
from storage.repo.departments import DepartmentRecord
from storage.repo.stats import NO_SCORES, ScoreSums

t = Section("digest")


class AnnualError(ValueError):
    """A year that cannot be reported as asked, with a message for the operator."""


@dataclass
class YearData:
    """What one year's completed responses add up to, per dimension and ward."""

    year: int
    timezone: str
    campaigns: list[CampaignRecord] = field(default_factory=list)
    scoring: dict[int, str] = field(default_factory=dict)
    """Dimension -> its method this year."""
    sums: dict[tuple[int, int], ScoreSums] = field(default_factory=dict)
    """(dimension, ward) -> respondents' mean item scores, for a dimension scored 1-10."""
    histograms: dict[tuple[int, int], dict[AnswerKey, int]] = field(default_factory=dict)
    """(dimension, ward) -> answers 1-5, for a dimension scored as a share."""
    completed: dict[int, int] = field(default_factory=dict)
    """Ward -> completed responses in the year (in the counted campaigns)."""
    wards: dict[int, str] = field(default_factory=dict)
    """Every ward of the counted campaigns -> its name."""

    def estimate(self, dimension: int, ward: int) -> Estimate:
        if self.scoring.get(dimension) == "share":
            return of_histogram(self.histograms.get((dimension, ward), {}))
        return of_sums(self.sums.get((dimension, ward), NO_SCORES))


def year_bounds(year: int, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    return datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone)


async def gather_year(conn: AsyncConnection, year: int, tz: str) -> YearData:
    """A year's sums (see the module's docstring); raises AnnualError when a dimension changes method."""
    start, end = year_bounds(year, tz)
    data = YearData(year, tz)
    method_of: dict[int, tuple[str, str]] = {}
    for c in await campaign_repo.list_all(conn):
        finished = c.closed_at or c.ends_at
        if c.simulated or c.launched_at is None or not (c.starts_at < end and finished > start):
            continue
        plan = plan_of(await survey_repo.definition(conn, c.survey_id, c.survey_hash))
        if not plan.dimensions:
            continue
        for d in plan.dimensions:
            first = method_of.setdefault(d.number, (d.scoring, c.code))
            if first[0] != d.scoring:
                raise AnnualError(
                    f"dimension {d.number} is scored '{first[0]}' in campaign {first[1]} but '{d.scoring}' in "
                    f"{c.code}: a year's figures need one method per dimension"
                )
        data.campaigns.append(c)
        scored = [d for d in plan.dimensions if d.scoring == "score"]
        if scored:
            groups = {k: v for d in scored for k, v in d.groups().items()}
            found = await stats.score_sums(conn, c.id, groups, None, start, end, by_ward=True)
            for (group, ward), sums in found.items():
                if ward is not None:
                    key = (int(group), ward)
                    data.sums[key] = data.sums.get(key, NO_SCORES) + sums
        shared = [d for d in plan.dimensions if d.scoring == "share"]
        if shared:
            counts = await stats.scale_counts(
                conn, c.id, [q for d in shared for q in d.questions], None, start, end, by_ward=True
            )
            for d in shared:
                for (qid, ward), histogram in counts.items():
                    if qid in d.questions and ward is not None:
                        into = data.histograms.setdefault((d.number, ward), {})
                        for value, n in histogram.items():
                            into[value] = into.get(value, 0) + n
        for ward, n in (await stats.completed_by_ward(conn, c.id, start, end)).items():
            if ward is not None:
                data.completed[ward] = data.completed.get(ward, 0) + n
        for unit in await ward_repo.get_many(conn, list(c.ward_codes)):
            data.wards[unit.code] = unit.name
    data.scoring = {number: method for number, (method, _) in sorted(method_of.items())}
    return data


# --- the table ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One ward's figure for a dimension (or the total): shown under the small-cell rules, with its change from
    the previous year and its rank."""

    estimate: Estimate
    text: str
    """ "6,42 (6,10–6,74)", "n=24", "<10" ..."""
    value: str
    """The figure alone ("6,42", "80%"), "" when not shown."""
    change: str
    """ "+0,35" (or "+4 điểm %"), "" when either year's figure is not shown."""
    arrow: str
    """ "▲"/"▼" for a change whose intervals do not overlap."""
    rank: Rank | None

    @property
    def detail(self) -> str:
        """What `text` says beyond the figure alone: its interval, and the low-n mark under 60 ("(6,10–6,74) ⚠ ít
        phản hồi (n=45)"); "" when the figure is not shown. A summary shows it under the figure, so that a figure of
        few respondents is never shown there without its warning."""
        if not self.value or not self.text.startswith(self.value):
            return ""
        return self.text[len(self.value) :].strip()

    @property
    def rank_text(self) -> str:
        """ "3", "=3" (tied) or "–" (not ranked)."""
        if self.rank is None:
            return "–"
        return f"={self.rank.position}" if self.rank.tied else str(self.rank.position)


@dataclass(frozen=True)
class Column:
    """A dimension as the table's column: number, name, method and lead department, in the table's language."""

    number: int
    label: str
    method: str
    scoring: str
    lead: str


@dataclass(frozen=True)
class Row:
    code: int
    name: str
    completed: str
    """Completed responses in the year ("<10" below 10)."""
    figures: Mapping[int, Figure]
    total: Figure | None
    """The total of the eight dimensions (None: the year has no total, or a dimension shows no score here)."""


@dataclass(frozen=True)
class AnnualTable:
    year: int
    language: Lang
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    has_total: bool
    campaigns: tuple[str, ...]
    previous_campaigns: tuple[str, ...]
    notes: tuple[str, ...]
    title: str

    def notes_in(self, language: str) -> tuple[str, ...]:
        """The method notes in a language (the dashboard shows both)."""
        return _notes(self, language)


def _figure(current: Estimate, previous: Estimate | None, rank: Rank | None, lang: Lang) -> Figure:
    change, arrow = fmt.difference(previous, current, lang)
    return Figure(current, fmt.estimate(current, lang), fmt.value(current, lang), change, arrow, rank)


@fmt.officials_view
def annual_table(
    data: YearData, previous: YearData | None, leads: Mapping[int, DepartmentRecord], lang: Lang = "vi"
) -> AnnualTable:
    """The year's table: a row per ward (best total first, then by name), a column per dimension measured."""
    numbers = list(data.scoring)
    wards = sorted(data.wards)
    current = {d: {w: data.estimate(d, w) for w in wards} for d in numbers}
    before: dict[int, dict[int, Estimate]] = {}
    if previous is not None:
        before = {d: {w: previous.estimate(d, w) for w in wards} for d in numbers if d in previous.scoring}
    ranks = {
        d: honest_ranks({w: e.interval for w, e in by_ward.items() if e.rankable}) for d, by_ward in current.items()
    }
    has_total = numbers == list(range(1, 9)) and all(data.scoring[d] == "score" for d in numbers)
    totals: dict[int, Estimate] = {}
    previous_totals: dict[int, Estimate] = {}
    if has_total:
        for w in wards:
            found = total([current[d][w] for d in numbers])
            if found is not None:
                totals[w] = found
            if before and len(before) == 8:
                earlier = total([before[d][w] for d in numbers])
                if earlier is not None:
                    previous_totals[w] = earlier
    total_ranks = honest_ranks({w: e.interval for w, e in totals.items()})
    rows = []
    for w in wards:
        figures = {d: _figure(current[d][w], before.get(d, {}).get(w), ranks[d].get(w), lang) for d in numbers}
        found = totals.get(w)
        total_figure = _figure(found, previous_totals.get(w), total_ranks.get(w), lang) if found else None
        rows.append(Row(w, data.wards[w], fmt.count(data.completed.get(w, 0), lang), figures, total_figure))

    def order(row: Row) -> tuple[int, float, str]:
        if row.total is not None and row.total.rank is not None:
            return (row.total.rank.position, -row.total.estimate.value, fold(row.name))
        return (len(wards) + 1, 0.0, fold(row.name))

    rows.sort(key=order)
    columns = tuple(
        Column(
            d,
            dimension_label(d, lang),
            method_label(data.scoring[d], lang),
            data.scoring[d],
            leads[d].label(lang) if d in leads else t("no_lead", lang),
        )
        for d in numbers
    )
    table = AnnualTable(
        year=data.year,
        language=lang,
        columns=columns,
        rows=tuple(rows),
        has_total=has_total,
        campaigns=tuple(c.code for c in data.campaigns),
        previous_campaigns=tuple(c.code for c in previous.campaigns) if previous is not None else (),
        notes=(),
        title=t("annual_title", lang, year=data.year),
    )
    return replace(table, notes=_notes(table, lang))


def _notes(table: AnnualTable, language: str) -> tuple[str, ...]:
    campaigns = ", ".join(table.campaigns) or "–"
    notes = [t("annual_note_year", language, year=table.year, campaigns=campaigns)]
    methods = {c.scoring for c in table.columns}
    if "score" in methods:
        notes.append(t("annual_note_score", language))
    if "share" in methods:
        notes.append(t("annual_note_share", language))
    if table.has_total:
        notes.append(t("annual_note_total", language))
    notes.append(t("annual_note_rank", language))
    previous = ", ".join(table.previous_campaigns) or "–"
    notes.append(t("annual_note_change", language, year=table.year - 1, campaigns=previous))
    notes.append(t("annual_note_small", language))
    notes.append(t("opt_in_note", language))
    return tuple(notes)


@fmt.officials_view_async
async def build(
    conn: AsyncConnection, year: int, tz: str, leads: Mapping[int, DepartmentRecord], lang: Lang = "vi"
) -> AnnualTable:
    """The table of a year (with the previous year for the changes)."""
    data = await gather_year(conn, year, tz)
    if not data.campaigns:
        raise AnnualError(
            f"no campaign measured PAPI dimensions in {year} (launched, not the demo, with responses completed "
            "that year); see 'khaosat campaign list'"
        )
    try:
        previous: YearData | None = await gather_year(conn, year - 1, tz)
    except AnnualError:
        previous = None  # last year cannot be compared as a whole: no changes are shown
    return annual_table(data, previous if previous is not None and previous.campaigns else None, leads, lang)


# --- the files ------------------------------------------------------------------------------------------------


def _number(text: str) -> float | None:
    if not text:
        return None
    return float(text.rstrip("%").replace(",", "."))


def write_xlsx(table: AnnualTable, path: str | Path) -> None:
    """The table as a workbook: the summary (a row per ward), the details (a row per ward and dimension, the
    figures as numbers where they are shown), the response counts and the method notes."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    lang = table.language
    book = Workbook()
    bold = Font(bold=True)
    summary = book.active
    assert summary is not None
    summary.title = t("annual_sheet_summary", lang)
    head = [t("annual_ward_code", lang), t("annual_ward", lang), t("annual_completed", lang)]
    for c in table.columns:
        head += [f"{c.number}. {c.label}", f"{c.number}. {t('annual_rank', lang)}"]
    if table.has_total:
        head += [t("annual_total", lang), t("annual_rank", lang)]
    summary.append([table.title])
    summary.append(head)
    for row in table.rows:
        cells: list[Any] = [row.code, row.name, _count(row.completed)]
        for c in table.columns:
            f = row.figures[c.number]
            cells += [f.text, f.rank_text]
        if table.has_total:
            cells += [row.total.text, row.total.rank_text] if row.total is not None else ["–", "–"]
        summary.append(cells)
    for cell in summary[1] + summary[2]:
        cell.font = bold
    summary.freeze_panes = "C3"

    details = book.create_sheet(t("annual_sheet_details", lang))
    details.append(
        [
            t("annual_ward_code", lang),
            t("annual_ward", lang),
            t("annual_dimension", lang),
            t("annual_dimension_name", lang),
            t("lead", lang),
            t("annual_method", lang),
            "n",
            t("annual_value", lang),
            t("annual_low", lang),
            t("annual_high", lang),
            t("annual_shown", lang),
            t("annual_change", lang),
            t("annual_clear_change", lang),
            t("annual_rank", lang),
            t("annual_tied", lang),
        ]
    )
    for row in table.rows:
        for c in table.columns:
            f = row.figures[c.number]
            e = f.estimate
            share = c.scoring == "share"
            low = high = None
            if f.value:
                low = round(100 * e.interval.low) if share else round(e.interval.low, 2)
                high = round(100 * e.interval.high) if share else round(e.interval.high, 2)
            details.append(
                [
                    row.code,
                    row.name,
                    c.number,
                    c.label,
                    c.lead,
                    c.method,
                    _count(fmt.count(e.n, lang)),
                    _number(f.value),
                    low,
                    high,
                    f.text,
                    f.change,
                    f.arrow,
                    f.rank.position if f.rank else None,
                    (1 if f.rank.tied else 0) if f.rank else None,
                ]
            )
    for cell in details[1]:
        cell.font = bold
    details.freeze_panes = "C2"

    notes = book.create_sheet(t("annual_sheet_notes", lang))
    notes.column_dimensions["A"].width = 140
    for note in table.notes:
        notes.append([note])
        notes.cell(row=notes.max_row, column=1).alignment = Alignment(wrap_text=True, vertical="top")
    book.save(str(path))


def _count(text: str) -> int | str:
    """A count as the formatter shows it: a number, or "<10" kept as text."""
    digits = text.replace(".", "").replace(",", "")
    return int(digits) if digits.isdigit() else text


def write_html(table: AnnualTable, path: str | Path) -> None:
    """The table as one printable HTML page (A4 landscape; styles inside, nothing loaded from elsewhere)."""
    Path(path).write_text(render_html(table), encoding="utf-8")


def render_html(table: AnnualTable) -> str:
    from reports.digest import environment

    lang = table.language

    def translate(key: str, **params: Any) -> str:
        return t(key, lang, **params)

    return environment().get_template("annual.html.j2").render(table=table, t=translate, lang=lang)


__all__ = [
    "AnnualError",
    "AnnualTable",
    "YearData",
    "annual_table",
    "build",
    "gather_year",
    "render_html",
    "write_html",
    "write_xlsx",
]
