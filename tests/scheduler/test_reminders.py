"""Reminders, invitations and campaign close, on SQLite and PostgreSQL, with the controllable clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot.context import AppContext
from bot.telegram.callbacks import ResumeCb
from bot.telegram.sender import TelegramTransport
from flows.loader import bundled_survey_path, load_survey
from scheduler import reminders
from storage.db import Database
from storage.records import ReminderPolicy
from storage.repo import campaigns, surveys
from storage.repo.sql import campaign, channel_address, respondent, response
from tests.conftest import Clock, create_live_campaign
from tests.fakebot import FakeBotAPI
from tests.scheduler.conftest import make_scheduler, make_sender, outbox_rows, set_activity, start_response

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


async def due_now(app: AppContext) -> int:
    return await reminders.queue_reminders(app.db, app.clock(), TZ)


async def test_first_after_24h_second_after_72h_then_no_more(app: AppContext, db: Database, clock: Clock) -> None:
    c: Any = await create_live_campaign(db, clock())
    rid = await start_response(app.service, 111, answers=3)
    start = clock()
    clock.now = start + timedelta(hours=23, minutes=59)
    assert await due_now(app) == 0
    clock.now = start + timedelta(hours=24)
    assert await due_now(app) == 1
    assert await due_now(app) == 0  # the next tick finds nothing new
    (first,) = await outbox_rows(db, "reminder")
    assert first.recipient == "111" and first.dedupe_key == f"reminder:c{c.id}:r{rid}:1"
    assert first.expires_at == c.ends_at  # never sent after the campaign ends
    assert first.payload["quiet_hours"] == {"start": "21:00", "end": "07:00", "tz": "Asia/Ho_Chi_Minh"}
    assert "đã xong 17%" in first.payload["text"] and "làm tiếp từ câu 4" in first.payload["text"]
    assert first.payload["actions"] == [{"kind": "resume", "label": "▶ Tiếp tục", "response_id": rid}]

    clock.now = start + timedelta(hours=71)
    assert await due_now(app) == 0
    clock.now = start + timedelta(hours=72)
    assert await due_now(app) == 1
    clock.now = start + timedelta(days=20)
    assert await due_now(app) == 0  # max_count (2) reached
    async with db.read() as conn:
        assert (await conn.execute(sa.select(response.c.reminders_sent))).scalar_one() == 2
    assert [r.dedupe_key.rsplit(":", 1)[1] for r in await outbox_rows(db, "reminder")] == ["1", "2"]


async def test_quiet_hours_hold_reminders_until_morning(app: AppContext, db: Database, clock: Clock) -> None:
    await create_live_campaign(db, clock())
    rid = await start_response(app.service, 111, answers=1)
    evening = clock().replace(hour=15, minute=30)  # 22:30 in Hà Nội
    await set_activity(db, rid, evening)
    clock.now = evening + timedelta(hours=24)
    assert await due_now(app) == 0  # due at 22:30: quiet
    clock.now = evening + timedelta(hours=32, minutes=29)  # 06:59
    assert await due_now(app) == 0
    clock.now = evening + timedelta(hours=32, minutes=30)  # 07:00
    assert await due_now(app) == 1


async def test_new_activity_restarts_the_wait(app: AppContext, db: Database, clock: Clock) -> None:
    await create_live_campaign(db, clock())
    rid = await start_response(app.service, 111, answers=1)
    start = clock()
    clock.now = start + timedelta(hours=24)
    assert await due_now(app) == 1
    answered = start + timedelta(hours=30)
    await set_activity(db, rid, answered)  # the person came back and answered
    clock.now = start + timedelta(hours=72)
    assert await due_now(app) == 0
    clock.now = answered + timedelta(hours=72)
    assert await due_now(app) == 1


async def test_nobody_who_should_not_be_reminded_is(app: AppContext, db: Database, clock: Clock) -> None:
    await create_live_campaign(db, clock())
    for chat in (111, 222, 333, 444, 555):
        await start_response(app.service, chat, answers=1)
    async with db.write() as conn:
        keyed = {
            row.address: row.respondent_id
            for row in (await conn.execute(sa.select(channel_address.c.address, channel_address.c.respondent_id)))
        }
        await conn.execute(respondent.update().where(respondent.c.id == keyed["222"]).values(opted_out=True))
        await conn.execute(channel_address.update().where(channel_address.c.address == "333").values(unreachable=True))
        await conn.execute(channel_address.delete().where(channel_address.c.address == "444"))
        await conn.execute(response.update().where(response.c.respondent_id == keyed["555"]).values(status="completed"))
    clock.advance(hours=25)
    assert await due_now(app) == 1
    assert [r.recipient for r in await outbox_rows(db, "reminder")] == ["111"]


async def test_english_and_not_yet_started(app: AppContext, db: Database, clock: Clock) -> None:
    await create_live_campaign(db, clock())
    await start_response(app.service, 111, language="en", answers=2)
    await start_response(app.service, 222, answers=0)
    clock.advance(hours=24)
    assert await due_now(app) == 2
    english, fresh = await outbox_rows(db, "reminder")
    assert (
        "part-way through the survey <b>Khảo sát Hà Nội 2026</b>: 11% done" in english.payload["text"]
    )
    assert english.payload["actions"][0]["label"] == "▶ Continue"
    assert "chưa trả lời câu nào" in fresh.payload["text"]


async def test_reminder_is_delivered_and_obsolete_ones_are_not(
    app: AppContext, db: Database, clock: Clock, fake: FakeBotAPI, bot: Any
) -> None:
    await create_live_campaign(db, clock())
    rid = await start_response(app.service, 111, answers=3)
    other = await start_response(app.service, 222, answers=3)
    clock.advance(hours=24)
    assert await due_now(app) == 2
    await set_activity(db, other, clock())  # 222 answers before the reminder goes: it is not sent
    stats = await make_sender(app, bot).drain()
    assert (stats.sent, stats.cancelled) == (1, 1)
    reminder = fake.last_message(111)
    assert reminder.plain_text.startswith(
        "👋 Chào bạn! Bạn đang trả lời dở khảo sát Khảo sát Hà Nội 2026: đã xong 17%"
    )
    assert fake.buttons(reminder) == [("▶ Tiếp tục", ResumeCb(r=rid).pack())]
    assert fake.messages(222) == []


async def test_campaign_closes_at_its_end_and_nothing_is_sent_after(
    app: AppContext, db: Database, clock: Clock, bot: Any
) -> None:
    c: Any = await create_live_campaign(db, clock(), days=2)
    await start_response(app.service, 111, answers=1)
    clock.advance(hours=24)
    service = make_scheduler(app, TelegramTransport(bot))
    report = await service.tick()
    assert report.reminders == 1 and report.closed == [] and report.errors == []
    clock.now = c.ends_at
    report = await service.tick()
    assert report.closed == ["hn-2026"]
    async with db.read() as conn:
        assert (await conn.execute(sa.select(campaign.c.status))).scalar_one() == "closed"
        assert (await conn.execute(sa.select(sa.func.count()).select_from(channel_address))).scalar_one() == 0
    assert await outbox_rows(db, "reminder") == []  # queued reminders hold chat ids: gone with the campaign
    clock.advance(days=3)
    assert (await service.tick()).reminders == 0


async def test_invitations_go_once_when_a_campaign_opens(app: AppContext, db: Database, clock: Clock) -> None:
    now = clock()
    async with db.write() as conn:
        for n, (invite, opted_out) in enumerate([(True, False), (True, True), (False, False)], start=1):
            pid = (
                await conn.execute(
                    respondent.insert()
                    .values(key=f"p{n}", language="vi", opted_out=opted_out, invitations=invite, created_at=now)
                    .returning(respondent.c.id)
                )
            ).scalar_one()
            await conn.execute(
                channel_address.insert().values(
                    respondent_id=pid, channel="telegram", address=str(900 + n), unreachable=False, updated_at=now
                )
            )
        record, _ = await surveys.publish(conn, load_survey(bundled_survey_path()), now)
        await campaigns.create(
            conn,
            code="moi-truong",
            survey_id=record.id,
            title="Môi trường <2026>",
            wards=[70],
            starts_at=now + timedelta(hours=1),
            ends_at=now + timedelta(days=10),
            now=now,
            reminder_policy=ReminderPolicy(invite=True),
        )
        await campaigns.launch(conn, "moi-truong", now)
    assert await reminders.queue_invitations(db, clock(), TZ) == 0  # not open yet
    clock.advance(hours=1)
    assert await reminders.queue_invitations(db, clock(), TZ) == 1
    assert await reminders.queue_invitations(db, clock(), TZ) == 0  # once only
    (invitation,) = await outbox_rows(db, "invitation")
    assert invitation.recipient == "901"
    assert "Đợt khảo sát <b>Môi trường &lt;2026&gt;</b> vừa mở" in invitation.payload["text"]
    assert invitation.payload["actions"] == [{"kind": "join", "label": "▶ Tham gia", "campaign_code": "moi-truong"}]


async def test_no_invitations_unless_the_policy_says_so(app: AppContext, db: Database, clock: Clock) -> None:
    async with db.write() as conn:
        pid = (
            await conn.execute(
                respondent.insert()
                .values(key="p", language="en", opted_out=False, invitations=True, created_at=clock())
                .returning(respondent.c.id)
            )
        ).scalar_one()
        await conn.execute(
            channel_address.insert().values(
                respondent_id=pid, channel="telegram", address="901", unreachable=False, updated_at=clock()
            )
        )
    await create_live_campaign(db, clock())
    assert await reminders.queue_invitations(db, clock(), TZ) == 0
    async with db.read() as conn:
        assert (await conn.execute(sa.select(campaign.c.invited_at))).scalar_one() == clock()


async def test_the_tick_forgets_update_ids_older_than_the_retention_in_batches(
    app: AppContext, db: Database, clock: Clock, bot: Any
) -> None:
    from scheduler import app as scheduler_app
    from storage.repo.sql import processed_update

    now = clock()
    async with db.write() as conn:
        await conn.execute(
            processed_update.insert(),
            [{"channel": "telegram", "update_id": str(n), "processed_at": now - timedelta(days=8)} for n in range(25)]
            + [{"channel": "zalo", "update_id": "new", "processed_at": now - timedelta(days=6)}],
        )
    assert await scheduler_app._prune_updates(db, now - timedelta(days=7), batch=10) == 25  # three batches
    async with db.read() as conn:
        left = (await conn.execute(sa.select(processed_update.c.update_id))).scalars().all()
    assert left == ["new"]  # within the retention: a redelivery of it still changes nothing
    clock.advance(days=2)
    report = await make_scheduler(app, TelegramTransport(bot)).tick()
    assert report.pruned == 1 and report.errors == []


async def test_the_tick_forgets_chat_states_untouched_longer_than_the_retention(
    app: AppContext, db: Database, clock: Clock, bot: Any
) -> None:
    from scheduler import app as scheduler_app
    from storage.repo import chat_state as repo
    from storage.repo.sql import chat_state

    now = clock()
    async with db.write() as conn:
        for n in range(12):
            await repo.put(conn, "zalo", f"old-{n}", {"confirm": "restart"}, now - timedelta(days=8))
        await repo.replied(conn, "zalo", "new", "m1", now - timedelta(days=6))
    assert await scheduler_app._prune_updates(db, now - timedelta(days=7), batch=5) == 12  # three batches
    async with db.read() as conn:
        assert (await conn.execute(sa.select(chat_state.c.chat_id))).scalars().all() == ["new"]
        assert (await repo.get(conn, "zalo", "new")).replied_message_id == "m1"
    clock.advance(days=2)
    report = await make_scheduler(app, TelegramTransport(bot)).tick()
    assert report.pruned == 1 and report.errors == []


async def test_the_digest_counts_the_reminders_sent_in_its_period_and_scope(
    app: AppContext, db: Database, clock: Clock, bot: Any
) -> None:
    from storage.repo import reminders as repo

    c: Any = await create_live_campaign(db, clock(), wards=[70, 235])
    in_70 = await start_response(app.service, 111, answers=1, ward=70)
    in_235 = await start_response(app.service, 222, answers=1, ward=235)
    clock.advance(hours=24)
    service = make_scheduler(app, TelegramTransport(bot))
    assert (await service.tick()).reminders == 2
    await service.senders["telegram"].drain()
    window = (clock() - timedelta(hours=1), clock() + timedelta(hours=1))
    async with db.read() as conn:
        assert await repo.sent_count(conn, c.id, None, *window) == 2
        assert await repo.sent_count(conn, c.id, [70], *window) == 1
        assert await repo.sent_count(conn, c.id, [70], clock() + timedelta(hours=1), clock() + timedelta(hours=2)) == 0
    assert in_70 != in_235
