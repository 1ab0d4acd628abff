"""The SQL executor of PAPI-style scores (`storage.repo.stats.score_sums`) and the rule it carries out
(`reports.plan.respondent_score`) agree, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from reports.plan import plan_of, respondent_score
from storage.db import Database
from storage.repo import stats
from tests.conftest import Clock
from tests.papi.support import add_answers, papi_campaign, papi_survey, random_answers


async def test_sql_and_python_agree_on_every_dimension_and_ward(db: Database, clock: Clock) -> None:
    c = await papi_campaign(db, clock())
    rng = random.Random(20)
    rows = [random_answers(rng, ward, lean) for ward, lean in ((70, 0.5), (235, -0.5), (4, 0.0)) for _ in range(25)]
    rows[0] = {**rows[0], "d5_on_time": "yes", "d5_clear": "dk", "d5_staff": "dk", "d5_visits": "once"}
    await add_answers(db, c, rows, clock() + timedelta(minutes=5))
    plan = plan_of(papi_survey())
    groups = {k: v for d in plan.dimensions for k, v in d.groups().items()}
    async with db.read() as conn:
        by_ward = await stats.score_sums(conn, c.id, groups, by_ward=True)
        overall = await stats.score_sums(conn, c.id, groups)
        early = await stats.score_sums(conn, c.id, groups, until=clock())
    assert early == {}
    for d in plan.dimensions:
        for ward in (70, 235, 4, None):
            scores = [
                s
                for row in rows
                if ward is None or row["ward"] == ward
                if (s := respondent_score(row, d.scored)) is not None
            ]
            found = (overall if ward is None else by_ward)[(str(d.number), ward)]
            assert found.n == len(scores), (d.number, ward)
            # the repository sums mean item scores (0-1); a score is 1 + 9 x that
            assert 1 + 9 * found.total / found.n == pytest.approx(sum(scores) / len(scores)), (d.number, ward)
            items = [(s - 1) / 9 for s in scores]
            assert found.total_sq == pytest.approx(sum(x * x for x in items))


async def test_a_question_in_two_groups_is_refused(db: Database, clock: Clock) -> None:
    c = await papi_campaign(db, clock())
    async with db.read() as conn:
        with pytest.raises(ValueError, match="in groups"):
            await stats.score_sums(conn, c.id, {"a": {"q": {1: 0.0}}, "b": {"q": {1: 0.0}}})


async def test_completed_by_ward_counts_in_the_window(db: Database, clock: Clock) -> None:
    c = await papi_campaign(db, clock())
    rng = random.Random(3)
    await add_answers(db, c, [random_answers(rng, 70) for _ in range(3)], clock())
    await add_answers(db, c, [random_answers(rng, 235)], clock() + timedelta(days=2))
    async with db.read() as conn:
        assert await stats.completed_by_ward(conn, c.id) == {70: 3, 235: 1}
        assert await stats.completed_by_ward(conn, c.id, until=clock() + timedelta(days=1)) == {70: 3}
