"""The one formatter of figures and times: every surface (digests, the dashboard, the CLI, the Telegram
operators' commands, exports' summary sheets) shows counts, shares, rates and times through it, so that a
count suppressed in one place is never revealed in another form.

The small-cell rule, decided here once: a count of people (responses, respondents, answers, comments, a share's
k) below `MIN_SHOWN` (10) shows as "<10", wherever it appears, also inside a rate ("<10/25") or as the
complement a rate would give away. A share of fewer than 10 valid answers shows "<10"; of 10-29, counts only
("24/25"); of 30-59, a percentage marked unstable; from 60, a percentage with its 95% interval.

`exact=True`, or `exact_figures()` around a whole page or command, shows counts as they are: for operators, who
can export the raw data anyway (the dashboard for an operator's login, the CLI, the Telegram operators'
commands; see the README). Officials and monitors never; digests and the annual report never (what they
render is what officials read, whoever asks for it: they wrap themselves in `exact_figures(False)`).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ParamSpec, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flows.i18n import LANGUAGES, Section
from reports.stats import MIN_SHOWN, CellKind, Estimate, Lang, Share, cell_kind, interval_change

_T = Section("digest")

HIDDEN = f"<{MIN_SHOWN}"
K = TypeVar("K")
L = TypeVar("L")

_EXACT: ContextVar[bool] = ContextVar("exact_figures", default=False)


@contextmanager
def exact_figures(on: bool = True) -> Iterator[None]:
    """Within this block (this task and what it awaits), figures are exact (`on`) or under the small-cell
    rules (`on=False`, whatever an outer block said)."""
    token = _EXACT.set(on)
    try:
        yield
    finally:
        _EXACT.reset(token)


def _exact(exact: bool) -> bool:
    return exact or _EXACT.get()


def exact_now() -> bool:
    """Whether figures are exact here (within `exact_figures()`): for a surface that shows more than counts when
    they are (the per-day table's running totals)."""
    return _EXACT.get()


P = ParamSpec("P")
R = TypeVar("R")


def officials_view(fn: Callable[P, R]) -> Callable[P, R]:
    """What `fn` formats is what officials read (a digest, the annual ranking), under the small-cell rules even
    when an operator's page or command asks for it."""

    @functools.wraps(fn)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        with exact_figures(False):
            return fn(*args, **kwargs)

    return wrapped


def officials_view_async(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """`officials_view` for a coroutine function."""

    @functools.wraps(fn)
    async def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        with exact_figures(False):
            return await fn(*args, **kwargs)

    return wrapped


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
    return not _exact(exact) and n < MIN_SHOWN


def count(n: int, lang: str = "vi", *, exact: bool = False) -> str:
    """A count of people: "<10" below 10 (unless `exact`), else the number."""
    return HIDDEN if hidden(n, exact) else number(n, lang)


def count_cell(n: int, lang: str = "vi", *, exact: bool = False) -> Cell:
    return Cell(count(n, lang, exact=exact), CellKind.HIDDEN.value if hidden(n, exact) else "plain")


CHANNELS = ("telegram", "zalo", "web", "simulated")
"""The channels answers come through, in the order they are listed."""


def channel_name(channel: str, lang: str = "vi") -> str:
    key = f"channel_{channel}"
    return _T(key, lang) if key in _T else channel


def breakdown(counts: dict[str, int], lang: str = "vi", *, exact: bool = False) -> list[tuple[str, Cell]]:
    """Counts of people split into parts (responses by channel) whose total is shown elsewhere: each part under
    the small-cell rule, and, when exactly one part is "<10", the smallest other part shown as "≥10" so that
    the total minus the others does not give the hidden one away. Parts in `CHANNELS` order, then the rest."""
    order = [c for c in CHANNELS if c in counts] + sorted(c for c in counts if c not in CHANNELS)
    cells = {c: count_cell(counts[c], lang, exact=exact) for c in order}
    suppressed = [c for c in order if cells[c].kind == CellKind.HIDDEN.value]
    shown = [c for c in order if c not in suppressed]
    if len(suppressed) == 1 and shown:
        smallest = min(shown, key=lambda c: counts[c])
        cells[smallest] = Cell(f"≥{MIN_SHOWN}", CellKind.HIDDEN.value)
    return [(c, cells[c]) for c in order]


def series(counts: Sequence[int], lang: str = "vi", *, exact: bool = False) -> list[Cell]:
    """Counts of people in a series (completed responses per day) whose total is shown elsewhere: each under the
    small-cell rule, and, whenever any is "<10", the first shown one hidden with them as "≥10".

    Why always, and not only when one is hidden (as `breakdown`): the total minus the shown counts is the sum of
    the hidden ones; with a single hidden count that sum is the count, and with several it still gives them all
    away when they are all 9. A count of 10 or more hidden with them makes that sum hold a part without an upper
    bound, so no hidden count in 1-9 can be worked out (at most that they are all 0, which tells of no one).
    Which one is hidden depends only on where the "<10" are, never on the values: hiding it only when the values
    would tell, or hiding the smallest (the next shown count would bound it), would itself tell something.
    Left: a series without a count of 10 or more has nothing to hide its small ones with (each is "<10").
    """
    cells = [count_cell(n, lang, exact=exact) for n in counts]
    hidden_any = any(cell.kind == CellKind.HIDDEN.value for cell in cells)
    shown = [i for i, cell in enumerate(cells) if cell.kind != CellKind.HIDDEN.value]
    if hidden_any and shown:
        cells[shown[0]] = Cell(f"≥{MIN_SHOWN}", CellKind.HIDDEN.value)
    return cells


def grid(counts: Mapping[tuple[K, L], int], lang: str = "vi", *, exact: bool = False) -> dict[tuple[K, L], Cell]:
    """Counts of people in a table of rows and columns (responses per ward and day) whose row and column totals
    are shown elsewhere: each under the small-cell rule, then, as `series` does along one line, cells of 10 or
    more hidden as "≥10" until every row and every column holding a hidden cell holds at least two, one of them
    "≥10" (a line's total minus its shown cells is then a sum with a part of no upper bound). The cell hidden
    along a line is its first shown one (keys in order): the choice depends on where the "<10" are, never on the
    values. A heuristic, as such suppression always is in two dimensions; a line with nothing left to hide keeps
    what it has. Keys absent from `counts` are 0 and known as such."""
    cells = {key: count_cell(n, lang, exact=exact) for key, n in counts.items()}
    small = {key for key, cell in cells.items() if cell.kind == CellKind.HIDDEN.value}
    if not small:
        return cells
    lines: dict[tuple[int, Any], list[tuple[K, L]]] = {}
    for key in sorted(counts, key=lambda k: (str(k[0]), str(k[1]))):
        lines.setdefault((0, key[0]), []).append(key)
        lines.setdefault((1, key[1]), []).append(key)
    big: set[tuple[K, L]] = set()
    changed = True
    while changed:
        changed = False
        for (axis, _), keys in lines.items():
            hidden = [k for k in keys if k in small or k in big]
            if not hidden or (len(hidden) >= 2 and any(k in big for k in hidden)):
                continue
            free = [k for k in keys if k not in small and k not in big]
            # rather not a cell alone in its other line: that line's total would give it back, and this one's with it
            alone = [k for k in free if len(lines[(1, k[1])] if axis == 0 else lines[(0, k[0])]) == 1]
            hiding = [k for k in free if k not in alone] or free
            if hiding:
                big.add(hiding[0])
                changed = True
    for key in big:
        cells[key] = Cell(f"≥{MIN_SHOWN}", CellKind.HIDDEN.value)
    return cells


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
    exact = _exact(exact)
    if exact and s.n == 0:
        return "–"  # no answer yet (officials see "<10", as for any count under 10)
    kind = s.kind
    if kind is CellKind.HIDDEN and not exact:
        return HIDDEN
    if kind in (CellKind.HIDDEN, CellKind.COUNTS_ONLY):
        text = f"{count(s.k, lang, exact=exact)}/{number(s.n, lang)}"
        return f"{text} {_T(counted, lang)}" if counted else text
    # the share itself is rounded exactly from k/n, halves up: floor(100k/n + 1/2) = (200k + n) // 2n
    text = f"{_whole_percent(s)}% ({_round(s.interval.low)}–{_round(s.interval.high)}%)"
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
    exact = _exact(exact)
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


# --- PAPI-style scores --------------------------------------------------------------------------------------


def decimal(x: float, lang: str = "vi", places: int = 2) -> str:
    """A decimal number as each language writes it: 6,42 (vi), 6.42 (en); halves rounded away from zero."""
    scale = 10**places
    rounded = int(abs(x) * scale + 0.5) / scale
    text = f"{'-' if x < 0 and rounded else ''}{rounded:.{places}f}"
    return text.replace(".", ",") if lang == "vi" else text


def estimate(e: Estimate, lang: Lang = "vi", *, exact: bool = False) -> str:
    """A figure of either method under the small-cell rules (n: valid answers of a share, respondents of a score):

    * a share: as `share` ("80% (63–91%)")
    * a score, of fewer than 10: "<10"; of 10-29: its count only, "n=24"; of 30-59: "6,42 (6,10–6,74) ⚠ ít
      phản hồi (n=45)"; from 60: "6,42 (6,10–6,74)" (two decimals; a total of eight dimensions likewise)
    """
    exact = _exact(exact)
    if e.method == "share":
        assert e.share is not None
        return share(e.share, lang, "satisfied", exact=exact)
    kind = e.kind
    if kind is CellKind.HIDDEN and not exact:
        return HIDDEN
    if kind in (CellKind.HIDDEN, CellKind.COUNTS_ONLY):
        return f"n={number(e.n, lang)}"
    text = f"{decimal(e.value, lang)} ({decimal(e.interval.low, lang)}–{decimal(e.interval.high, lang)})"
    if kind is CellKind.UNSTABLE:
        text += " " + _T("few_responses", lang, n=number(e.n, lang))
    return text


def estimate_cell(e: Estimate, lang: Lang = "vi", *, exact: bool = False) -> Cell:
    return Cell(estimate(e, lang, exact=exact), e.kind.value)


def value(e: Estimate, lang: Lang = "vi") -> str:
    """The figure alone, for a table's column: "80%" or "6,42"; "" when it is not shown (n < 30)."""
    if not e.shown:
        return ""
    if e.method == "share":
        assert e.share is not None
        return f"{_whole_percent(e.share)}%"
    return decimal(e.value, lang)


def _whole_percent(s: Share) -> int:
    """The share as the whole percentage it is shown as, rounded exactly from k/n, halves up."""
    return (200 * s.k + s.n) // (2 * s.n)


def difference(previous: Estimate | None, current: Estimate, lang: Lang = "vi") -> tuple[str, str]:
    """(the change from `previous` to `current` as a signed number, "▲"/"▼" or ""): "" when either is not shown.
    The arrow only for a change whose intervals do not overlap. A share's change is in percentage points."""
    if previous is None or not (previous.shown and current.shown) or previous.method != current.method:
        return "", ""
    moved = interval_change(previous.interval, current.interval)
    arrow = {"up": "▲", "down": "▼"}.get(moved, "")
    if current.share is not None and previous.share is not None:
        delta = _whole_percent(current.share) - _whole_percent(previous.share)
        return f"{delta:+d} {_T('points', lang)}", arrow
    step = decimal(current.value - previous.value, lang)
    return (step if step.startswith("-") else "+" + step), arrow


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
