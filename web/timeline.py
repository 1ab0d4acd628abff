"""Completed responses per day: the table's lines and the bar chart (SVG, styled by dashboard.css only: the
Content-Security-Policy forbids inline styles). A day with fewer than 10 is drawn as suppressed, a short
hatched marker explained in the legend, never as a bar: its height would tell its count."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from reports import format as fmt
from reports.stats import MIN_SHOWN, CellKind
from storage.records import CampaignRecord

TIMELINE_DAYS = 92
MARKER = 6.0
"""The suppressed marker's height in the chart's units (its plot is 144 high): short, the same every day."""


@dataclass(frozen=True)
class DayLine:
    day: date
    completed: str
    cumulative: str | None
    """The running total, only for viewers of exact counts (None: the column is left out, see `days`)."""
    suppressed: bool
    """Drawn hatched, never as a bar of its height: fewer than 10 that day (shown "<10" unless exact), or 10 or
    more hidden with them ("≥10", drawn as high as 10)."""


def days(
    c: CampaignRecord, per_day: Sequence[tuple[date, int]], now: datetime, *, exact: bool = False
) -> list[DayLine]:
    """Every day from the campaign's start to today (or its end), the last `TIMELINE_DAYS` of them.

    Unless `exact` (or within `fmt.exact_figures()`: an operator's page), the days are shown as `fmt.series`
    shows them (the campaign's total is on the page, so one day of 10 or more is hidden with the small ones), and
    there is no running total: two running totals side by side give the day between them, and a running total
    beside the shown days gives the hidden ones back; one shown only where nothing hidden precedes it would
    still bound them, so it is left out altogether (the campaign's total is on the page)."""
    tz = ZoneInfo(c.timezone)
    first = c.starts_at.astimezone(tz).date()
    last = min(now, c.closed_at or c.ends_at, c.ends_at).astimezone(tz).date()
    if per_day:
        first, last = min(first, per_day[0][0]), max(last, per_day[-1][0])
    if last < first:
        return []
    counts = dict(per_day)
    dates: list[date] = []
    day = first
    while day <= last:
        dates.append(day)
        day += timedelta(days=1)
    before = sum(counts.get(d, 0) for d in dates[:-TIMELINE_DAYS])
    dates = dates[-TIMELINE_DAYS:]
    values = [counts.get(d, 0) for d in dates]
    if exact or fmt.exact_now():
        totals = [before + sum(values[: i + 1]) for i in range(len(values))]
        return [DayLine(d, fmt.count(n, exact=True), fmt.count(t, exact=True), n < MIN_SHOWN)
                for d, n, t in zip(dates, values, totals, strict=True)]  # fmt: skip
    cells = fmt.series(values)
    return [
        DayLine(d, cell.text, None, cell.kind == CellKind.HIDDEN.value) for d, cell in zip(dates, cells, strict=True)
    ]


def svg(lines: Sequence[DayLine], per_day: Mapping[date, int]) -> Markup:
    """The bar chart of `lines`: a bar per day from 10 completed responses; below that a hatched marker of a
    fixed, small height and a legend saying what it means."""
    if not lines:
        return Markup("")
    width, height, left, bottom, top = 720, 194, 40, 24, 26  # the legend's row above the plot
    plot_h = height - bottom - top
    shown = [per_day.get(d.day, 0) for d in lines if not d.suppressed]
    peak = max([MIN_SHOWN, *shown])
    step = (width - left - 8) / len(lines)
    bar = min(36.0, max(1.0, step * 0.75))
    base = top + plot_h
    parts = [
        f'<svg class="timeline" viewBox="0 0 {width} {height}" role="img" '
        'aria-labelledby="timeline-title" xmlns="http://www.w3.org/2000/svg">',
        '<title id="timeline-title">Phiếu hoàn thành mỗi ngày / Completed responses per day</title>',
        '<defs><pattern id="timeline-hatch" width="5" height="5" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="2" height="5" class="hatch"/></pattern></defs>',
        f'<line x1="{left}" y1="{base}" x2="{width - 4}" y2="{base}" class="axis"/>',
        f'<text x="{left - 6}" y="{top + 4}" class="tick" text-anchor="end">{peak}</text>',
        f'<text x="{left - 6}" y="{base}" class="tick" text-anchor="end">0</text>',
    ]
    for i, line in enumerate(lines):
        x = left + i * step + (step - bar) / 2
        label = escape(f"{line.day:%d/%m}: {line.completed}")
        if line.suppressed:
            # a day "≥10" hidden with the small ones: as high as 10, the least it can be, so its height tells
            # no more than its text
            high = plot_h * MIN_SHOWN / peak if line.completed.startswith("≥") else MARKER
            parts.append(
                f'<rect x="{x:.1f}" y="{base - high:.1f}" width="{bar:.1f}" height="{high:.1f}" '
                f'class="bar suppressed" fill="url(#timeline-hatch)"><title>{label}</title></rect>'
            )
            continue
        h = plot_h * per_day.get(line.day, 0) / peak
        parts.append(
            f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar:.1f}" height="{h:.1f}" class="bar">'
            f"<title>{label}</title></rect>"
        )
    ticks = sorted({0, len(lines) - 1, *range(0, len(lines), max(1, len(lines) // 6))})
    for i in ticks:
        x = left + i * step + step / 2
        day = f"{lines[i].day:%d/%m}"
        parts.append(f'<text x="{x:.1f}" y="{height - 6}" class="tick" text-anchor="middle">{day}</text>')
    if any(line.suppressed for line in lines):
        legend = "ngày dưới 10 phiếu: không hiện số / a day with fewer than 10: not shown"
        if any(line.completed.startswith("≥") for line in lines):
            legend = (
                "dưới 10 phiếu (và một ngày ≥10 che kèm): không hiện số / under 10 (and one ≥10 with them): not shown"
            )
        parts.append(
            f'<g class="legend" data-testid="timeline-legend"><rect x="{left}" y="3" width="14" height="{MARKER:.0f}" '
            'class="bar suppressed" fill="url(#timeline-hatch)"/>'
            f'<text x="{left + 20}" y="10" class="tick">{legend}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
