"""A lead department's group digest, on SQLite and PostgreSQL: the dimensions it follows across all wards, each
with its method, lead department, score and interval, its sub-dimensions, and the wards that need attention
(only those the intervals separate from the rest); nothing for campaigns that do not measure them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.context import AppContext
from reports import digests
from reports import format as fmt
from reports.stats import estimate_of_mean, mean_of
from storage.db import Database
from storage.repo import chats, departments
from tests.conftest import Clock, create_live_campaign
from tests.papi.support import papi_campaign
from tests.scheduler.conftest import add_completed, make_scheduler, outbox_rows

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
GROUP = -2002
FIRE = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # Friday 27/11 08:00 in Hà Nội

BEST = {"used_service": "in_person", "d5_clear": 5, "d5_staff": 5, "d5_on_time": "yes", "d5_visits": "once"}
GOOD = {"used_service": "in_person", "d5_clear": 4, "d5_staff": 4, "d5_on_time": "yes", "d5_visits": "twice"}
FAIR = {"used_service": "online", "d5_clear": 3, "d5_staff": 3, "d5_on_time": "no", "d5_visits": "twice"}
POOR = {"used_service": "both", "d5_clear": 1, "d5_staff": 2, "d5_on_time": "no", "d5_visits": "three_plus"}
BAD = {"used_service": "both", "d5_clear": 2, "d5_staff": 2, "d5_on_time": "no", "d5_visits": "three_plus"}
HEALTH = {"d6_health": 4, "d6_roads": 4, "d6_safety": "dk"}
# item means: BEST 1 -> score 10; GOOD (.75+.75+1+.5)/4 = .75 -> 7.75; FAIR (.5+.5+0+.5)/4 = .375 -> 4.375;
# POOR (0+.25+0+0)/4 = .0625 -> 1.5625; BAD .125 -> 2.125; HEALTH (.75+.75)/2 -> 7.75


async def subscribe(db: Database, clock: Clock, dimensions: list[int] | None, language: str = "vi") -> None:
    async with db.write() as conn:
        code = await chats.issue_code(
            conn, scope=None, schedule="daily 08:00", language=language, now=clock(), dimensions=dimensions
        )
        await chats.redeem(conn, code=code.code, chat_id=GROUP, title="Sở Nội vụ", user_id=7, now=clock())


async def seed(db: Database, campaign_id: int, at: datetime) -> None:
    for ward, parts in ((70, (BEST, GOOD)), (235, (GOOD, FAIR)), (4, (POOR, BAD))):
        for part in parts:
            await add_completed(db, campaign_id, ward=ward, completed_at=at, count=20, answers={**part, **HEALTH})
    await add_completed(db, campaign_id, ward=8, completed_at=at, count=10, answers={"used_service": "no", **HEALTH})


async def lead(db: Database, clock: Clock) -> None:
    async with db.write() as conn:
        await departments.add(conn, "SNV", "Sở Nội vụ", "Department of Home Affairs", clock())
        await departments.assign(conn, "SNV", [5], clock())


async def test_a_department_group_gets_its_dimensions_across_all_wards(
    app: AppContext, db: Database, clock: Clock
) -> None:
    c: Any = await papi_campaign(db, clock(), wards=[70, 235, 4, 8])
    await lead(db, clock)
    await subscribe(db, clock, [5, 6])
    await seed(db, c.id, clock() + timedelta(hours=2))
    service = make_scheduler(app, object())
    clock.now = FIRE
    report = await service.tick()
    assert report.digests == 1 and report.errors == []
    rows = await outbox_rows(db, "digest")
    assert [r.dedupe_key for r in rows] == [f"digest:{GROUP}:c{c.id}:20261127T0100Z:1"]  # text only, no chart
    text = rows[0].payload["text"]
    assert text.startswith("📊 <b>Báo cáo theo lĩnh vực PAPI: Khảo sát PAPI papi-2026</b>\n")
    assert "Lĩnh vực: 5. Thủ tục hành chính công, 6. Cung ứng dịch vụ công" in text
    assert "Phạm vi: tất cả phường, xã" in text
    assert "• Hoàn thành trong kỳ: <b>130</b>" in text

    d5 = [10.0] * 20 + [7.75] * 40 + [4.375] * 20 + [1.5625] * 20 + [2.125] * 20  # ward 8 used no service
    assert sum(d5) / len(d5) == pytest.approx(5.59375)
    whole = fmt.estimate(estimate_of_mean(mean_of(d5)))
    assert whole.startswith("5,59 (")
    section = text.split("<b>5. Thủ tục hành chính công</b>")[1].split("<b>6. ")[0]
    assert (
        "Đơn vị chủ trì: Sở Nội vụ\n<i>điểm 1–10 (trung bình theo người trả lời), khoảng tin cậy t 95%</i>" in section
    )
    assert f"• lũy kế: {whole}" in section
    assert "  – 5.3 Kết quả đúng hẹn, ít phải đi lại: " in section
    # Ba Đình (ward 4): 1.84 with an interval far below the whole city's; Đống Đa (235) is below the mean but its
    # interval overlaps: not named
    ward4 = fmt.estimate(estimate_of_mean(mean_of([1.5625] * 20 + [2.125] * 20)))
    assert ward4.startswith("1,84 (")
    assert f"1. Phường Ba Đình: {ward4}" in section
    assert "Đống Đa" not in section and "2. " not in section.split("cần chú ý")[1]

    d6 = text.split("<b>6. Cung ứng dịch vụ công</b>")[1]
    assert "Đơn vị chủ trì: chưa phân công" in d6
    assert "• lũy kế: 7,75 (7,75–7,75)" in d6  # everyone 7.75: no spread
    assert (
        "Chưa có phường, xã nào thấp hơn rõ rệt so với toàn phạm vi (3 phường, xã đủ 30 để so sánh)." in d6
    )  # ward 8 has 10
    assert "Điểm 1–10: mỗi người trả lời có một điểm" in text
    assert "Góp ý" not in text  # no comment in a department's digest


async def test_a_department_group_gets_nothing_from_a_campaign_without_its_dimensions(
    app: AppContext, db: Database, clock: Clock
) -> None:
    await create_live_campaign(db, clock(), wards=[70, 235])  # the Hanoi survey: no PAPI dimension
    await subscribe(db, clock, [7], language="en")
    clock.now = FIRE
    assert (await make_scheduler(app, object()).tick()).digests == 0
    with pytest.raises(digests.DigestUnavailable) as info:
        await digests.queue_digest_now(db, GROUP, clock(), TZ, 0.2, request_id="9")
    assert info.value.reason == "no_campaign"


async def test_on_demand_in_english_names_what_the_questionnaire_does_not_measure(
    app: AppContext, db: Database, clock: Clock
) -> None:
    c: Any = await papi_campaign(db, clock(), wards=[70, 235, 4, 8])
    await seed(db, c.id, clock() + timedelta(hours=2))
    await subscribe(db, clock, [5], language="en")
    clock.now = FIRE + timedelta(hours=3)
    assert await digests.queue_digest_now(db, GROUP, clock(), TZ, 0.2, request_id="1") == 1
    text = (await outbox_rows(db, "digest"))[0].payload["text"]
    assert "📊 <b>PAPI dimension digest:" in text and "This period so far" in text
    assert "Lead department: not assigned yet" in text
    assert "score 1–10 (mean over respondents), 95% t interval" in text
    assert "1. Phường Ba Đình: 1.84 (" in text
