"""The digest for officials' group chats: pure functions from aggregated counts to Telegram messages and a chart.

    view = compute(DigestInput(...))       # numbers, shares, intervals, small-cell decisions, alerts
    texts = render(view)                   # Telegram HTML, each message at most 4096 characters
    png = chart_png(view)                  # factor indices with their interval bars (None: nothing to draw)

No I/O, no clock: the counts come from SQL (`storage.repo.stats`), the statistics from `reports.stats`.

What a digest says, and the rules it follows (see DOMAIN.md):

* responses completed in the period and in total (campaign to the period's end), and the completion rate
  (completed among started; as a percentage only from 30 started);
* the overall index and each factor's index (share of 4-5 among valid answers, "don't know" excluded) with
  its 95% Wilson interval, for the period and cumulatively (factors without any answer yet are left out); a
  change versus the previous period is marked (▲/▼) only when both periods show percentages and their
  intervals do not overlap;
* the dissatisfaction share (1-2) of the overall question, with an alert when a shown share reaches the
  threshold;
* the lowest wards by overall index (cumulative, only wards with n >= 30), when the scope has several;
* the most chosen issues (cumulative, share of completed responses);
* how many comments arrived in the period and up to three recent ones (escaped by the template, shortened);
* that respondents chose to take part, so the intervals are not margins of sampling error.

Small cells: n < 10 shows "<10"; 10-29 counts only ("24/25 hài lòng"); 30-59 percentages marked unstable.
"""

from __future__ import annotations

import html
import io
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from flows.i18n import Section
from reports import format as fmt
from reports.stats import (
    MIN_PERCENT,
    MIN_RANK,
    MIN_SHOWN,
    AnswerKey,
    CellKind,
    Lang,
    Share,
    ShareResult,
    change,
    index_from_counts,
    lowest,
    top_choices,
)

MAX_MESSAGE = 4096
MAX_CAPTION = 1024
COMMENT_CHARS = 200
MAX_COMMENTS = 3
LOWEST_WARDS = 3
TOP_ISSUES = 3
LABEL_CHARS = 80
SECTION_BREAK = "\f"

t = Section("digest")
"""The digest's texts: its section of the one catalog (`flows/data/texts.yaml`)."""


# --- input -------------------------------------------------------------------------------------------------

Histogram = Mapping[AnswerKey, int]


@dataclass(frozen=True)
class Window:
    """A period [start, end), timezone-aware."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a digest window needs timezone-aware times")
        if self.end <= self.start:
            raise ValueError(f"a digest window must end after it starts ({self.start} .. {self.end})")


@dataclass(frozen=True)
class FactorCounts:
    """Answers of one factor's scale questions: histograms for the period, the previous period and in total."""

    label: str
    period: Histogram = field(default_factory=dict)
    previous: Histogram = field(default_factory=dict)
    total: Histogram = field(default_factory=dict)


@dataclass(frozen=True)
class DigestInput:
    language: Lang
    campaign_title: str
    scope_label: str
    period: Window
    timezone: str
    responses_period: int
    responses_total: int
    started_total: int
    overall: FactorCounts | None
    factors: Sequence[FactorCounts]
    ward_overall: Sequence[tuple[str, Mapping[int | str, int]]] = ()
    """(ward name, overall histogram in total) for every ward of the scope; ranked when there are several."""
    issues_label: str | None = None
    issues: Mapping[str, int] = field(default_factory=dict)
    """Option label -> responses choosing it (in total)."""
    issues_base: int = 0
    """Completed responses the issue shares are taken of (in total)."""
    comments_count: int = 0
    comments: Sequence[tuple[str | None, str]] = ()
    """(ward name, text) of the newest comments, newest first."""
    alert_threshold: float = 0.2
    on_demand: bool = False
    reminders_sent: int = 0
    """Reminders sent in the period to people of the scope."""
    channels: Mapping[str, int] = field(default_factory=dict)
    """Completed responses in total per channel they came through (telegram, zalo, web)."""
    flagged: int = 0
    """Completed responses in total with data-quality flags (`flows.quality`)."""
    flagged_included: bool = False
    """Whether the campaign counts flagged responses in its indices (by default they are left out)."""
    simulated: bool = False
    """The first-start demo's campaign: its figures are made up, and the digest says so first."""


# --- view --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FactorLine:
    label: str
    period: ShareResult
    previous: ShareResult
    total: ShareResult
    direction: str | None
    """"up"/"down" when both periods show percentages and their intervals do not overlap; else None."""
    period_text: str
    total_text: str
    previous_text: str

    @property
    def arrow(self) -> str:
        if self.direction == "up":
            return "▲"
        if self.direction == "down":
            return "▼"
        return ""


@dataclass(frozen=True)
class Dissatisfaction:
    period: Share
    total: Share
    period_text: str
    total_text: str
    period_alert: bool
    total_alert: bool


@dataclass(frozen=True)
class RankedWard:
    name: str
    share: Share
    text: str


@dataclass(frozen=True)
class IssueLine:
    label: str
    share: Share
    text: str


@dataclass(frozen=True)
class CommentLine:
    ward: str | None
    text: str


@dataclass(frozen=True)
class DigestView:
    language: Lang
    campaign_title: str
    scope_label: str
    period: Window
    period_text: str
    end_text: str
    on_demand: bool
    responses_period: str
    responses_total: str
    reminders_sent: str
    completion: str
    channels: str
    """Completed responses in total per channel ("Telegram 120 · Zalo <10"), when answers came through more
    than one; else ""."""
    flagged: str
    """How many completed responses carry quality flags and whether the indices count them; "" when none do."""
    overall: FactorLine | None
    factors: tuple[FactorLine, ...]
    dissatisfied: Dissatisfaction | None
    rank_wards: bool
    lowest: tuple[RankedWard, ...]
    issues_title: str | None
    issues: tuple[IssueLine, ...]
    issues_hidden: bool
    """Fewer than 10 completed responses: which issues were chosen would point at individual answers."""
    comments_count: str
    comments: tuple[CommentLine, ...]
    comments_hidden: bool
    """Fewer than 10 completed responses in the scope: a comment could be told apart as someone's."""
    simulated: bool
    threshold: float
    threshold_text: str

    @property
    def any_arrow(self) -> bool:
        lines = (*((self.overall,) if self.overall else ()), *self.factors)
        return any(line.direction for line in lines)

    @property
    def chart_lines(self) -> tuple[FactorLine, ...]:
        """The factors drawn on the chart: the overall index first, then the factors, when percentages show."""
        lines = (*((self.overall,) if self.overall else ()), *self.factors)
        return tuple(line for line in lines if line.total.n_valid >= MIN_PERCENT)


def direction(previous: Share, current: Share) -> str | None:
    """The change to mark, if any: only between two shown percentages whose intervals do not overlap."""
    if not (fmt.shows_percent(previous) and fmt.shows_percent(current)):
        return None
    moved = change(previous, current)
    return None if moved == "same" else moved


def _short(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _factor_line(counts: FactorCounts, lang: Lang) -> FactorLine:
    period = index_from_counts(counts.period)
    previous = index_from_counts(counts.previous)
    total = index_from_counts(counts.total)
    return FactorLine(
        label=_short(counts.label, LABEL_CHARS),
        period=period,
        previous=previous,
        total=total,
        direction=direction(previous.satisfied, period.satisfied),
        period_text=fmt.share(period.satisfied, lang, "satisfied"),
        total_text=fmt.share(total.satisfied, lang, "satisfied"),
        previous_text=fmt.share(previous.satisfied, lang, "satisfied"),
    )


@fmt.officials_view
def compute(data: DigestInput) -> DigestView:
    lang = data.language
    tz = ZoneInfo(data.timezone)
    if not 0 < data.alert_threshold <= 1:
        raise ValueError(f"the alert threshold is a share in (0, 1], got {data.alert_threshold!r}")
    overall = _factor_line(data.overall, lang) if data.overall is not None else None
    # a factor nobody has answered yet (e.g. a question shown only to service users) is left out, not "<10"
    factors = tuple(line for line in (_factor_line(f, lang) for f in data.factors) if line.total.n_valid > 0)

    dissatisfied = None
    if overall is not None:
        p, total = overall.period.dissatisfied, overall.total.dissatisfied
        dissatisfied = Dissatisfaction(
            period=p,
            total=total,
            period_text=fmt.share(p, lang, "dissatisfied_count"),
            total_text=fmt.share(total, lang, "dissatisfied_count"),
            period_alert=fmt.shows_percent(p) and p.p >= data.alert_threshold,
            total_alert=fmt.shows_percent(total) and total.p >= data.alert_threshold,
        )

    rank = len(data.ward_overall) > 1 and data.overall is not None
    ranked: tuple[RankedWard, ...] = ()
    if rank:
        units = [(name, index_from_counts(h).satisfied) for name, h in data.ward_overall]
        ranked = tuple(RankedWard(name, s, fmt.share(s, lang, "satisfied")) for name, s in lowest(units, LOWEST_WARDS))
        assert all(r.share.n >= MIN_RANK for r in ranked)

    issues: tuple[IssueLine, ...] = ()
    issues_hidden = False
    if data.issues_label is not None:
        base = max(data.issues_base, max(data.issues.values(), default=0))
        issues_hidden = 0 < base < MIN_SHOWN
        if not issues_hidden:
            issues = tuple(
                IssueLine(_short(label, LABEL_CHARS), s, fmt.share(s, lang))
                for label, s in top_choices(data.issues, base, TOP_ISSUES)
            )

    comments_hidden = data.responses_total < MIN_SHOWN and data.comments_count > 0
    comments = () if comments_hidden else tuple(
        CommentLine(ward, _short(text, COMMENT_CHARS)) for ward, text in list(data.comments)[:MAX_COMMENTS]
    )
    return DigestView(
        language=lang,
        campaign_title=_short(data.campaign_title, LABEL_CHARS * 2),
        scope_label=data.scope_label,
        period=data.period,
        period_text=f"{fmt.local(data.period.start, tz)} – {fmt.local(data.period.end, tz)}",
        end_text=fmt.local(data.period.end, tz, "date"),
        on_demand=data.on_demand,
        responses_period=fmt.count(data.responses_period, lang),
        responses_total=fmt.count(data.responses_total, lang),
        reminders_sent=fmt.count(data.reminders_sent, lang),
        completion=fmt.rate(
            data.responses_total, max(data.started_total, data.responses_total), lang, "completion_of"
        ),
        channels=_channels(data.channels, lang),
        flagged=_flagged(data, lang),
        overall=overall,
        factors=factors,
        dissatisfied=dissatisfied,
        rank_wards=rank,
        lowest=ranked,
        issues_title=_short(data.issues_label, LABEL_CHARS) if data.issues_label is not None else None,
        issues=issues,
        issues_hidden=issues_hidden,
        comments_count=fmt.count(data.comments_count, lang),
        comments=comments,
        comments_hidden=comments_hidden,
        simulated=data.simulated,
        threshold=data.alert_threshold,
        threshold_text=fmt.percent(data.alert_threshold),
    )


def _flagged(data: DigestInput, lang: Lang) -> str:
    if data.flagged <= 0:
        return ""
    key = "flagged_included" if data.flagged_included else "flagged_left_out"
    return t(key, lang, n=fmt.count(data.flagged, lang))


def _channels(counts: Mapping[str, int], lang: Lang) -> str:
    if len(counts) < 2:
        return ""
    return " · ".join(f"{fmt.channel_name(ch, lang)} {cell.text}" for ch, cell in fmt.breakdown(dict(counts), lang))


def scope_label(ward_names: Sequence[str] | None, lang: str, shown: int = 3) -> str:
    """The scope in words: "tất cả phường, xã", or the first few ward names and how many more."""
    if ward_names is None:
        return t("all_wards", lang)
    names = list(ward_names)
    text = ", ".join(names[:shown])
    if len(names) > shown:
        text += " " + t("more_wards", lang, n=len(names) - shown)
    return text


# --- rendering ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        undefined=jinja2.StrictUndefined,
    )


_TAG = re.compile(r"<[^>]*>")


def visible_length(html_text: str) -> int:
    """Length of what Telegram shows (tags removed, entities decoded), in UTF-16 code units as it counts."""
    plain = html.unescape(_TAG.sub("", html_text)).strip()
    return len(plain.encode("utf-16-le")) // 2


def to_plain(html_text: str) -> str:
    """A message of this module's HTML subset as plain text (Zalo's): tags taken out, entities decoded. What a
    respondent typed was escaped by the template, so it comes back as they typed it, never as markup."""
    return html.unescape(_TAG.sub("", html_text)).strip()


@fmt.officials_view
def render(view: DigestView, limit: int = MAX_MESSAGE) -> list[str]:
    """The digest as Telegram HTML messages, each at most `limit` visible characters: whole sections are packed
    together; a section too long on its own is split between lines (a line never holds an open tag)."""
    lang = view.language

    def translate(key: str, **params: Any) -> str:
        return t(key, lang, **params)

    text = environment().get_template("digest.html.j2").render(v=view, t=translate, lang=lang)
    sections = [s.strip("\n") for s in text.split(SECTION_BREAK)]
    return pack([s for s in sections if s.strip()], limit, continued=t("continued", lang))


def pack(sections: Sequence[str], limit: int = MAX_MESSAGE, continued: str = "…") -> list[str]:
    """Sections (HTML, balanced per line) joined by blank lines into as few messages of <= `limit` as possible."""
    pieces: list[str] = []
    for section in sections:
        if visible_length(section) <= limit:
            pieces.append(section)
            continue
        block: list[str] = []
        for line in section.split("\n"):
            if visible_length(line) > limit:
                line = html.escape(_short(html.unescape(_TAG.sub("", line)), limit - 1))
            if block and visible_length("\n".join([*block, line])) > limit:
                pieces.append("\n".join(block))
                block = []
            block.append(line)
        if block:
            pieces.append("\n".join(block))
    messages: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}\n\n{piece}" if current else piece
        if current and visible_length(candidate) > limit:
            messages.append(current)
            header = f"<i>{html.escape(continued)}</i>\n"
            current = header + piece if visible_length(header + piece) <= limit else piece
        else:
            current = candidate
    if current:
        messages.append(current)
    return messages


def caption(view: DigestView) -> str:
    lang = view.language
    text = t("chart_caption", lang, title=html.escape(view.campaign_title), end=view.end_text)
    if view.simulated:  # a chart forwarded alone still says its figures are made up
        text = f"{t('simulated', lang)}\n{text}"
    all_lines = (*((view.overall,) if view.overall else ()), *view.factors)
    left_out = len(all_lines) - len(view.chart_lines)
    if left_out:
        text += t("chart_left_out", lang, n=left_out)
    return text if visible_length(text) <= MAX_CAPTION else text[: MAX_CAPTION - 1] + "…"


@fmt.officials_view
def chart_png(view: DigestView) -> bytes | None:
    """A horizontal bar chart of the factor indices (total) with 95% interval bars; None when no factor has the
    30 answers needed to show a percentage."""
    lines = view.chart_lines
    if not lines:
        return None
    from matplotlib.figure import Figure

    labels = ["\n".join(textwrap.wrap(line.label, 34)) for line in lines]
    values = [100 * line.total.satisfied.p for line in lines]
    low = [100 * (line.total.satisfied.p - line.total.satisfied.interval.low) for line in lines]
    high = [100 * (line.total.satisfied.interval.high - line.total.satisfied.p) for line in lines]
    height = 1.2 + 0.55 * len(lines) + 0.15 * sum(label.count("\n") for label in labels)
    fig = Figure(figsize=(8, height), dpi=110)
    ax = fig.add_subplot()
    positions = list(range(len(lines)))[::-1]
    colours = ["#1f5f99" if line is view.overall else "#4c9bd6" for line in lines]
    ax.barh(positions, values, color=colours, height=0.6)
    ax.errorbar(values, positions, xerr=[low, high], fmt="none", ecolor="#222222", capsize=4, linewidth=1.2)
    for y, line, value, up in zip(positions, lines, values, high, strict=True):
        s = line.total.satisfied
        mark = "" if s.kind is CellKind.OK else " ⚠"
        ax.text(min(value + up + 1.5, 101), y, f"{fmt.percent(s.p)}{mark}", va="center", fontsize=9)
    ax.set_yticks(positions)
    ax.set_yticklabels(labels, fontsize=9)
    ax.set_xlim(0, 110)
    ax.set_xticks([0, 20, 40, 60, 80, 100])
    ax.set_xlabel(t("chart_axis", view.language), fontsize=9)
    ax.set_title(f"{t('chart_title', view.language)} – {view.end_text}", fontsize=11)
    ax.grid(axis="x", linestyle=":", alpha=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


__all__ = [
    "DigestInput",
    "DigestView",
    "FactorCounts",
    "Window",
    "caption",
    "chart_png",
    "compute",
    "direction",
    "pack",
    "render",
    "scope_label",
    "to_plain",
    "visible_length",
]
