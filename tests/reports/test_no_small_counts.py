"""No surface reveals a count below 10: over random small data, every rendered digest (both languages) and the
dashboard's campaign and ward pages, as an official sees them, show such counts only as "<10", whatever form
they would take (a count, a rate's numerator, a share's k, a comment count)."""

from __future__ import annotations

import html
import itertools
import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from flows.i18n import catalog
from reports import format as fmt
from reports.digest import DigestInput, FactorCounts, Window, compute, render
from reports.stats import share

END = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
_DATES = re.compile(r"\d{1,2}/\d{1,2}/\d{4}( \d{1,2}:\d{2}(:\d{2})?)?|\d{1,2}:\d{2}(:\d{2})?")
_SMALL = re.compile(r"(?<![\d.,<])[1-9](?![\d.,%])")


def _static_texts(section: str) -> list[str]:
    """The catalog's fixed texts of a section (no placeholders): they may hold digits that are no counts."""
    return sorted(
        (text for key, texts in catalog().items() if key.startswith(section + ".") for text in texts.values()
         if "{" not in text),
        key=len,
        reverse=True,
    )  # fmt: skip


def small_numbers(text: str, fixed: list[str]) -> list[str]:
    """Standalone numbers 1-9 in a text (dates, times and fixed wording taken out first)."""
    shown = html.unescape(re.sub(r"<[^>]+>", " ", text))
    for phrase in fixed:
        shown = shown.replace(phrase, " ")
    shown = _DATES.sub(" ", shown)
    return _SMALL.findall(shown)


histogram = st.dictionaries(st.sampled_from([1, 2, 3, 4, 5, "dk"]), st.integers(0, 3), max_size=6)
count = st.integers(0, 9)


@st.composite
def small_digest(draw: Any) -> DigestInput:
    """A digest's input where every count is below 10."""
    completed = draw(count)
    return DigestInput(
        language=draw(st.sampled_from(["vi", "en"])),
        campaign_title="Khảo sát",
        scope_label="Phường Hoàn Kiếm",
        period=Window(END - timedelta(days=7), END),
        timezone="Asia/Ho_Chi_Minh",
        responses_period=draw(st.integers(0, completed)),
        responses_total=completed,
        started_total=draw(st.integers(completed, 9)),
        overall=FactorCounts("Hài lòng chung", draw(histogram), draw(histogram), draw(histogram)),
        factors=[FactorCounts("Tiếp cận", draw(histogram), draw(histogram), draw(histogram))],
        ward_overall=[("Phường Hoàn Kiếm", draw(histogram)), ("Phường Đống Đa", draw(histogram))],
        issues_label="Vấn đề",
        issues={"Rác": draw(count), "Ngập": draw(count)},
        issues_base=completed,
        comments_count=draw(count),
        comments=[("Phường Hoàn Kiếm", "Cần thêm cây xanh")] if draw(st.booleans()) else [],
    )


@settings(max_examples=300, deadline=None)
@given(data=small_digest())
def test_a_digest_over_small_numbers_shows_no_count_below_10(data: DigestInput) -> None:
    text = "\n".join(render(compute(data)))
    assert small_numbers(text, _static_texts("digest")) == [], text


@given(k=st.integers(0, 29), n=st.integers(10, 29), lang=st.sampled_from(["vi", "en"]))
def test_counts_inside_shares_and_rates_follow_the_same_rule(k: int, n: int, lang: str) -> None:
    k = min(k, n)
    for shown in (fmt.share(share(k, n), lang), fmt.rate(k, n, lang), fmt.rate(k, n, lang, "completion_of")):
        assert small_numbers(shown, []) == [] and (k >= 10 or "<10" in shown), shown
    assert fmt.share(share(k, n), lang, exact=True).startswith(f"{k}/")  # operators may see them


def test_the_scanner_sees_a_small_count() -> None:
    """The check is not blind: a bare small count is found, the fixed wording and dates are not."""
    assert small_numbers("Góp ý mới trong kỳ: 7", []) == ["7"]
    assert small_numbers("7/10 phiếu đã bắt đầu", []) == ["7"]
    assert small_numbers("<10/25 · 01/12/2026 08:00 · 80%", []) == []


async def test_dashboard_pages_over_small_numbers_show_no_count_below_10(db: Any, db_url: str, tmp_path: Any) -> None:
    """Random small data in a few wards; an official's campaign and ward pages show no count below 10."""
    from bot.app import Application
    from storage.repo import campaigns
    from tests.conftest import create_live_campaign
    from tests.operators.helpers import add_response
    from tests.web.conftest import web_settings
    from tests.web.dashboard_support import Client, add_user, answers

    wards = [70, 235, 73, 256]  # codes of two digits or more: a ward code is no count
    await create_live_campaign(db, datetime.now(UTC), wards=wards)
    rng = random.Random(19)
    now = datetime.now(UTC)
    async with db.write() as conn:
        c = await campaigns.get(conn, "hn-2026")
        for ward in wards:
            for i in range(rng.randint(1, 9)):
                status = "completed" if rng.random() < 0.7 else "in_progress"
                values = answers(ward, rng.randint(1, 5), i)
                await add_response(conn, c.id, ward, values, status=status, started_at=now - timedelta(hours=i + 1))
    await add_user(db, "scoped", "official", wards)
    app = Application(web_settings(db_url, tmp_path))
    await app.start()
    try:
        async with Client(app) as client:
            await client.login("scoped")
            pages = ["/dashboard/campaigns/hn-2026", *(f"/dashboard/campaigns/hn-2026/wards/{w}" for w in wards)]
            for path in pages:
                page = await client.get(path)
                assert page.status == 200, path
                cells = re.findall(r'<td class="num[^"]*">(.*?)</td>', page.text, re.S)
                assert cells, path
                found = [cell for cell in cells if small_numbers(cell, [])]
                assert found == [], (path, found)
                assert "Lũy kế" not in page.text, path  # no running total beside the days
    finally:
        await app.stop()


def _pinned(cells: list[str], cumulative: list[str | None], total: int) -> list[int]:
    """The days of a per-day table whose hidden count (shown "<10" or "≥10") the table and the shown total give
    back: every known running total (a shown "Total" cell, 0 before the first day, the campaign's total when it
    is shown) cuts the days into stretches of known sum; within a stretch a day's count lies between the sum
    minus what the others can hold at most and the sum minus what they hold at least."""
    unbounded = 10**9
    known = {-1: 0, **{i: int(c.replace(".", "")) for i, c in enumerate(cumulative) if c and c[0].isdigit()}}
    if not fmt.hidden(total):
        known[len(cells) - 1] = total
    bounds = [(int(c.replace(".", "")),) * 2 if c[0].isdigit() else (0, 9) if c == "<10" else (10, unbounded)
              for c in cells]  # fmt: skip
    pinned = []
    edges = sorted(known)
    for start, end in itertools.pairwise(edges):
        stretch = range(start + 1, end + 1)
        rest = known[end] - known[start]
        for i in stretch:
            if cells[i][0].isdigit():
                continue
            low_others = sum(bounds[j][0] for j in stretch if j != i)
            high_others = sum(bounds[j][1] for j in stretch if j != i)
            low, high = max(bounds[i][0], rest - high_others), min(bounds[i][1], rest - low_others)
            if low == high:
                pinned.append(i)
    return pinned


@settings(max_examples=400, deadline=None)
@given(counts=st.lists(st.one_of(st.integers(0, 9), st.integers(0, 40)), min_size=1, max_size=20))
def test_no_hidden_day_can_be_derived_from_the_per_day_table(counts: list[int]) -> None:
    """The per-day table as officials see it: no day's count below 10 is shown, and none can be worked out by
    subtracting shown figures (running totals from one another, the campaign's total minus the shown days)."""
    from datetime import date

    from storage.records import CampaignRecord, ReminderPolicy
    from web.timeline import days

    # the one case the table cannot help (fmt.series): no day of 10 or more, and every day 9
    assume(max(counts) >= 10 or sum(counts) != 9 * len(counts))

    first = date(2026, 12, 1)
    per_day = [(first + timedelta(days=i), n) for i, n in enumerate(counts) if n]
    start = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # 1 December, 00:00 in Hanoi
    c = CampaignRecord(1, "c", "C", 1, "k", 1, start, start + timedelta(days=60), "Asia/Ho_Chi_Minh", "active",
                       None, ReminderPolicy(), start)  # fmt: skip
    lines = days(c, per_day, start + timedelta(days=len(counts) - 1, hours=12))
    assert len(lines) == len(counts)
    cells = [line.completed for line in lines]
    assert [small_numbers(cell, []) for cell in cells] == [[]] * len(cells)
    assert all(n >= 10 or cell == "<10" for n, cell in zip(counts, cells, strict=True))
    cumulative = [line.cumulative for line in lines]
    assert all(c is None or not small_numbers(c, []) for c in cumulative)
    pinned = [i for i in _pinned(cells, cumulative, sum(counts)) if 0 < counts[i] < 10]
    assert pinned == [], (counts, cells, cumulative)


def test_the_reviewers_example_gives_nothing_away() -> None:
    """01/12 <10 <10 · 02/12 27 32 told 5: now the total is not beside the days, and 27 is hidden with the 5."""
    assert _pinned(["<10", "27"], ["<10", "32"], 32) == [0]  # what the table showed
    assert _pinned(["<10", "≥10"], [None, None], 32) == []


def _pinned_in_grid(cells: dict[tuple[int, int], str], counts: dict[tuple[int, int], int]) -> list[tuple[int, int]]:
    """Hidden cells of a table that one subtraction gives back: a row's or a column's total (all known) minus the
    shown cells of that line, with what the line's other hidden cells can hold ("<10": 0-9, "≥10": 10 or more).
    Chains of such narrowings across lines are not followed: in two dimensions cell suppression cannot stop
    them all (four hidden cells 10, 0 / 1, 10 with their totals pin the 0, then the 1), see `fmt.grid`."""
    unbounded = 10**6
    bounds = {k: (counts[k], counts[k]) if c[0].isdigit() else (0, 9) if c == "<10" else (10, unbounded)
              for k, c in cells.items()}  # fmt: skip
    lines = [[k for k in cells if k[0] == r] for r in {k[0] for k in cells}]
    lines += [[k for k in cells if k[1] == c] for c in {k[1] for k in cells}]
    pinned = set()
    for keys in lines:
        total = sum(counts[k] for k in keys)
        for k in keys:
            others = [j for j in keys if j != k]
            low = max(bounds[k][0], total - sum(bounds[j][1] for j in others))
            high = min(bounds[k][1], total - sum(bounds[j][0] for j in others))
            if low == high and not cells[k][0].isdigit():
                pinned.add(k)
    return sorted(pinned)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), rows=st.integers(2, 4), columns=st.integers(2, 5))
def test_no_hidden_cell_of_a_ward_by_day_table_is_one_subtraction_away(data: Any, rows: int, columns: int) -> None:
    """The monitors' responses per ward and day (CSV), beside each ward's total and each day's: no count below 10
    is shown, and no ward's or day's total minus its shown cells gives one back (each row and column has another
    cell and a count of 10 or more to hide with; a cell left out is 0)."""
    value = st.one_of(st.integers(0, 9), st.integers(10, 40))
    counts = {(r, c): data.draw(value) for r in range(rows) for c in range(columns)}
    # every line has a count of 10 or more (and, from 2 x 2, another cell): something to hide with
    for i in range(max(rows, columns)):
        key = (i % rows, i % columns)
        counts[key] = max(counts[key], data.draw(st.integers(10, 40)))
    cells = {k: cell.text for k, cell in fmt.grid(counts).items()}
    assert all(n >= 10 or cells[k] == "<10" for k, n in counts.items())
    pinned = [k for k in _pinned_in_grid(cells, counts) if 0 < counts[k] < 10]
    assert pinned == [], (counts, cells)


def test_a_ward_by_day_table_hides_across_wards_too() -> None:
    """Ward A: 3 then 27; ward B: 20 then 30. Hiding along wards only left B's 20 beside the day's 23."""
    counts = {("A", 1): 3, ("A", 2): 27, ("B", 1): 20, ("B", 2): 30}
    cells = {k: c.text for k, c in fmt.grid(counts).items()}
    assert cells == {("A", 1): "<10", ("A", 2): "≥10", ("B", 1): "≥10", ("B", 2): "≥10"}
