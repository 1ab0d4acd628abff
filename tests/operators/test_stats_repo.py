"""storage.repo.stats on SQLite and PostgreSQL, against numbers worked out by hand."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from reports.stats import index_from_counts
from storage.db import Database
from storage.repo import stats
from tests.conftest import Clock, create_live_campaign
from tests.operators.helpers import add_response

WARDS = [70, 235, 4]  # Hoàn Kiếm, Đống Đa, Ba Đình


async def fill(db: Database, clock: Clock) -> Any:
    """Five completed, two in progress (one without a ward), one abandoned. Completion times: minute 10, 20, ..."""
    c: Any = await create_live_campaign(db, clock(), wards=WARDS)
    t0 = clock()

    def at(minute: int) -> Any:
        return t0 + timedelta(minutes=minute)

    async with db.write() as conn:
        # ward 70
        await add_response(
            conn,
            c.id,
            70,
            {
                "overall_satisfaction": 5,
                "top_issues": ["waste", "traffic"],
                "sat_access": 4,
                "gender": "female",
                "comment": "Tốt",
            },
            started_at=at(0),
            completed_at=at(10),
        )
        await add_response(
            conn,
            c.id,
            70,
            {"overall_satisfaction": 4, "top_issues": ["waste"], "sat_access": "dk", "gender": "male", "comment": None},
            started_at=at(1),
            completed_at=at(20),
        )
        await add_response(
            conn,
            c.id,
            70,
            {"overall_satisfaction": 2, "top_issues": ["flooding"], "sat_access": None},
            started_at=at(2),
            completed_at=at(30),
        )
        await add_response(
            conn,
            c.id,
            70,
            {"overall_satisfaction": 1, "top_issues": ["waste"], "comment": "chưa xong"},
            status="in_progress",
            started_at=at(3),
        )
        await add_response(conn, c.id, 70, {}, status="abandoned", started_at=at(4))
        # ward 235
        await add_response(
            conn,
            c.id,
            235,
            {
                "overall_satisfaction": 3,
                "top_issues": ["security", "waste"],
                "gender": "female",
                "comment": "Cần thêm đèn đường",
            },
            started_at=at(5),
            completed_at=at(40),
        )
        await add_response(
            conn,
            c.id,
            235,
            {"overall_satisfaction": 4, "sat_access": 5, "gender": None, "comment": "Đường hay ngập"},
            started_at=at(6),
            completed_at=at(50),
        )
        # no ward chosen yet
        await add_response(conn, c.id, None, {}, status="in_progress", started_at=at(7))
    return c


async def test_ward_progress_and_totals(db: Database, clock: Clock) -> None:
    c = await fill(db, clock)
    async with db.read() as conn:
        progress = await stats.ward_progress(conn, c.id)
        only = await stats.ward_progress(conn, c.id, wards=[235])
        totals = await stats.response_totals(conn, c.id)
        totals_70 = await stats.response_totals(conn, c.id, wards=[70])
        completed = await stats.completed_count(conn, c.id)
        in_window = await stats.completed_count(
            conn, c.id, since=clock() + timedelta(minutes=20), until=clock() + timedelta(minutes=40)
        )
    assert [(p.code, p.name, p.kind, p.started, p.completed, p.in_progress, p.abandoned) for p in progress] == [
        (4, "Phường Ba Đình", "phường", 0, 0, 0, 0),
        (70, "Phường Hoàn Kiếm", "phường", 5, 3, 1, 1),
        (235, "Phường Đống Đa", "phường", 2, 2, 0, 0),
    ]
    assert progress[1].completion_rate == 3 / 5 and progress[0].completion_rate is None
    assert progress[1].target is None and progress[1].of_target is None
    assert [p.code for p in only] == [235]
    assert totals == stats.Totals(started=8, completed=5, in_progress=2, abandoned=1, without_ward=1)
    assert totals_70 == stats.Totals(started=5, completed=3, in_progress=1, abandoned=1, without_ward=0)
    assert completed == 5
    assert in_window == 2  # minutes 20 and 30 (40 is the exclusive end)


async def test_scale_counts(db: Database, clock: Clock) -> None:
    c = await fill(db, clock)
    questions = ["overall_satisfaction", "sat_access", "sat_result"]
    async with db.read() as conn:
        overall = await stats.scale_counts(conn, c.id, questions)
        by_ward = await stats.scale_counts(conn, c.id, questions, by_ward=True)
        ward_70 = await stats.scale_counts(conn, c.id, ["overall_satisfaction"], wards=[70])
        late = await stats.scale_counts(conn, c.id, ["overall_satisfaction"], since=clock() + timedelta(minutes=35))
        early = await stats.scale_counts(conn, c.id, ["overall_satisfaction"], until=clock() + timedelta(minutes=20))
        none = await stats.scale_counts(conn, c.id, ["overall_satisfaction"], wards=[])
    # the in-progress answer 1 is not counted; the skipped sat_access is not a "dk"
    assert overall == {
        ("overall_satisfaction", None): {5: 1, 4: 2, 3: 1, 2: 1},
        ("sat_access", None): {4: 1, 5: 1, "dk": 1},
        ("sat_result", None): {},
    }
    assert by_ward == {
        ("overall_satisfaction", 70): {5: 1, 4: 1, 2: 1},
        ("overall_satisfaction", 235): {4: 1, 3: 1},
        ("sat_access", 70): {4: 1, "dk": 1},
        ("sat_access", 235): {5: 1},
    }
    assert ward_70 == {("overall_satisfaction", None): {5: 1, 4: 1, 2: 1}}
    assert late == {("overall_satisfaction", None): {3: 1, 4: 1}}
    assert early == {("overall_satisfaction", None): {5: 1}}
    assert none == {("overall_satisfaction", None): {}}
    index = index_from_counts(overall[("overall_satisfaction", None)])
    assert (index.satisfied.k, index.satisfied.n, index.dissatisfied.k) == (3, 5, 1)
    access = index_from_counts(overall[("sat_access", None)])
    assert (access.satisfied.k, access.n_valid, access.dont_know) == (2, 2, 1)


async def test_choice_counts(db: Database, clock: Clock) -> None:
    c = await fill(db, clock)
    async with db.read() as conn:
        issues = await stats.choice_counts(conn, c.id, "top_issues")
        issues_70 = await stats.choice_counts(conn, c.id, "top_issues", wards=[70])
        issues_late = await stats.choice_counts(conn, c.id, "top_issues", since=clock() + timedelta(minutes=25))
        gender = await stats.choice_counts(conn, c.id, "gender")
        wards = await stats.choice_counts(conn, c.id, "ward")
    assert issues == {"waste": 3, "traffic": 1, "flooding": 1, "security": 1}
    assert issues_70 == {"waste": 2, "traffic": 1, "flooding": 1}
    assert issues_late == {"flooding": 1, "security": 1, "waste": 1}
    assert gender == {"female": 2, "male": 1}  # a skipped answer is no choice
    assert wards == {}  # nobody answered a "ward" question in this hand-made data


async def test_comments_newest_first(db: Database, clock: Clock) -> None:
    c = await fill(db, clock)
    async with db.read() as conn:
        count, newest = await stats.comments(conn, c.id, ["comment"], limit=2)
        count_70, only_70 = await stats.comments(conn, c.id, ["comment"], wards=[70])
        count_early, _ = await stats.comments(conn, c.id, ["comment"], until=clock() + timedelta(minutes=45))
        nothing = await stats.comments(conn, c.id, [])
    assert count == 3  # the in-progress comment and the skipped one are not counted
    assert [(m.text, m.ward_code, m.ward_name) for m in newest] == [
        ("Đường hay ngập", 235, "Phường Đống Đa"),
        ("Cần thêm đèn đường", 235, "Phường Đống Đa"),
    ]
    assert newest[0].completed_at == clock() + timedelta(minutes=50)
    assert (count_70, [m.text for m in only_70]) == (1, ["Tốt"])
    assert count_early == 2
    assert nothing == (0, [])


async def test_one_pass_figure_counts_agree_with_the_separate_queries(db: Database, clock: Clock) -> None:
    c = await fill(db, clock)
    scale = ["overall_satisfaction", "sat_access"]
    async with db.read() as conn:
        together = await stats.figure_counts(
            conn, c.id, scale, "overall_satisfaction", ["top_issues", "gender"], ["comment"]
        )
        apart = await stats.scale_counts(conn, c.id, scale)
        by_ward = await stats.scale_counts(conn, c.id, ["overall_satisfaction"], by_ward=True)
        issues = await stats.choice_counts(conn, c.id, "top_issues")
        genders = await stats.choice_counts(conn, c.id, "gender")
        n_comments, _ = await stats.comments(conn, c.id, ["comment"])
        newest = await stats.latest_comments(conn, c.id, ["comment"], None, 3)
        _, three = await stats.comments(conn, c.id, ["comment"], limit=3)
        only_235 = await stats.figure_counts(conn, c.id, scale, "overall_satisfaction", wards=[235])
        mark = await stats.completed_mark(conn, c.id)
    assert together.scale == {q: apart[(q, None)] for q in scale}
    assert together.by_ward == {ward: h for (_, ward), h in by_ward.items()}
    assert together.choices == {"top_issues": issues, "gender": genders}
    assert together.comments == n_comments and newest == three
    assert set(only_235.by_ward) == {235}
    assert mark[0] == 5 and mark[2] is not None


async def test_banded_counts_by_campaign_give_the_same_index_as_the_full_histograms(db: Database, clock: Clock) -> None:
    c = await fill(db, clock)
    async with db.read() as conn:
        banded = await stats.scale_counts_by_campaign(conn, [c.id], ["overall_satisfaction"], by_ward=True)
        full = await stats.scale_counts(conn, c.id, ["overall_satisfaction"], by_ward=True)
    assert {ward for _, ward, _ in banded} == {ward for _, ward in full}
    for (campaign_id, ward, qid), histogram in banded.items():
        assert campaign_id == c.id
        assert index_from_counts(histogram) == index_from_counts(full[(qid, ward)])
