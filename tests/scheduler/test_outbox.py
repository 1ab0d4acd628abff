"""The outbox and its paced sender, against the fake Bot API over real HTTP: statuses, retries, 429/403/5xx,
per-chat order, expiry, quiet hours, recovery after a crash, and the limits."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.context import AppContext
from bot.telegram.sender import TelegramTransport
from scheduler.outbox import OutboxSender, quiet_hours_end
from scheduler.pacing import Limits
from storage import migrate
from storage.db import Database
from storage.outbox import Action, Outgoing, SendError
from storage.repo import outbox
from storage.repo.outbox import NewMessage
from storage.repo.sql import channel_address, official_chat
from tests.conftest import Clock, create_live_campaign
from tests.fakebot import FakeBotAPI
from tests.scheduler.conftest import address_of, make_sender, outbox_rows, start_response

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
# Tests bound by real-time pacing (1 message per second per chat) run on SQLite only: the database adds nothing.
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def msg(recipient: int | str, key: str, text: str = "Xin chào", **extra: Any) -> NewMessage:
    kind = extra.pop("kind", "notice")
    group = int(recipient) < 0
    return NewMessage(
        recipient=str(recipient),
        kind=kind,
        payload=Outgoing(text=text).to_payload(),
        dedupe_key=key,
        recipient_kind="group" if group else "private",
        **extra,
    )


async def queue(db: Database, clock: Clock, *messages: NewMessage) -> int:
    async with db.write() as conn:
        return await outbox.enqueue_many(conn, list(messages), clock())


async def statuses(db: Database) -> dict[str, str]:
    return {r.dedupe_key: r.status for r in await outbox_rows(db)}


async def test_queue_is_idempotent_and_payload_round_trips(db: Database, clock: Clock) -> None:
    message = Outgoing(
        text="<b>Đậm</b> & nhạt",
        actions=(Action("resume", "▶ Tiếp tục", response_id=1), Action("link", "Web", url="https://example.org")),
    )
    async with db.write() as conn:
        first = await outbox.enqueue(conn, NewMessage("111", "reminder", message.to_payload(x=1), "k1"), clock())
        again = await outbox.enqueue(conn, NewMessage("111", "reminder", {"text": "other"}, "k1"), clock())
        many = await outbox.enqueue_many(conn, [msg(1, "k1"), msg(2, "k2"), msg(2, "k2"), msg(3, "k3")], clock())
    assert (first, again, many) == (True, False, 2)
    rows = await outbox_rows(db)
    assert [r.dedupe_key for r in rows] == ["k1", "k2", "k3"]
    assert rows[0].payload["x"] == 1 and Outgoing.from_payload(rows[0].payload) == message
    photo = Outgoing(photo=PNG, caption="Biểu đồ")
    assert Outgoing.from_payload(photo.to_payload()) == photo
    with pytest.raises(ValueError, match="either a text or a photo"):
        Outgoing()
    with pytest.raises(ValueError, match="a 'resume' action needs its target"):
        Action("resume", "▶")
    with pytest.raises(ValueError, match="unknown outbox message kind 'spam'"):
        async with db.write() as conn:
            await outbox.enqueue(conn, NewMessage("1", "spam", {}, "k9"), clock())


async def test_sends_text_buttons_and_photo(
    app: AppContext, db: Database, clock: Clock, fake: FakeBotAPI, bot: Any
) -> None:
    text = Outgoing(
        text="<b>Nhắc</b> bạn",
        actions=(Action("resume", "▶ Tiếp tục", response_id=42), Action("join", "▶ Tham gia", campaign_code="hn")),
    )
    photo = Outgoing(photo=PNG, caption="<i>Biểu đồ</i>")
    async with db.write() as conn:
        await outbox.enqueue(conn, NewMessage("111", "reminder", text.to_payload(), "a"), clock())
        await outbox.enqueue(
            conn, NewMessage("-100", "digest", photo.to_payload(), "b", recipient_kind="group"), clock()
        )
    stats = await make_sender(app, bot).drain()
    assert stats.sent == 2
    sent = fake.last_message(111)
    assert sent.plain_text == "Nhắc bạn" and fake.buttons(sent) == [("▶ Tiếp tục", "r:42"), ("▶ Tham gia", "k:hn")]
    chart = fake.last_message(-100)
    assert chart.kind == "photo" and chart.photo == PNG and chart.plain_caption == "Biểu đồ"
    rows = await outbox_rows(db)
    assert [(r.status, r.attempts, r.sent_at) for r in rows] == [("sent", 1, clock())] * 2


@sqlite_only
async def test_messages_to_one_chat_keep_their_order(
    app: AppContext, db: Database, clock: Clock, fake: FakeBotAPI, bot: Any
) -> None:
    await queue(db, clock, *[msg(111, f"m{i}", f"tin {i}") for i in range(3)], msg(222, "other"))
    await make_sender(app, bot).drain()
    assert [m.plain_text for m in fake.messages(111)] == ["tin 0", "tin 1", "tin 2"]
    times = fake.send_times(111)
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))  # 1 per second per chat
    assert fake.rate_violations() == []


async def test_403_marks_the_person_unreachable_and_cancels_the_rest(
    app: AppContext, db: Database, clock: Clock, fake: FakeBotAPI, bot: Any
) -> None:
    await create_live_campaign(db, clock())
    await start_response(app.service, 111)
    fake.block(111)
    await queue(db, clock, msg(111, "r1", kind="reminder"), msg(111, "r2", kind="reminder"), msg(222, "ok"))
    stats = await make_sender(app, bot).drain()
    assert (stats.sent, stats.unreachable, stats.cancelled) == (1, 1, 1)
    assert await statuses(db) == {"r1": "unreachable", "r2": "cancelled", "ok": "sent"}
    assert (await address_of(db, 111)).unreachable is True
    async with db.read() as conn:
        last_error = (await outbox.by_key(conn, "r1")).last_error  # type: ignore[union-attr]
    assert last_error == "Forbidden: bot was blocked by the user"


async def test_403_from_a_group_pauses_its_digests(
    app: AppContext, db: Database, clock: Clock, fake: FakeBotAPI, bot: Any
) -> None:
    async with db.write() as conn:
        await conn.execute(
            official_chat.insert().values(
                address="-100",
                title="UBND",
                scope=None,
                schedule="daily 08:00",
                language="vi",
                active=True,
                subscribed_at=clock(),
            )
        )
    fake.block(-100)
    await queue(db, clock, msg(-100, "d1", kind="digest"))
    await make_sender(app, bot).drain()
    async with db.read() as conn:
        assert (await conn.execute(sa.select(official_chat.c.active))).scalar_one() is False


@sqlite_only
async def test_5xx_is_retried_with_backoff_then_failed(
    app: AppContext, db: Database, clock: Clock, fake: FakeBotAPI, bot: Any
) -> None:
    await queue(db, clock, msg(111, "x"), msg(111, "y"))
    fake.fail_next("sendMessage", 500, chat_id=111)
    sender = make_sender(app, bot)
    stats = await sender.drain()
    assert (stats.sent, stats.retried) == (0, 1)
    async with db.read() as conn:
        x, y = await outbox.by_key(conn, "x"), await outbox.by_key(conn, "y")
    assert x is not None and y is not None
    assert (x.status, x.attempts, x.last_error) == ("pending", 1, "Internal Server Error")
    assert x.next_attempt_at == clock() + timedelta(seconds=5)
    assert y.next_attempt_at == x.next_attempt_at  # the chat's later message waits too, to keep the order
    clock.advance(seconds=5)
    fake.fail_next("sendMessage", 502, chat_id=111)
    await sender.drain()
    async with db.read() as conn:
        x = await outbox.by_key(conn, "x")
    assert x is not None and (x.attempts, x.next_attempt_at) == (2, clock() + timedelta(seconds=10))
    clock.advance(seconds=10)
    await sender.drain()
    assert await statuses(db) == {"x": "sent", "y": "sent"}
    assert [m.plain_text for m in fake.messages(111)] == ["Xin chào", "Xin chào"]

    # at most SEND_MAX_ATTEMPTS tries, then failed
    await queue(db, clock, msg(333, "z"))
    fake.fail_next("sendMessage", 500, count=10, chat_id=333)
    for _ in range(app.settings.send_max_attempts):
        await make_sender(app, bot).drain()  # a new sender each time: no pacing wait between the tries
        clock.advance(hours=2)
    async with db.read() as conn:
        z = await outbox.by_key(conn, "z")
    assert z is not None and (z.status, z.attempts) == ("failed", app.settings.send_max_attempts)


async def test_bad_request_fails_at_once(
    app: AppContext, db: Database, clock: Clock, fake: FakeBotAPI, bot: Any
) -> None:
    bad = NewMessage("111", "notice", {"text": "<b>không đóng thẻ", "parse_mode": "HTML"}, "bad")
    await queue(db, clock, bad, msg(404404, "gone"))
    fake.fail_next("sendMessage", 400, description="Bad Request: chat not found", chat_id=404404)
    await make_sender(app, bot).drain()
    async with db.read() as conn:
        row = await outbox.by_key(conn, "bad")
    assert row is not None and row.status == "failed" and "can't parse entities" in (row.last_error or "")
    assert (await statuses(db))["gone"] == "unreachable"


@sqlite_only
async def test_429_waits_retry_after(app: AppContext, db: Database, clock: Clock, fake: FakeBotAPI, bot: Any) -> None:
    await queue(db, clock, msg(111, "a"), msg(222, "b"))
    fake.fail_next("sendMessage", 429, retry_after=1, chat_id=111)
    stats = await make_sender(app, bot, max_in_flight=1).drain()  # one at a time: "b" starts after the 429
    assert (stats.sent, stats.rate_limited) == (2, 1)
    refused = next(c.time for c in fake.calls_of("sendMessage") if c.params["chat_id"] == 111)
    # a private chat's 429 may be the global limit: nothing at all is sent for retry_after seconds
    assert min(fake.send_times()) - refused >= 1.0
    async with db.read() as conn:
        a = await outbox.by_key(conn, "a")
    assert a is not None and a.status == "sent" and a.attempts == 2


async def test_migrated_group_follows_its_new_id(
    app: AppContext, db: Database, clock: Clock, fake: FakeBotAPI, bot: Any
) -> None:
    async with db.write() as conn:
        await conn.execute(
            official_chat.insert().values(
                address="-100",
                title="UBND",
                scope=None,
                schedule="daily 08:00",
                language="vi",
                active=True,
                subscribed_at=clock(),
            )
        )
    await queue(db, clock, msg(-100, "d1", kind="digest"))
    fake.fail_next("sendMessage", 400, chat_id=-100, migrate_to_chat_id=-1001234567890)
    await make_sender(app, bot).drain()
    assert fake.last_message(-1001234567890).plain_text == "Xin chào"
    async with db.read() as conn:
        assert (await conn.execute(sa.select(official_chat.c.address))).scalar_one() == "-1001234567890"


async def test_expired_and_quiet_hours(app: AppContext, db: Database, clock: Clock, fake: FakeBotAPI, bot: Any) -> None:
    clock.now = clock.now.replace(hour=15)  # 22:00 in Hà Nội
    quiet = {"start": "21:00", "end": "07:00", "tz": "Asia/Ho_Chi_Minh"}
    await queue(
        db,
        clock,
        msg(111, "old", expires_at=clock() - timedelta(seconds=1)),
        NewMessage("222", "reminder", Outgoing(text="nhắc").to_payload(quiet_hours=quiet), "night"),
    )
    stats = await make_sender(app, bot).drain()
    assert (stats.sent, stats.cancelled, stats.deferred) == (0, 1, 1)
    async with db.read() as conn:
        night = await outbox.by_key(conn, "night")
    assert night is not None and night.status == "pending" and night.attempts == 0
    assert night.next_attempt_at == clock().replace(hour=0) + timedelta(days=1)  # 07:00 in Hà Nội
    clock.now = night.next_attempt_at
    await make_sender(app, bot).drain()
    assert fake.last_message(222).plain_text == "nhắc"


def test_quiet_hours_end() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    at = lambda h, m=0: datetime(2026, 11, 26, h, m, tzinfo=tz)  # noqa: E731
    assert quiet_hours_end(at(20, 59), "21:00", "07:00", tz) is None
    assert quiet_hours_end(at(21), "21:00", "07:00", tz) == at(7) + timedelta(days=1)
    assert quiet_hours_end(at(3), "21:00", "07:00", tz) == at(7)
    assert quiet_hours_end(at(7), "21:00", "07:00", tz) is None
    assert quiet_hours_end(at(12, 30), "12:00", "13:00", tz) == at(13)
    assert quiet_hours_end(at(12, 30), "00:00", "00:00", tz) is None
    assert quiet_hours_end(datetime(2026, 11, 26, 15, tzinfo=UTC), "21:00", "07:00", tz) == at(7) + timedelta(days=1)
    with pytest.raises(ValueError, match="invalid time '25:00': use HH:MM"):
        quiet_hours_end(at(1), "25:00", "07:00", tz)


class Flaky:
    """A transport whose sends fail with a chosen error or hang (to simulate a crash mid-send)."""

    def __init__(self, inner: Any, hang_on: set[str] = frozenset(), error: SendError | None = None) -> None:
        self.inner = inner
        self.hang_on = hang_on
        self.error = error
        self.hanging = asyncio.Event()

    async def send(self, chat: str, message: Outgoing) -> int:
        if chat in self.hang_on:
            self.hanging.set()
            await asyncio.Event().wait()
        if self.error is not None:
            raise self.error
        return int(await self.inner.send(chat, message))


async def test_network_errors_are_retried(app: AppContext, db: Database, clock: Clock, bot: Any) -> None:
    await queue(db, clock, msg(111, "n"))
    error = SendError("transient", "ClientConnectorError: refused", reached_server=False)
    sender = OutboxSender(db, Flaky(TelegramTransport(bot), error=error), clock=clock)
    stats = await sender.drain()
    assert stats.retried == 1
    async with db.read() as conn:
        row = await outbox.by_key(conn, "n")
    assert row is not None and (row.status, row.attempts) == ("pending", 1)
    assert row.last_error == "ClientConnectorError: refused"


async def test_nothing_is_lost_when_the_sender_dies_mid_send(
    app: AppContext, db: Database, clock: Clock, fake: FakeBotAPI, bot: Any
) -> None:
    await queue(db, clock, *[msg(100 + i, f"m{i}") for i in range(5)])
    transport = Flaky(TelegramTransport(bot), hang_on={"104"})
    first = OutboxSender(db, transport, clock=clock)
    task = asyncio.create_task(first.run())
    await transport.hanging.wait()
    await fake.wait_for(lambda: len(fake.sent) == 4)

    async def flushed() -> bool:
        return list((await statuses(db)).values()).count("sent") == 4

    await fake.wait_for(flushed)
    task.cancel()  # the process dies with m4 in flight
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await statuses(db))["m4"] == "pending"

    second = make_sender(app, bot)  # after the restart
    stats = await second.drain()
    assert stats.sent == 1
    assert set((await statuses(db)).values()) == {"sent"}
    assert sorted(m.chat_id for m in fake.sent) == [100, 101, 102, 103, 104]  # each exactly once here


async def test_pacing_stays_under_the_limits(tmp_path: Path, clock: Clock) -> None:
    """35 chats and 3 messages to one of them, against a fake that refuses anything over Telegram's limits."""
    from tests.scheduler.conftest import settings

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'pace.db'}")
    await migrate.upgrade(db)
    try:
        async with FakeBotAPI(enforce_limits=True) as fake:
            bot = fake.make_bot()
            try:
                await queue(db, clock, *[msg(1000 + i, f"p{i}") for i in range(35)])
                await queue(db, clock, *[msg(5, f"same{i}") for i in range(3)])
                cfg = settings(tmp_path)
                limits = Limits(cfg.send_rate_global, cfg.send_rate_private, cfg.send_rate_group_per_min)
                stats = await OutboxSender(db, TelegramTransport(bot), clock=clock, limits=limits).drain()
            finally:
                await bot.session.close()
            assert stats.sent == 38 and stats.rate_limited == 0
            assert [e for e in fake.errors if e[2] == 429] == []
            assert fake.rate_violations() == []
            assert fake.peak_sends(1.0) <= 30 and fake.peak_sends(1.0, 5) == 1
    finally:
        await db.dispose()


async def test_unwanted_reminders_are_cancelled_before_sending(
    app: AppContext, db: Database, clock: Clock, fake: FakeBotAPI, bot: Any
) -> None:
    await create_live_campaign(db, clock())
    rid = await start_response(app.service, 111)
    from scheduler.reminders import reminder_key

    guard = {"respondent_id": 0, "response_id": rid, "activity_at": clock().isoformat()}
    async with db.read() as conn:
        person = (await conn.execute(sa.select(channel_address.c.respondent_id))).scalar_one()
    guard["respondent_id"] = person
    payload = Outgoing(text="nhắc").to_payload(guard=guard)
    await queue(db, clock, NewMessage("111", "reminder", payload, reminder_key(1, rid, 1)))
    async with db.write() as conn:  # the person deletes their data before the reminder goes
        await conn.execute(channel_address.delete())
    stats = await make_sender(app, bot).drain()
    assert (stats.sent, stats.cancelled) == (0, 1)
    assert fake.sent == []


@sqlite_only
async def test_the_service_sends_without_the_bots_own_retries(
    app: AppContext, db: Database, clock: Clock, fake: FakeBotAPI
) -> None:
    """The application's Bot retries 5xx and 429 by itself; the scheduler sends through a copy without that
    middleware, so the outbox decides (and records) every retry."""
    from bot.telegram.client import make_bot
    from tests.scheduler.conftest import make_scheduler

    app_bot = make_bot("123456:TEST", fake.base_url)
    service = make_scheduler(app, TelegramTransport.without_retries(app_bot))
    try:
        await queue(db, clock, msg(111, "n"))
        fake.fail_next("sendMessage", 500)
        await service.run_once()
        assert len(fake.calls_of("sendMessage")) == 1  # not retried inside the request
        async with db.read() as conn:
            row = await outbox.by_key(conn, "n")
        assert row is not None and (row.status, row.attempts) == ("pending", 1)
        clock.advance(seconds=5)
        await service.run_once()
        assert fake.last_message(111).plain_text == "Xin chào"
    finally:
        await service.stop()
        await app_bot.session.close()
