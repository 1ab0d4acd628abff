"""Data-quality flags: computed when a response completes (too fast, straightlining, many from one address),
stored, shown on the dashboard (campaign and oversight pages), exported as `quality_flags`, and left out of
the figures unless the operator includes them (the figures change and say which was used)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.app import Application
from flows import quality as rules
from flows.loader import bundled_survey_path, load_survey
from storage.repo import campaigns, quality, stats
from storage.repo.sql import response
from tests.operators.helpers import add_response
from tests.web.dashboard_support import Client, add_accounts, add_responses, add_user, csrf_of
from tests.web.survey_helpers import PLAN, consented, walk

SURVEY = load_survey(bundled_survey_path())
LIKERT = {"sat_access": 4, "sat_procedures": 4, "sat_staff": 4, "sat_result": 4, "transparency": 4, "environment": 4}


def test_the_rules_flag_too_fast_and_straightlining_and_many_from_one_address() -> None:
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    varied = {**LIKERT, "sat_staff": 2, "age_group": "30_44"}
    slow = rules.CompletedResponse(t0, t0 + timedelta(minutes=5), varied)
    assert rules.assess(SURVEY, slow) == ()
    fast = rules.CompletedResponse(t0, t0 + timedelta(seconds=3 * len(varied) - 1), varied)
    assert rules.assess(SURVEY, fast) == (rules.Flag.TOO_FAST,)
    same = rules.CompletedResponse(t0, t0 + timedelta(minutes=5), {**LIKERT, "age_group": "30_44"})
    assert rules.assess(SURVEY, same) == (rules.Flag.STRAIGHTLINING,)
    four = {k: v for k, v in list(LIKERT.items())[:4]}  # fewer than 5 items on the scale: not straightlining
    assert rules.assess(SURVEY, rules.CompletedResponse(t0, t0 + timedelta(minutes=5), four)) == ()
    crowd = rules.CompletedResponse(t0, t0 + timedelta(minutes=5), varied, same_address=rules.MANY_FROM_ADDRESS)
    assert rules.assess(SURVEY, crowd) == (rules.Flag.MANY_FROM_ADDRESS,)


async def _flags(app: Application) -> list[str | None]:
    async with app.db.read() as conn:
        q = sa.select(response.c.quality_flags).where(response.c.status == "completed").order_by(response.c.id)
        return list((await conn.execute(q)).scalars())


async def test_a_web_response_completed_in_seconds_is_flagged_too_fast_when_it_completes(web_app: Application) -> None:
    citizen, page = await consented(web_app)
    async with citizen:
        page = await walk(citizen, page)
        assert page.question is None
    assert await _flags(web_app) == ["too_fast"]


async def test_straightlining_is_flagged_and_a_careful_response_is_not(web_app: Application) -> None:
    now = datetime.now(UTC)
    async with web_app.db.write() as conn:
        c = await campaigns.get(conn, "hn-2026")
        same = await add_response(
            conn, c.id, 70, {"ward": 70, **LIKERT}, started_at=now - timedelta(hours=1), completed_at=now
        )
        careful = await add_response(
            conn,
            c.id,
            70,
            {"ward": 70, **LIKERT, "sat_result": 5},
            started_at=now - timedelta(hours=1),
            completed_at=now,
        )
        assert await quality.assess(conn, same, SURVEY) == ("straightlining",)
        assert await quality.assess(conn, careful, SURVEY) == ()
        assert await quality.assess(conn, careful, SURVEY) == ()  # again: the same


async def test_ten_completions_from_one_address_within_the_hour_are_flagged(web_app: Application) -> None:
    fast_plan: dict[str, Any] = {**PLAN, "sat_staff": "Hài lòng"}
    for _ in range(rules.MANY_FROM_ADDRESS):
        citizen, page = await consented(web_app)
        async with citizen:
            await walk(citizen, page, plan=fast_plan)
    flags = await _flags(web_app)
    assert len(flags) == rules.MANY_FROM_ADDRESS
    assert all("many_from_address" not in (f or "") for f in flags[:-1])
    assert flags[-1] == "too_fast,many_from_address"


async def _figures(app: Application) -> tuple[int, dict[int | str, int]]:
    async with app.db.read() as conn:
        c = await campaigns.get(conn, "hn-2026")
        counted = await stats.completed_count(conn, c.id)
        histogram = (await stats.scale_counts(conn, c.id, ["overall_satisfaction"]))[("overall_satisfaction", None)]
    return counted, histogram


async def test_flagged_responses_stay_out_of_the_figures_unless_the_operator_includes_them(
    web_app: Application,
) -> None:
    await add_accounts(web_app.db)
    await add_user(web_app.db, "mat", "monitor")
    await add_responses(web_app.db)  # 50 completed: ward 70 35 (28 satisfied), ward 235 12, ward 4 3
    async with web_app.db.write() as conn:  # ward 70's 10 dissatisfied-first... flag 12 of ward 70's responses
        c = await campaigns.get(conn, "hn-2026")
        ids = list(
            (
                await conn.execute(
                    sa.select(response.c.id)
                    .where(response.c.campaign_id == c.id, response.c.ward_code == 70, response.c.status == "completed")
                    .order_by(response.c.id)
                    .limit(12)
                )
            ).scalars()
        )
        await conn.execute(response.update().where(response.c.id.in_(ids[:10])).values(quality_flags="too_fast"))
        await conn.execute(
            response.update()
            .where(response.c.id.in_(ids[10:]))
            .values(quality_flags="straightlining,many_from_address")
        )
        await conn.execute(response.update().where(response.c.quality_flags.is_(None)).values(quality_flags=""))
    left_out, histogram_out = await _figures(web_app)
    assert left_out == 50 - 12 and histogram_out[5] == 28 + 9 + 3 - 12
    assert "many from one address): 12, left out of the indices" in await _digest(web_app, None)
    assert "một địa chỉ): 12, không tính vào chỉ số" in await _digest(web_app, [70], "vi")
    assert "gắn cờ" not in await _digest(web_app, [235], "vi")  # no flagged response in that ward: no line

    async with Client(web_app) as client:
        await client.login("op")
        page = await client.get("/dashboard/campaigns/hn-2026")
        assert page.status == 200
        assert 'data-testid="flagged">12<' in page.text
        assert 'data-flag="too_fast">' in page.text and "Too fast to have read the questions" in page.text
        assert "The figures below <strong>leave out</strong> flagged responses." in page.text
        csrf = csrf_of(page.text)
        reply = await client.post("/dashboard/campaigns/hn-2026/flagged", {"csrf": csrf, "include": "yes"})
        assert reply.status == 303
        page = await client.get("/dashboard/campaigns/hn-2026")
        assert "The figures below <strong>include</strong> flagged responses." in page.text
        included, histogram_in = await _figures(web_app)
        assert included == 50 and histogram_in[5] == 28 + 9 + 3
        assert "many from one address): 12, included in the indices" in await _digest(web_app, None)

        exported = await client.get("/dashboard/campaigns/hn-2026/export.csv?status=completed")
        table = list(csv.DictReader(io.StringIO(exported.body.decode("utf-8-sig"))))
        assert sorted(r["quality_flags"] for r in table if r["quality_flags"]) == [
            *["straightlining,many_from_address"] * 2,
            *["too_fast"] * 10,
        ]

    async with Client(web_app) as monitor:
        await monitor.login("mat")
        page = await monitor.get("/dashboard/oversight/campaigns/hn-2026")
        assert page.status == 200 and 'data-testid="quality"' in page.text and "flagged-toggle" not in page.text
        assert 'data-testid="flagged">12<' in page.text


async def test_the_scheduler_assesses_responses_left_without_flags(web_app: Application) -> None:
    from scheduler.app import _web_quality

    now = datetime.now(UTC)
    async with web_app.db.write() as conn:
        c = await campaigns.get(conn, "hn-2026")
        await add_response(
            conn, c.id, 70, {"ward": 70, **LIKERT}, started_at=now - timedelta(hours=1), completed_at=now
        )
    assert await _flags(web_app) == [None]  # a process stopped between the completion and the assessment
    assert await _web_quality(web_app.db, now) == 1
    assert await _flags(web_app) == ["straightlining"]


async def _digest(app: Application, scope: list[int] | None, language: str = "en") -> str:
    """The digest a group with this scope would receive now, as text (the officials' view: small counts as <10)."""
    from zoneinfo import ZoneInfo

    from reports import digests

    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    found = await digests.preview(app.db, scope, "daily 08:00", language, datetime.now(UTC), tz, 0.2)
    return "\n".join(part for _, messages in found for part in messages)
