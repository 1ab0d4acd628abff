"""The demo's simulated responses: valid answers of the real questionnaire (replayed through the engine), the
same for the same seed, spread over wards and days with differences between wards, and a few comments."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flows import engine
from flows.events import AnswerRejected, SurveyCompleted
from flows.loader import bundled_survey_path, load_survey
from flows.questions import Context, WardOption
from flows.simulate import SimulatedResponse, demo_responses
from reports.stats import index_from_counts
from storage.admin_units import units_of_province

SURVEY = load_survey(bundled_survey_path())
UNITS = units_of_province(1)
CONTEXT = Context("vi", tuple(WardOption(u.code, u.name) for u in UNITS))
NOW = datetime(2026, 12, 3, 5, 0, tzinfo=UTC)
START = NOW - timedelta(days=14)


def made(seed: int = 1) -> list[SimulatedResponse]:
    return demo_responses(SURVEY, CONTEXT, [u.code for u in UNITS], START, NOW, "Asia/Ho_Chi_Minh", seed=seed)


def replay(r: SimulatedResponse) -> engine.Step:
    """The response's answers given one by one to the engine, as a channel would (skips as skips)."""
    step = engine.start(SURVEY, CONTEXT, prefill={"ward": r.ward}, consented=True)
    for qid, value in r.answers:
        if qid == "ward":
            continue
        inp: engine.Input = engine.Skip(qid) if value is None else engine.Answer(value, qid)
        if SURVEY.question(qid).type in ("number", "text") and value is not None:
            inp = engine.Text(str(value), qid)
        step = engine.advance(SURVEY, step.state, inp, CONTEXT)
        assert not [e for e in step.events if isinstance(e, AnswerRejected)], (qid, value, step.events)
    return step


def test_every_simulated_response_is_a_valid_walk_of_the_questionnaire() -> None:
    responses = made()
    assert 380 <= len(responses) <= 420
    for r in responses:
        step = replay(r)
        assert step.state.answers == r.answers  # the engine keeps exactly these answers, in this order
        assert r.completed == any(isinstance(e, SurveyCompleted) for e in step.events) == engine.is_complete(
            SURVEY, step.state
        )
        assert START <= r.started_at <= r.last_activity_at < NOW


def test_the_same_seed_makes_the_same_demo_and_another_seed_another() -> None:
    assert made(7) == made(7)
    assert made(7) != made(8)


def test_the_demo_has_wards_with_figures_that_differ_days_that_grow_and_a_few_comments() -> None:
    responses = made()
    completed = [r for r in responses if r.completed]
    assert 0.85 < len(completed) / len(responses) < 0.95  # some people stopped part-way
    per_ward = Counter(r.ward for r in completed)
    assert sum(1 for n in per_ward.values() if n >= 30) >= 4  # percentages shown, wards ranked
    assert sum(1 for n in per_ward.values() if 10 <= n < 30) >= 4  # counts only
    assert sum(1 for u in UNITS if per_ward[u.code] < 10) >= 100  # and most wards a handful or none: "<10"
    overall: dict[int, Counter[int | str]] = defaultdict(Counter)
    for r in completed:
        overall[r.ward][dict(r.answers)["overall_satisfaction"]] += 1
    shares = [index_from_counts(c).satisfied.p for w, c in overall.items() if per_ward[w] >= 30]
    assert max(shares) - min(shares) > 0.15  # wards differ plausibly
    everyone = sum((overall[w] for w in overall), Counter())
    assert 0.5 < index_from_counts(everyone).satisfied.p < 0.8
    comments = [dict(r.answers).get("comment") for r in completed]
    assert 0.05 < sum(1 for c in comments if c) / len(completed) < 0.2
    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    days = Counter(r.last_activity_at.astimezone(zone).date() for r in completed)
    first_week = sum(n for d, n in days.items() if d < (START + timedelta(days=7)).astimezone(zone).date())
    assert first_week < len(completed) / 2  # more answers as the campaign gets known
    assert min(days.values()) < 10  # a quiet first day: the per-day chart shows a suppressed day
    hours = Counter(r.last_activity_at.astimezone(zone).hour for r in completed)
    assert sum(n for h, n in hours.items() if h >= 6) == len(completed)  # nobody answers at night
