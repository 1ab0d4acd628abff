"""The annual table, from hand-made sums: each ward's score with its interval, its change from last year, an
honest rank (1 + the wards clearly ahead; equal ranks tied), the small-cell rules and the total."""

from __future__ import annotations

import math

from reports.annual import YearData, annual_table
from reports.stats import mean_of
from storage.repo.stats import ScoreSums


def sums(scores: list[float]) -> ScoreSums:
    """What SQL returns for respondents with these 1-10 scores: the sums of their mean item scores (s - 1) / 9."""
    items = [(s - 1) / 9 for s in scores]
    return ScoreSums(len(items), math.fsum(items), math.fsum(x * x for x in items))


def year(number: int, per_ward: dict[int, dict[int, list[float]]], dimensions: tuple[int, ...] = (5,)) -> YearData:
    data = YearData(number, "Asia/Ho_Chi_Minh")
    data.scoring = dict.fromkeys(dimensions, "score")
    data.wards = {70: "Phường Hoàn Kiếm", 235: "Phường Đống Đa", 4: "Phường Ba Đình", 8: "Phường Ngọc Hà"}
    for ward, by_dimension in per_ward.items():
        for dimension, scores in by_dimension.items():
            data.sums[(dimension, ward)] = sums(scores)
            data.completed[ward] = len(scores)
    return data


HIGH = [10.0] * 20 + [7.75] * 20  # mean 8.875
LOW = [4.375] * 20 + [1.5625] * 20  # mean 2.96875


def test_ranks_ties_and_the_unranked_by_hand() -> None:
    data = year(2026, {70: {5: HIGH}, 235: {5: list(reversed(HIGH))}, 4: {5: LOW}, 8: {5: [6.0] * 10}})
    table = annual_table(data, None, {}, "vi")
    rows = {row.code: row for row in table.rows}
    d5 = {code: row.figures[5] for code, row in rows.items()}
    # 70 and 235 have the same interval: tied first; both lie entirely above 4: it is third
    assert [(d5[w].rank_text, d5[w].value) for w in (70, 235, 4)] == [("=1", "8,88"), ("=1", "8,88"), ("3", "2,97")]
    m = mean_of(HIGH)
    assert d5[70].text == f"8,88 ({m.interval.low:.2f}–{m.interval.high:.2f}) ⚠ ít phản hồi (n=40)".replace(".", ",")
    assert (d5[8].text, d5[8].rank_text, d5[8].value) == ("n=10", "–", "")  # 10-29: the count only, not ranked
    assert rows[8].completed == "10" and rows[4].completed == "40"
    assert table.columns[0].lead == "chưa phân công" and not table.has_total
    assert "Thứ hạng: 1 + số phường, xã có khoảng tin cậy nằm hẳn trên" in " ".join(table.notes)


def test_a_chain_of_overlaps_ties_only_what_the_intervals_do_not_separate() -> None:
    a, c, b = [6.5, 9.5] * 20, [3.7, 9.9] * 20, [4.0, 7.0] * 20
    ia, ic, ib = (mean_of(x).interval for x in (a, c, b))
    assert ia.low > ib.high and ic.low <= ia.high and ib.high >= ic.low  # A clearly above B; C overlaps both
    table = annual_table(year(2026, {70: {5: a}, 235: {5: c}, 4: {5: b}}), None, {}, "en")
    ranks = {row.code: row.figures[5].rank_text for row in table.rows}
    # nobody is clearly above A or C: tied first; only A is clearly above B: second, alone
    assert ranks == {70: "=1", 235: "=1", 4: "2", 8: "–"}


def test_the_change_from_last_year_is_marked_only_when_the_intervals_do_not_overlap() -> None:
    this = year(2026, {70: {5: HIGH}, 235: {5: HIGH}, 4: {5: LOW}})
    last = year(2025, {70: {5: [4.375, 4.5] * 20}, 235: {5: [8.0, 9.5] * 20}, 4: {5: [5.0] * 12}})
    table = annual_table(this, last, {}, "en")
    d5 = {row.code: row.figures[5] for row in table.rows}
    assert (d5[70].change, d5[70].arrow) == ("+4.44", "▲")
    assert (d5[235].change, d5[235].arrow) == ("+0.13", "")  # 8.75 -> 8.875
    assert (d5[4].change, d5[4].arrow) == ("", "")  # last year's 12 respondents show no score: no change
    assert "Change from 2025" in " ".join(table.notes)


def test_the_total_of_eight_dimensions_is_ranked_like_a_dimension() -> None:
    dims = tuple(range(1, 9))
    good = {d: [7.0, 9.0] * 20 for d in dims}
    bad = {d: [2.0, 4.0] * 20 for d in dims}
    partial = {**good, 8: [7.0] * 12}
    table = annual_table(year(2026, {70: good, 235: good, 4: bad, 8: partial}, dims), None, {}, "vi")
    rows = {row.code: row for row in table.rows}
    assert table.has_total
    assert rows[70].total is not None and rows[70].total.value == "64,00" and rows[70].total.rank_text == "=1"
    assert rows[4].total is not None and rows[4].total.rank_text == "3"
    assert rows[8].total is None  # dimension 8 shows no score there: no total
    assert [row.code for row in table.rows] == [235, 70, 4, 8]  # best total first, then by name (Đ before H)
