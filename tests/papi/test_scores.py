"""PAPI-style scores and honest rankings, checked against values computed by hand (and Student's t tables)."""

from __future__ import annotations

import math

import pytest

from flows.loader import bundled_surveys, load_survey
from reports import format as fmt
from reports.plan import ScoredQuestion, plan_of, respondent_score
from reports.stats import (
    Interval,
    Rank,
    estimate_of_mean,
    estimate_of_share,
    honest_ranks,
    mean_from_sums,
    mean_of,
    share,
    t_quantile,
    total,
)


@pytest.mark.parametrize(
    ("df", "table"),
    [(1, 12.706), (2, 4.303), (5, 2.571), (10, 2.228), (29, 2.045), (59, 2.001), (120, 1.980)],
)
def test_t_quantiles_match_the_tables(df: int, table: float) -> None:
    assert t_quantile(0.975, df) == pytest.approx(table, abs=5e-4)


def test_a_mean_and_its_t_interval_by_hand() -> None:
    # scores 5, 6, 7, 8, 9: mean 7, s = sqrt(10/4) = 1.5811, t(0.975, 4) = 2.7764, half = 2.7764 * 1.5811 / sqrt 5
    m = mean_of([5, 6, 7, 8, 9])
    assert (m.n, m.mean) == (5, 7.0)
    assert m.sd == pytest.approx(math.sqrt(2.5))
    assert m.interval.low == pytest.approx(7 - 1.9632, abs=1e-4)
    assert m.interval.high == pytest.approx(7 + 1.9632, abs=1e-4)


def test_an_interval_stays_on_the_scale_and_degenerate_cases_are_the_whole_scale() -> None:
    m = mean_of([10.0] * 20 + [1.0])
    assert m.interval.high == 10.0 and m.interval.low < m.mean
    assert mean_from_sums(0, 0, 0).interval == Interval(1.0, 10.0, 5.5)
    one = mean_from_sums(1, 4.0, 16.0)
    assert (one.mean, one.interval.low, one.interval.high) == (4.0, 1.0, 10.0)
    with pytest.raises(ValueError):
        mean_from_sums(-1, 0, 0)


def test_a_respondents_score_is_one_plus_nine_times_the_mean_item_score() -> None:
    questions = (
        ScoredQuestion("sat", {1: 0.0, 2: 0.25, 3: 0.5, 4: 0.75, 5: 1.0}),
        ScoredQuestion("on_time", {"yes": 1.0, "no": 0.0}),
        ScoredQuestion("visits", {"once": 1.0, "twice": 0.5, "three_plus": 0.0}),
    )
    # 4 -> 0.75, "yes" -> 1, "twice" -> 0.5: mean 0.75, score 1 + 9 * 0.75 = 7.75
    assert respondent_score({"sat": 4, "on_time": "yes", "visits": "twice"}, questions) == pytest.approx(7.75)
    # "dk" and an unscored answer count for nothing: only "no" (0) -> 1.0
    assert respondent_score({"sat": "dk", "on_time": "no", "visits": "other"}, questions) == pytest.approx(1.0)
    assert respondent_score({"sat": "dk", "other": 5}, questions) is None
    assert respondent_score({"sat": 4.0}, questions) == pytest.approx(7.75)


def test_the_papi_questionnaire_scores_a_reversed_statement_the_other_way_round() -> None:
    plan = plan_of(load_survey(bundled_surveys()["papi"]))
    d4 = plan.dimension(4)
    assert d4 is not None and d4.scoring == "score"
    scored = {q.id: q for q in d4.scored}
    assert scored["d4_extra_payment"].scores[1] == 1.0 and scored["d4_extra_payment"].scores[5] == 0.0
    # strongly disagreeing that one must pay extra (1 -> 1), agreeing one needs connections (4 -> 0.25), knowing
    # where to report ("yes" -> 1): mean 0.75, score 7.75
    answers = {"d4_extra_payment": 1, "d4_connections": 4, "d4_know_where": "yes"}
    assert respondent_score(answers, d4.scored) == pytest.approx(7.75)
    d5 = plan.dimension(5)
    assert d5 is not None and [f.code for f in d5.factors] == ["5.1", "5.2", "5.3"]


def ranks(intervals: dict[str, tuple[float, float]]) -> dict[str, Rank]:
    return honest_ranks({k: Interval(low, high, (low + high) / 2) for k, (low, high) in intervals.items()})


def test_a_rank_counts_the_units_clearly_ahead_and_equal_ranks_are_ties() -> None:
    found = ranks({"A": (8.0, 9.0), "B": (7.5, 8.5), "C": (6.0, 7.0), "D": (3.0, 4.0)})
    # A and B overlap: both first, tied; A and B are both clearly ahead of C; everyone is ahead of D
    assert found == {"A": Rank(1, True), "B": Rank(1, True), "C": Rank(3, False), "D": Rank(4, False)}


def test_overlapping_intervals_are_all_tied_and_touching_counts_as_overlap() -> None:
    found = ranks({"A": (5.0, 7.0), "B": (6.0, 8.0), "C": (7.0, 9.0)})
    assert found == {"A": Rank(1, True), "B": Rank(1, True), "C": Rank(1, True)}


def test_a_third_unit_can_separate_two_overlapping_ones() -> None:
    # C overlaps A and B; A is clearly ahead of B: B is second, A and C share the first place
    found = ranks({"A": (8.0, 9.0), "B": (6.0, 7.0), "C": (6.5, 8.5)})
    assert found == {"A": Rank(1, True), "C": Rank(1, True), "B": Rank(2, False)}


def test_the_total_adds_the_dimension_scores_and_their_bounds() -> None:
    parts = [estimate_of_mean(mean_of([float(d)] * 40 + [float(d) + 1] * 40)) for d in range(1, 9)]
    found = total(parts)
    assert found is not None
    assert found.value == pytest.approx(sum(d + 0.5 for d in range(1, 9)))
    assert found.interval.low == pytest.approx(sum(p.interval.low for p in parts))
    assert found.n == 80 and found.parts == 8
    hidden = [*parts[:7], estimate_of_mean(mean_of([5.0] * 20))]
    assert total(hidden) is None  # a dimension with 20 respondents shows no score: no total


def test_scores_are_shown_under_the_small_cell_rules() -> None:
    assert fmt.estimate(estimate_of_mean(mean_of([5.0] * 9))) == "<10"
    assert fmt.estimate(estimate_of_mean(mean_of([5.0] * 24)), "en") == "n=24"
    unstable = estimate_of_mean(mean_of([5.0, 6.0] * 20))
    assert fmt.estimate(unstable) == "5,50 (5,34–5,66) ⚠ ít phản hồi (n=40)"
    assert fmt.estimate(unstable, "en") == "5.50 (5.34–5.66) ⚠ few responses (n=40)"
    assert fmt.estimate(estimate_of_share(share(24, 30)), "en").startswith("80% (63–90%)")
    before, after = estimate_of_mean(mean_of([5.0, 6.0] * 40)), estimate_of_mean(mean_of([7.0, 8.0] * 40))
    assert fmt.difference(before, after, "vi") == ("+2,00", "▲")
    close = estimate_of_mean(mean_of([5.0, 6.5] * 40))
    assert fmt.difference(before, close, "en") == ("+0.25", "")  # 5.50 -> 5.75, the intervals overlap
    assert fmt.difference(estimate_of_mean(mean_of([5.0] * 20)), after) == ("", "")
