"""The one formatter of figures and times: every surface (digests, the dashboard, the CLI, the Telegram
operators' commands, exports' summary sheets) shows counts, shares, rates and times through it, so that a
count suppressed in one place is never revealed in another form.

The small-cell rule, decided here once: a count of people (responses, respondents, answers, comments, a share's
k) below `MIN_SHOWN` (10) shows as "<10", wherever it appears, also inside a rate ("<10/25") or as the
complement a rate would give away. A share of fewer than 10 valid answers shows "<10"; of 10-29, counts only
("24/25"); of 30-59, a percentage marked unstable; from 60, a percentage with its 95% interval.

`exact=True` shows counts as they are (operators, who can export the raw data anyway; see the README).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flows.i18n import LANGUAGES, Section
from reports.stats import MIN_SHOWN, CellKind, Lang, Share, cell_kind

_T = Section("digest")

HIDDEN = f"<{MIN_SHOWN}"


@dataclass(frozen=True)
class Cell:
    """A figure as shown, and its small-cell kind (a CSS class: hidden, counts_only, unstable, ok, plain)."""

    text: str
    kind: str = "plain"


def number(n: int, lang: str = "vi") -> str:
    """A whole number with thousands grouped as each language writes them: 12.345 (vi), 12,345 (en)."""
    text = f"{n:,}"
    return text.replace(",", ".") if lang == "vi" else text


def percent(x: float) -> str:
    """A proportion in [0, 1] as a whole percentage, rounding halves up: 0.765 -> "77%"."""
    return f"{_round(x)}%"


def _round(x: float) -> int:
    return int(x * 100 + 0.5) if x >= 0 else -int(-x * 100 + 0.5)


def hidden(n: int, exact: bool = False) -> bool:
    """Whether a count is shown as "<10"."""
    if n < 0:
        raise ValueError(f"a count is >= 0, got {n}")
    return not exact and n < MIN_SHOWN


def count(n: int, lang: str = "vi", *, exact: bool = False) -> str:
    """A count of people: "<10" below 10 (unless `exact`), else the number."""
    return HIDDEN if hidden(n, exact) else number(n, lang)


def count_cell(n: int, lang: str = "vi", *, exact: bool = False) -> Cell:
    return Cell(count(n, lang, exact=exact), CellKind.HIDDEN.value if hidden(n, exact) else "plain")


def share(s: Share, lang: Lang = "vi", counted: str | None = None, *, exact: bool = False) -> str:
    """A share under the small-cell rules:

    * of fewer than 10: "<10"
    * of 10-29, counts only: "24/25" (with `counted`, a catalog key of the digest: "24/25 hài lòng"), and
      "<10/25" when k is below 10: a count suppressed as such stays suppressed here
    * of 30-59: "80% (63–91%) ⚠ ít phản hồi (n=45)"
    * from 60: "80% (63–91%)"
    """
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; expected one of {sorted(LANGUAGES)}")
    kind = s.kind
    if kind is CellKind.HIDDEN and not exact:
        return HIDDEN
    if kind in (CellKind.HIDDEN, CellKind.COUNTS_ONLY):
        text = f"{count(s.k, lang, exact=exact)}/{number(s.n, lang)}"
        return f"{text} {_T(counted, lang)}" if counted else text
    # the share itself is rounded exactly from k/n, halves up: floor(100k/n + 1/2) = (200k + n) // 2n
    value = (200 * s.k + s.n) // (2 * s.n)
    text = f"{value}% ({_round(s.interval.low)}–{_round(s.interval.high)}%)"
    if kind is CellKind.UNSTABLE:
        text += " " + _T("few_responses", lang, n=number(s.n, lang))
    return text


def share_cell(s: Share, lang: Lang = "vi", *, exact: bool = False) -> Cell:
    return Cell(share(s, lang, exact=exact), s.kind.value)


def shows_percent(s: Share) -> bool:
    """Whether a share shows as a percentage (from 30 valid answers)."""
    return s.kind in (CellKind.UNSTABLE, CellKind.OK)


def rate(k: int, n: int, lang: str = "vi", words: str | None = None, *, exact: bool = False) -> str:
    """A descriptive rate (completion: k completed of n started): "<10" (n < 10), "<10/25" (k < 10),
    "k/n" (n < 30), else "78% (k/n)". The counts inside follow `count`; `words`, a digest catalog key with
    {k} and {n}, says what they are ("18/25 phiếu đã bắt đầu")."""
    if n < k:
        raise ValueError(f"a rate's k ({k}) is at most its n ({n})")
    kind = cell_kind(n)
    if kind is CellKind.HIDDEN and not exact:
        return HIDDEN
    shown_k = count(k, lang, exact=exact)
    of = _T(words, lang, k=shown_k, n=number(n, lang)) if words else f"{shown_k}/{number(n, lang)}"
    if kind in (CellKind.HIDDEN, CellKind.COUNTS_ONLY) or hidden(k, exact):
        return of
    return f"{percent(k / n)} ({of})"


def rate_cell(k: int, n: int, lang: str = "vi", *, exact: bool = False) -> Cell:
    kind = cell_kind(n)
    shown = rate(k, n, lang, exact=exact)
    return Cell(shown, kind.value if kind in (CellKind.HIDDEN, CellKind.COUNTS_ONLY) else "plain")


def of_target(completed: int, target: int | None, lang: str = "vi", *, exact: bool = False) -> Cell:
    """Completed against a target: "<10 / 300" or "45 / 300 (15%)"; "–" without a target."""
    if not target:
        return Cell("–")
    if hidden(completed, exact):
        return Cell(f"{HIDDEN} / {number(target, lang)}", CellKind.HIDDEN.value)
    return Cell(f"{number(completed, lang)} / {number(target, lang)} ({percent(completed / target)})")


# --- times ---------------------------------------------------------------------------------------------------

FORMATS = {
    "datetime": "%d/%m/%Y %H:%M",
    "date": "%d/%m/%Y",
    "time": "%H:%M",
    "seconds": "%H:%M:%S %d/%m/%Y",
    "when": "%H:%M %d/%m/%Y",
}


def zone(tz: str | ZoneInfo) -> ZoneInfo:
    """A time zone by name (an unknown one in old data: UTC)."""
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local(moment: datetime | None, tz: str | ZoneInfo, style: str = "datetime") -> str:
    """A moment in a time zone, as Vietnamese dates are written: "31/12/2026 23:59" ("" for None)."""
    if moment is None:
        return ""
    return moment.astimezone(zone(tz)).strftime(FORMATS[style])
