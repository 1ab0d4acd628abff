"""Digests end to end on SQLite and PostgreSQL: due by schedule, numbers from SQL, sent once per (chat, period)
even across restarts, delivered to the group as valid HTML with the chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.context import AppContext
from bot.telegram.sender import TelegramTransport
from reports import digests
from storage.db import Database
from storage.repo import chats
from storage.repo.sql import campaign as campaign_table
from tests.conftest import Clock, create_live_campaign
from tests.fakebot import FakeBotAPI, parse_html
from tests.scheduler.conftest import add_completed, make_scheduler, make_sender, outbox_rows

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
GROUP = -1001
FIRE = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # Friday 27/11 08:00 in Hà Nội


async def subscribe(
    db: Database, clock: Clock, chat_id: int = GROUP, scope: list[int] | None = None, **kw: Any
) -> None:
    async with db.write() as conn:
        code = await chats.issue_code(
            conn,
            scope=scope,
            schedule=kw.get("schedule", "daily 08:00"),
            language=kw.get("language", "vi"),
            now=clock(),
        )
        await chats.redeem(conn, code=code.code, chat_id=chat_id, title="UBND", user_id=7, now=clock())


async def seed(db: Database, campaign_id: int, at: datetime) -> None:
    """In ward 70: 24 satisfied and 6 dissatisfied overall; in ward 235: 10 neutral; in ward 4 (outside the
    chat's scope): 50 very dissatisfied."""
    base = {"sat_access": 5, "top_issues": ["waste", "traffic"], "comment": "Cần <b>thêm</b> đèn đường"}
    await add_completed(
        db, campaign_id, ward=70, completed_at=at, count=24, answers={**base, "overall_satisfaction": 4}
    )
    await add_completed(
        db, campaign_id, ward=70, completed_at=at, count=6, answers={**base, "overall_satisfaction": 2, "comment": None}
    )
    await add_completed(db, campaign_id, ward=235, completed_at=at, count=10, answers={"overall_satisfaction": 3})
    await add_completed(db, campaign_id, ward=4, completed_at=at, count=50, answers={"overall_satisfaction": 1})


async def test_daily_digest_is_queued_once_and_delivered(
    app: AppContext, db: Database, clock: Clock, fake: FakeBotAPI, bot: Any
) -> None:
    c: Any = await create_live_campaign(db, clock(), wards=[70, 235, 4])
    await subscribe(db, clock, scope=[70, 235])
    await seed(db, c.id, clock() + timedelta(hours=2))  # Thursday 12:00
    service = make_scheduler(app, TelegramTransport(bot))

    clock.now = FIRE - timedelta(minutes=1)
    assert (await service.tick()).digests == 0  # Thursday 08:00 was before the subscription
    clock.now = FIRE
    report = await service.tick()
    assert report.digests == 1 and report.errors == []
    rows = await outbox_rows(db, "digest")
    prefix = f"digest:{GROUP}:c{c.id}:20261127T0100Z"
    assert [r.dedupe_key for r in rows] == [f"{prefix}:1", f"{prefix}:chart"]
    assert all(r.recipient == str(GROUP) and r.recipient_kind == "group" for r in rows)
    text = rows[0].payload["text"]
    assert "Kỳ báo cáo: 26/11/2026 08:00 – 27/11/2026 08:00" in text
    assert "Phạm vi: Phường Hoàn Kiếm, Phường Đống Đa" in text
    assert "• Hoàn thành trong kỳ: <b>40</b>" in text  # ward 4 is outside the scope
    # overall: 24 of 40 valid answers are 4-5 (60%); 6 of 40 are 1-2 (15%)
    assert "⭐ <b>Hài lòng chung</b>: 60% (45–74%) ⚠ ít phản hồi (n=40)\n" in text
    assert "• trong kỳ: 15% (7–29%) ⚠ ít phản hồi (n=40)" in text
    assert "1. Phường Hoàn Kiếm: 80% (63–90%)" in text  # 24/30; Đống Đa has 10 answers: not ranked
    assert "Đống Đa:" not in text.split("thấp nhất")[1].split("\n\n")[0]
    # 30 of the 40 chose waste and traffic: 75% (60–86%) each, ties in label order
    assert "1. Giao thông, vỉa hè: 75% (60–86%) ⚠ ít phản hồi (n=40)\n2. Thu gom rác thải: 75% (60–86%)" in text
    assert "• Tiếp cận dịch vụ: 100% (89–100%)" in text and "Thủ tục hành chính" not in text  # no answers: left out
    assert "<b>Góp ý mới trong kỳ</b>: 24" in text and "«Cần &lt;b&gt;thêm&lt;/b&gt; đèn đường»" in text

    assert (await service.tick()).digests == 0  # the next tick: already queued
    restarted = make_scheduler(app, TelegramTransport(bot))
    assert (await restarted.tick()).digests == 0  # and after a restart

    await make_sender(app, bot).drain()
    text_message, chart = fake.messages(GROUP)
    parse_html(text_message.text or "")
    assert text_message.plain_text.startswith("📊 Báo cáo khảo sát: Khảo sát Hà Nội 2026")
    assert chart.kind == "photo" and (chart.photo or b"").startswith(b"\x89PNG")
    assert "lũy kế đến 27/11/2026" in (chart.plain_caption or "")

    clock.now = FIRE + timedelta(days=1)
    assert (await service.tick()).digests == 1  # the next day's period
    latest = (await outbox_rows(db, "digest"))[-2]
    assert latest.dedupe_key.endswith("20261128T0100Z:1")
    assert "• Hoàn thành trong kỳ: <b>&lt;10</b>" in latest.payload["text"]  # nothing new: "<10"
    assert "• Lũy kế từ đầu đợt: <b>40</b>" in latest.payload["text"]


async def test_scope_all_ranks_every_ward_and_english(app: AppContext, db: Database, clock: Clock, bot: Any) -> None:
    c: Any = await create_live_campaign(db, clock(), wards=[70, 235, 4])
    await subscribe(db, clock, scope=None, language="en", schedule="weekly fri 08:00")
    await seed(db, c.id, clock() + timedelta(hours=2))
    clock.now = FIRE
    assert await digests.queue_due_digests(db, clock(), TZ, 0.2) == 1
    text = (await outbox_rows(db, "digest"))[0].payload["text"]
    assert "Scope: all wards and communes" in text
    assert "Period: 20/11/2026 08:00 – 27/11/2026 08:00" in text
    assert "• Completed in the period: <b>90</b>" in text
    # ward 4: 0 of 50 satisfied, ranked first; ward 70: 24/30; ward 235 (n = 10) is not ranked
    assert "1. Phường Ba Đình: 0% (0–7%)" in text and "2. Phường Hoàn Kiếm: 80% (63–90%)" in text
    # 56 of 90 dissatisfied overall: 62% is over the 20% alert threshold
    assert "• this period: 62% (" in text and "🚨 <b>at or above the 20% alert threshold</b>" in text


async def test_no_digest_without_a_campaign_in_scope_or_when_paused(
    app: AppContext, db: Database, clock: Clock
) -> None:
    await create_live_campaign(db, clock(), wards=[70])
    await subscribe(db, clock, chat_id=-2, scope=[235])  # no campaign there
    await subscribe(db, clock, chat_id=-3, scope=[70])
    async with db.write() as conn:
        await chats.set_active(conn, -3, False)  # /unsubscribe
    clock.now = FIRE
    assert await digests.queue_due_digests(db, clock(), TZ, 0.2) == 0
    assert await outbox_rows(db) == []


async def test_the_demos_simulated_campaign_is_never_sent_on_a_schedule(
    app: AppContext, db: Database, clock: Clock
) -> None:
    await create_live_campaign(db, clock(), wards=[70])
    async with db.write() as conn:
        await conn.execute(campaign_table.update().values(simulated=True))
    await subscribe(db, clock, chat_id=-3, scope=[70])
    clock.now = FIRE
    assert await digests.queue_due_digests(db, clock(), TZ, 0.2) == 0
    found = await digests.preview(db, [70], "daily 08:00", "vi", clock(), TZ, 0.2)  # a preview shows it, marked
    assert len(found) == 1 and "DỮ LIỆU MÔ PHỎNG" in found[0][1][0]


async def test_one_pass_histograms_match_the_per_window_queries(app: AppContext, db: Database, clock: Clock) -> None:
    from storage.repo import stats

    c: Any = await create_live_campaign(db, clock(), wards=[70, 235])
    for days, ward, value in [(0, 70, 5), (1, 70, "dk"), (2, 235, 1), (3, 70, 4), (8, 235, 2), (9, 70, "dk")]:
        at = clock() + timedelta(days=days, hours=1)
        await add_completed(
            db,
            c.id,
            ward=ward,
            completed_at=at,
            count=days + 1,
            answers={"overall_satisfaction": value, "sat_access": 3},
        )
    qids = ["overall_satisfaction", "sat_access", "environment"]
    start = clock() + timedelta(days=2)
    windows = [
        (start, start + timedelta(days=7)),
        (start - timedelta(days=7), start),
        (None, start + timedelta(days=7)),
    ]
    async with db.read() as conn:
        for wards in (None, [70]):
            together = await stats.scale_counts_windows(conn, c.id, qids, windows, wards)
            for (since, until), histograms in zip(windows, together, strict=True):
                alone = await stats.scale_counts(conn, c.id, qids, wards, since, until)
                assert histograms == {q: alone[(q, None)] for q in qids}
        period, _, total = await stats.scale_counts_windows(conn, c.id, qids, windows)
    assert period["overall_satisfaction"] == {1: 3, 4: 4, 2: 9}  # days 2, 3 and 8
    assert total["overall_satisfaction"] == {5: 1, "dk": 2, 1: 3, 4: 4, 2: 9}  # day 9 is after the end
    assert period["environment"] == {}
