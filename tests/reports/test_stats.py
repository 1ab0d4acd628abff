"""Tests for reports.stats against hand-computed values.

Arithmetic conventions used in the comments below, with z = 1.96:
    z² = 3.8416, z²/2 = 1.9208, z²/4 = 0.9604
and the Wilson interval multiplied through by n (same formula as in the domain notes):
    centre = (k + z²/2) / (n + z²)
    half   = z · sqrt(k(n-k)/n + z²/4) / (n + z²)
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports import format as fmt
from reports.stats import (
    Z95,
    CellKind,
    Interval,
    Lang,
    Share,
    cell_kind,
    change,
    index_from_counts,
    lowest,
    share,
    top_choices,
    wilson,
)

# --- wilson -------------------------------------------------------------------------------------


def test_wilson_24_of_30() -> None:
    # n + z² = 33.8416
    # centre = 25.9208 / 33.8416                         = 0.765945
    # half   = 1.96 · sqrt(24·6/30 + 0.9604) / 33.8416
    #        = 1.96 · sqrt(5.7604) / 33.8416
    #        = 1.96 · 2.400083 / 33.8416 = 4.704163 / 33.8416 = 0.139005
    # low    = 0.765945 - 0.139005 = 0.626940   (~63%)
    # high   = 0.765945 + 0.139005 = 0.904950   (90.495% -> rounds to 90%, not 91%)
    iv = wilson(24, 30)
    assert iv.centre == pytest.approx(0.765945, abs=1e-6)
    assert iv.low == pytest.approx(0.626940, abs=1e-6)
    assert iv.high == pytest.approx(0.904950, abs=1e-6)


def test_wilson_with_the_p_form_of_the_formula() -> None:
    # The domain notes' form: (p + z²/2n)/(1 + z²/n) ± z·sqrt(p(1-p)/n + z²/4n²)/(1 + z²/n), p = 0.8, n = 30.
    p, n, z = 0.8, 30, 1.96
    d = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / d
    half = z * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5 / d
    iv = wilson(24, 30)
    assert iv.low == pytest.approx(centre - half, rel=1e-12)
    assert iv.high == pytest.approx(centre + half, rel=1e-12)


def test_wilson_0_of_10() -> None:
    # n + z² = 13.8416
    # centre = 1.9208 / 13.8416 = 0.138770
    # half   = 1.96 · sqrt(0 + 0.9604) / 13.8416 = 1.96 · 0.98 / 13.8416 = 1.9208 / 13.8416 = 0.138770
    # low    = 0 (exactly), high = 3.8416 / 13.8416 = 0.277540
    iv = wilson(0, 10)
    assert iv.low == 0.0
    assert iv.high == pytest.approx(0.277540, abs=1e-6)
    assert iv.centre == pytest.approx(0.138770, abs=1e-6)


def test_wilson_10_of_10() -> None:
    # Mirror image of 0/10: low = 1 - 0.277540 = 10 / 13.8416 = 0.722460, high = 1 (exactly)
    iv = wilson(10, 10)
    assert iv.low == pytest.approx(0.722460, abs=1e-6)
    assert iv.high == 1.0
    assert iv.centre == pytest.approx(0.861230, abs=1e-6)  # 11.9208 / 13.8416


def test_wilson_1_of_1() -> None:
    # n + z² = 4.8416
    # centre = 2.9208 / 4.8416 = 0.603272
    # half   = 1.96 · sqrt(1·0/1 + 0.9604) / 4.8416 = 1.9208 / 4.8416 = 0.396728
    # low    = 1 / 4.8416 = 0.206543, high = 1
    iv = wilson(1, 1)
    assert iv.low == pytest.approx(0.206543, abs=1e-6)
    assert iv.high == 1.0
    assert iv.centre == pytest.approx(0.603272, abs=1e-6)


def test_wilson_n_zero_is_the_whole_range() -> None:
    assert wilson(0, 0) == Interval(low=0.0, high=1.0, centre=0.5)
    s = share(0, 0)
    assert s == Share(k=0, n=0, p=0.0, interval=Interval(0.0, 1.0, 0.5))
    assert s.kind is CellKind.HIDDEN
    assert fmt.share(s, "vi") == "<10"


@pytest.mark.parametrize(("k", "n"), [(-1, 5), (0, -1), (6, 5), (1, 0)])
def test_wilson_rejects_bad_counts(k: int, n: int) -> None:
    with pytest.raises(ValueError):
        wilson(k, n)
    with pytest.raises(ValueError):
        share(k, n)


@pytest.mark.parametrize("z", [0.0, -1.96, float("nan"), float("inf")])
def test_wilson_rejects_bad_z(z: float) -> None:
    with pytest.raises(ValueError):
        wilson(3, 10, z)


def test_default_z_is_1_96() -> None:
    assert Z95 == 1.96
    assert wilson(24, 30) == wilson(24, 30, 1.96)
    # A wider z gives a wider interval.
    assert wilson(24, 30, 2.576).low < wilson(24, 30).low


def test_share_holds_k_n_p_and_interval() -> None:
    s = share(24, 30)
    assert (s.k, s.n, s.p) == (24, 30, 0.8)
    assert s.interval == wilson(24, 30)


@st.composite
def k_and_n(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(min_value=0, max_value=10_000))
    k = draw(st.integers(min_value=0, max_value=n))
    return k, n


@given(k_and_n())
def test_interval_contains_p_and_stays_in_unit_range(kn: tuple[int, int]) -> None:
    k, n = kn
    s = share(k, n)
    iv = s.interval
    assert 0.0 <= iv.low <= s.p <= iv.high <= 1.0
    assert iv.low <= iv.centre <= iv.high


@given(k_and_n())
def test_interval_is_symmetric_under_k_to_n_minus_k(kn: tuple[int, int]) -> None:
    k, n = kn
    a, b = wilson(k, n), wilson(n - k, n)
    assert a.low == pytest.approx(1 - b.high, abs=1e-12)
    assert a.high == pytest.approx(1 - b.low, abs=1e-12)


# --- cell kinds ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "kind"),
    [
        (0, CellKind.HIDDEN),
        (9, CellKind.HIDDEN),
        (10, CellKind.COUNTS_ONLY),
        (29, CellKind.COUNTS_ONLY),
        (30, CellKind.UNSTABLE),
        (59, CellKind.UNSTABLE),
        (60, CellKind.OK),
        (10_000, CellKind.OK),
    ],
)
def test_cell_kind_boundaries(n: int, kind: CellKind) -> None:
    assert cell_kind(n) is kind
    assert share(0, n).kind is kind


def test_cell_kind_rejects_negative() -> None:
    with pytest.raises(ValueError):
        cell_kind(-1)


# --- index_from_counts --------------------------------------------------------------------------


def test_index_excludes_dk_and_skipped() -> None:
    # Valid answers: 2 + 3 + 5 + 10 + 10 = 30; "dk" (7) and skipped (4) are not in the denominator.
    # Satisfied = 4s + 5s = 20 -> 20/30; dissatisfied = 1s + 2s = 5 -> 5/30.
    # (Counting dk in the denominator would wrongly give 20/37; counting skipped too, 20/41.)
    result = index_from_counts({1: 2, 2: 3, 3: 5, 4: 10, 5: 10, "dk": 7, None: 4})
    assert result.n_valid == 30
    assert result.dont_know == 7
    assert result.skipped == 4
    assert result.satisfied == share(20, 30)
    assert result.dissatisfied == share(5, 30)
    assert result.satisfied.p == pytest.approx(2 / 3)
    assert result.kind is CellKind.UNSTABLE


def test_index_accepts_a_counter_and_missing_keys() -> None:
    answers: list[int | str | None] = [5, 4, 4, "dk", None, 1, 3, 5, 5, 4, 2, 4]
    result = index_from_counts(Counter(answers))
    # valid: 5,4,4,1,3,5,5,4,2,4 = 10; satisfied 5,4,4,5,5,4,4 = 7; dissatisfied 1,2 = 2
    assert (result.satisfied.k, result.dissatisfied.k, result.n_valid) == (7, 2, 10)
    assert (result.dont_know, result.skipped) == (1, 1)


def test_index_of_no_valid_answers() -> None:
    result = index_from_counts({"dk": 3, None: 2})
    assert result.n_valid == 0
    assert result.satisfied == share(0, 0)
    assert result.kind is CellKind.HIDDEN
    assert index_from_counts({}).n_valid == 0


@pytest.mark.parametrize("bad", [{0: 1}, {6: 1}, {"4": 1}, {"khong_ro": 1}, {True: 1}, {4: -1}])
def test_index_rejects_unknown_answers_and_negative_counts(bad: dict[int | str | None, int]) -> None:
    with pytest.raises(ValueError):
        index_from_counts(bad)


# --- change -------------------------------------------------------------------------------------


def test_change_up_and_down_when_intervals_do_not_overlap() -> None:
    # 12/45: n + z² = 48.8416, centre = 13.9208/48.8416 = 0.285019,
    #        half = 1.96·sqrt(12·33/45 + 0.9604)/48.8416 = 1.96·sqrt(9.7604)/48.8416 = 6.123362/48.8416 = 0.125372
    #        -> high = 0.410391
    # 30/45: centre = 31.9208/48.8416 = 0.653558,
    #        half = 1.96·sqrt(30·15/45 + 0.9604)/48.8416 = 1.96·sqrt(10.9604)/48.8416 = 6.488872/48.8416 = 0.132855
    #        -> low = 0.520703
    # 0.410391 < 0.520703: no overlap.
    before, after = share(12, 45), share(30, 45)
    assert before.interval.high == pytest.approx(0.410391, abs=1e-6)
    assert after.interval.low == pytest.approx(0.520703, abs=1e-6)
    assert change(before, after) == "up"
    assert change(after, before) == "down"


def test_change_same_when_intervals_overlap() -> None:
    # 40/60 (67%): centre = 41.9208/63.8416 = 0.656638,
    #        half = 1.96·sqrt(40·20/60 + 0.9604)/63.8416 = 1.96·sqrt(14.293733)/63.8416 = 0.116071 -> high = 0.772709
    # 50/60 (83%): centre = 51.9208/63.8416 = 0.813275,
    #        half = 1.96·sqrt(50·10/60 + 0.9604)/63.8416 = 1.96·sqrt(9.293733)/63.8416 = 0.093594 -> low = 0.719681
    # 0.719681 < 0.772709: they overlap, so a 16-point difference is still "same".
    before, after = share(40, 60), share(50, 60)
    assert before.interval.high == pytest.approx(0.772709, abs=1e-6)
    assert after.interval.low == pytest.approx(0.719681, abs=1e-6)
    assert change(before, after) == "same"
    assert change(after, before) == "same"
    assert change(before, before) == "same"


def test_change_touching_intervals_count_as_overlap() -> None:
    a = Share(k=3, n=10, p=0.3, interval=Interval(low=0.1, high=0.5, centre=0.3))
    b = Share(k=7, n=10, p=0.7, interval=Interval(low=0.5, high=0.9, centre=0.7))
    assert change(a, b) == "same"
    assert change(b, a) == "same"


def test_change_with_an_empty_period_is_same() -> None:
    assert change(share(0, 0), share(60, 60)) == "same"


# --- lowest -------------------------------------------------------------------------------------


def test_lowest_only_ranks_units_with_n_at_least_30() -> None:
    units = [
        ("A", share(0, 29)),  # p = 0,   n = 29: excluded although lowest
        ("B", share(9, 30)),  # p = 0.3, n = 30: included (boundary)
        ("C", share(20, 40)),  # p = 0.5
        ("D", share(1, 9)),  # p = 0.11, n = 9: excluded
        ("E", share(18, 60)),  # p = 0.3: tie with B, broken by key -> B before E
        ("F", share(50, 60)),  # p = 0.83
    ]
    assert [key for key, _ in lowest(units)] == ["B", "E", "C"]
    assert [key for key, _ in lowest(units, k=1)] == ["B"]
    assert [key for key, _ in lowest(units, k=10)] == ["B", "E", "C", "F"]
    assert lowest(units, k=0) == []
    assert lowest([]) == []


def test_lowest_is_independent_of_input_order() -> None:
    units = [(3, share(18, 60)), (1, share(9, 30)), (2, share(20, 40))]
    assert [key for key, _ in lowest(units)] == [1, 3, 2]
    assert lowest(list(reversed(units))) == lowest(units)


def test_lowest_rejects_negative_k() -> None:
    with pytest.raises(ValueError):
        lowest([], k=-1)


# --- top_choices --------------------------------------------------------------------------------


def test_top_choices_share_of_respondents_with_deterministic_ties() -> None:
    counts = {"roads": 12, "trash": 20, "noise": 12, "lighting": 0, "water": 5}
    # 40 respondents, multi-choice: trash 20/40 = 50%, then noise and roads 12/40 = 30% (tie -> by key).
    top = top_choices(counts, total_respondents=40)
    assert [(option, s.k, s.n) for option, s in top] == [("trash", 20, 40), ("noise", 12, 40), ("roads", 12, 40)]
    assert top[0][1] == share(20, 40)
    assert [option for option, _ in top_choices(counts, 40, k=10)] == ["trash", "noise", "roads", "water"]
    assert top_choices({}, 0) == []


def test_top_choices_rejects_inconsistent_counts() -> None:
    with pytest.raises(ValueError):
        top_choices({"roads": 41}, total_respondents=40)
    with pytest.raises(ValueError):
        top_choices({"roads": 1}, total_respondents=40, k=-1)


# --- formatting ---------------------------------------------------------------------------------


def test_format_ok_cell() -> None:
    # 48/60 = 80%; n + z² = 63.8416, centre = 49.9208/63.8416 = 0.781948,
    # half = 1.96·sqrt(48·12/60 + 0.9604)/63.8416 = 1.96·sqrt(10.5604)/63.8416 = 6.369367/63.8416 = 0.099768
    # -> 0.682180 .. 0.881716 -> "68–88%"
    s = share(48, 60)
    assert fmt.share(s, "vi") == "80% (68–88%)"
    assert fmt.share(s, "en") == "80% (68–88%)"


def test_format_unstable_cell() -> None:
    # 24/30 -> 0.626940 .. 0.904950 (see test_wilson_24_of_30): 62.694% -> 63, 90.495% -> 90.
    s = share(24, 30)
    assert fmt.share(s, "vi") == "80% (63–90%) ⚠ ít phản hồi (n=30)"
    assert fmt.share(s, "en") == "80% (63–90%) ⚠ few responses (n=30)"
    # n = 59 is still unstable: 59/59 = 100%, low = 59/(59 + 3.8416) = 0.938870 -> 94
    assert fmt.share(share(59, 59), "en") == "100% (94–100%) ⚠ few responses (n=59)"


def test_format_counts_only_cell() -> None:
    assert fmt.share(share(24, 25), "vi") == "24/25"
    assert fmt.share(share(24, 25), "en") == "24/25"
    assert fmt.share(share(0, 10), "vi") == "<10/10"  # a count below 10 stays hidden inside the share
    assert fmt.share(share(29, 29), "en") == "29/29"


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_format_hidden_cell(lang: Lang) -> None:
    for k, n in [(5, 9), (0, 1), (0, 0), (9, 9)]:
        assert fmt.share(share(k, n), lang) == "<10"


def test_format_rounds_the_share_half_up_exactly() -> None:
    # 33/40 = 0.825 -> 82.5% -> 83 (Python's round() would give 82; 0.825 in binary is just below .825)
    assert fmt.share(share(33, 40), "en").startswith("83% (")
    # 1/40 = 2.5% -> 3
    assert fmt.share(share(1, 40), "en").startswith("3% (")


def test_format_never_calls_it_a_margin_of_sampling_error() -> None:
    langs: tuple[Lang, ...] = ("vi", "en")
    texts = [fmt.share(share(k, n), lang) for k, n in [(24, 30), (48, 60), (24, 25), (3, 5)] for lang in langs]
    for text in texts:
        lowered = text.lower()
        assert "margin" not in lowered
        assert "sampling" not in lowered
        assert "sai số" not in lowered


def test_format_share_rejects_unknown_language() -> None:
    with pytest.raises(ValueError):
        fmt.share(share(48, 60), "fr")  # type: ignore[arg-type]


def test_format_count() -> None:
    assert fmt.count(0) == "<10"
    assert fmt.count(9) == "<10"
    assert fmt.count(10) == "10"
    assert fmt.count(1234) == "1.234" and fmt.count(1234, "en") == "1,234"
    assert fmt.count(3, exact=True) == "3"
    with pytest.raises(ValueError):
        fmt.count(-1)


def test_format_percent() -> None:
    assert fmt.percent(0.0) == "0%"
    assert fmt.percent(0.626940) == "63%"
    assert fmt.percent(0.904950) == "90%"
    assert fmt.percent(1.0) == "100%"
