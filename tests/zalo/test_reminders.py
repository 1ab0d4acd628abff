"""Reminders to Zalo respondents: the same outbox and policy (quiet hours, at most 2), only within
ZALO_REMINDER_WINDOW_HOURS of their last activity, as plain text that says to type "tiếp tục"."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.app import scheduler_config
from bot.context import AppContext
from bot.settings import Settings
from bot.zalo.sender import ZaloTransport, text_of
from flows import engine
from scheduler.app import SchedulerService
from storage.conversation import ConversationService, GiveConsent, Reply, Start, Who
from storage.db import Database
from storage.outbox import Action, Outgoing
from storage.repo.sql import outbox_message, response
from tests.conftest import Clock, create_live_campaign
from tests.zalo.fake_api import FakeZaloAPI


def context(db: Database, clock: Clock, tmp_path: Path, **extra: Any) -> AppContext:
    cfg = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=db.url,
        secret_key="s",
        secret_file=tmp_path / "secret",
        scheduler_lock_file=tmp_path / "scheduler.lock",
        **extra,
    )
    return AppContext(cfg, db, ConversationService(db, b"s", clock), clock)


async def begin(app: AppContext, user_id: str) -> int:
    """A Zalo respondent who agreed and answered the ward question."""
    who = Who("zalo", user_id, address=user_id)
    await app.service.handle(who, Start("hn-2026"), f"{user_id}-1")
    await app.service.handle(who, GiveConsent(True, "hn-2026"), f"{user_id}-2")
    out = await app.service.handle(who, Reply(engine.Text("hoan kiem")), f"{user_id}-3")
    assert out.response_id is not None
    return out.response_id


async def test_one_reminder_within_the_window_as_plain_text(
    db: Database, clock: Clock, tmp_path: Path, fake: FakeZaloAPI
) -> None:
    await create_live_campaign(db, clock())
    app = context(db, clock, tmp_path)
    rid = await begin(app, "u-lan")
    started = clock()
    transport = ZaloTransport(fake.client(), owns_client=True)
    scheduler = SchedulerService(db, clock, scheduler_config(app.settings), {"zalo": transport})
    try:
        clock.now = started + timedelta(hours=24)
        assert (await scheduler.tick()).reminders == 1
        async with db.read() as conn:
            row = (await conn.execute(sa.select(outbox_message.c.channel, outbox_message.c.expires_at))).one()
        assert row.channel == "zalo"
        assert row.expires_at.replace(tzinfo=started.tzinfo) == started + timedelta(hours=48)  # the window
        await scheduler.senders["zalo"].drain()
        (reminder,) = fake.texts("u-lan")
        assert "“tiếp tục”" in reminder and "<b>" not in reminder and "Khảo sát Hà Nội 2026" in reminder
        clock.now = started + timedelta(hours=72)  # the second reminder falls outside the 48 h window
        assert (await scheduler.tick()).reminders == 0
        async with db.read() as conn:
            assert (await conn.execute(sa.select(response.c.reminders_sent).where(response.c.id == rid))).scalar() == 1
    finally:
        await transport.close()


async def test_no_reminder_once_the_window_has_closed(
    db: Database, clock: Clock, tmp_path: Path, fake: FakeZaloAPI
) -> None:
    await create_live_campaign(db, clock())
    app = context(db, clock, tmp_path, zalo_reminder_window_hours=12)
    await begin(app, "u-lan")
    transport = ZaloTransport(fake.client(), owns_client=True)
    scheduler = SchedulerService(db, clock, scheduler_config(app.settings), {"zalo": transport})
    try:
        clock.advance(hours=24)
        assert (await scheduler.tick()).reminders == 0
        await scheduler.senders["zalo"].drain()
        assert fake.texts("u-lan") == []
    finally:
        await transport.close()


async def test_a_refusal_marks_the_person_unreachable(
    db: Database, clock: Clock, tmp_path: Path, fake: FakeZaloAPI
) -> None:
    from storage.repo.sql import channel_address

    await create_live_campaign(db, clock())
    app = context(db, clock, tmp_path)
    await begin(app, "u-lan")
    fake.blocked.add("u-lan")
    transport = ZaloTransport(fake.client(), owns_client=True)
    scheduler = SchedulerService(db, clock, scheduler_config(app.settings), {"zalo": transport})
    try:
        clock.advance(hours=24)
        assert (await scheduler.tick()).reminders == 1
        await scheduler.senders["zalo"].drain()
        async with db.read() as conn:
            assert (await conn.execute(sa.select(channel_address.c.unreachable))).scalar_one() is True
    finally:
        await transport.close()


def test_intents_become_what_to_type_in_the_labels_language() -> None:
    vi = Outgoing(text="<b>Chào</b> bạn", actions=(Action("resume", "▶ Tiếp tục", response_id=1),))
    assert text_of(vi) == "Chào bạn\n\n👉 Gõ “tiếp tục” để làm tiếp."
    en = Outgoing(text="Hi", actions=(Action("join", "▶ Take part", campaign_code="hn-2026"),))
    assert text_of(en) == "Hi\n\n👉 Type “hn-2026” to take part."
    link = Outgoing(text="Xem", actions=(Action("link", "Trang", url="https://x.vn"),))
    assert text_of(link).endswith("Trang: https://x.vn")


async def test_long_outbox_texts_go_in_parts_under_2000_characters(fake: FakeZaloAPI) -> None:
    transport = ZaloTransport(fake.client(), owns_client=True)
    try:
        text = "\n".join(f"Dòng {i}: " + "x" * 95 for i in range(60))
        await transport.send("g-1", Outgoing(text=text))
    finally:
        await transport.close()
    parts = fake.texts("g-1")
    assert len(parts) == 4 and all(len(p) <= 2000 for p in parts) and "\n".join(parts) == text


async def test_invitations_reach_zalo_people_only_within_the_window(
    db: Database, clock: Clock, tmp_path: Path, fake: FakeZaloAPI
) -> None:
    from flows.loader import bundled_survey_path, load_survey
    from storage.conversation import SetInvitations
    from storage.records import ReminderPolicy
    from storage.repo import campaigns, surveys

    await create_live_campaign(db, clock())
    app = context(db, clock, tmp_path)
    responses = {}
    for user in ("u-recent", "u-old"):
        responses[user] = await begin(app, user)
        await app.service.handle(Who("zalo", user, address=user), SetInvitations(True), f"{user}-invite")
    async with db.write() as conn:
        await conn.execute(
            response.update()
            .where(response.c.id == responses["u-old"])
            .values(last_activity_at=clock() - timedelta(hours=47, minutes=30))
        )
        record, _ = await surveys.publish(conn, load_survey(bundled_survey_path()), clock())
        await campaigns.create(
            conn,
            code="moi-truong",
            survey_id=record.id,
            title="Môi trường",
            wards=[70],
            starts_at=clock() + timedelta(hours=1),
            ends_at=clock() + timedelta(days=10),
            now=clock(),
            reminder_policy=ReminderPolicy(invite=True),
        )
        await campaigns.launch(conn, "moi-truong", clock(), allow_overlap=True)
    clock.advance(hours=1)  # u-old's window closed half an hour ago
    transport = ZaloTransport(fake.client(), owns_client=True)
    scheduler = SchedulerService(db, clock, scheduler_config(app.settings), {"zalo": transport})
    try:
        assert (await scheduler.tick()).invitations == 1
        await scheduler.senders["zalo"].drain()
    finally:
        await transport.close()
    (invitation,) = fake.texts("u-recent")
    assert "Môi trường" in invitation and "“moi-truong”" in invitation
    assert fake.texts("u-old") == []
