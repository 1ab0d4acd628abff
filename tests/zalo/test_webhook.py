"""Zalo's webhook: the secret, malformed bodies, and redelivered messages (the same message_id changes
nothing and is answered once, also after a reply that was lost)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from storage.db import Database
from storage.repo.sql import answer
from tests.conftest import create_live_campaign
from tests.zalo.conftest import now
from tests.zalo.fake_api import FakeZaloAPI
from tests.zalo.harness import Person, running, zalo_settings


async def count_answers(db: Database) -> int:
    async with db.read() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(answer))).scalar_one())


async def test_a_wrong_or_missing_secret_gets_401_and_changes_nothing(
    db: Database, fake: FakeZaloAPI, tmp_path: Path
) -> None:
    await create_live_campaign(db, now())
    async with running(zalo_settings(fake, db.url, tmp_path, "webhook")):
        update = fake.update("u-lan", "xin chào")
        for secret in ("", "wrong-secret", fake.webhook_secret + "x", fake.webhook_secret[:-1]):
            status, _ = await fake.post_webhook(fake.webhook_url, update, secret=secret)
            assert status == 401
        assert fake.sent == []
        status, _ = await fake.post_webhook(fake.webhook_url, update)
        assert status == 200 and len(fake.texts("u-lan")) == 1


BARE = {
    "event_name": "message.text.received",
    "message": {
        "message_id": "m-1",
        "date": 1733000000000,
        "text": "hi",
        "from": {"id": "u-lan", "display_name": "Lan", "is_bot": False},
        "chat": {"id": "u-lan", "chat_type": "PRIVATE"},
    },
}


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"",
        b"\xff\xfe\x00garbage",
        b"[]",
        b'"text"',
        json.dumps({"event_name": "message.text.received"}).encode(),
        json.dumps({"ok": True, "result": {"event_name": "message.text.received", "message": {}}}).encode(),
        json.dumps({"ok": True, "result": []}).encode(),
        json.dumps({"ok": False, "result": BARE}).encode(),
        json.dumps({**BARE, "message": {**BARE["message"], "from": "u-lan"}}).encode(),
        json.dumps({"ok": True, "result": {**BARE, "message": {**BARE["message"], "chat": None}}}).encode(),
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
async def test_malformed_bodies_get_400_without_a_traceback(
    db: Database, fake: FakeZaloAPI, tmp_path: Path, raw: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(zalo_settings(fake, db.url, tmp_path, "webhook")):
        status, body = await fake.post_webhook(fake.webhook_url, None, raw=raw)
    assert status == 400 and "not a Zalo update" in body
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert fake.sent == []


async def test_both_shapes_are_accepted(db: Database, fake: FakeZaloAPI, tmp_path: Path) -> None:
    await create_live_campaign(db, now())
    async with running(zalo_settings(fake, db.url, tmp_path, "webhook")):
        status, _ = await fake.post_webhook(fake.webhook_url, BARE)
        assert status == 200
        wrapped = {"ok": True, "result": {**BARE, "message": {**BARE["message"], "message_id": "m-2", "text": "1"}}}
        status, _ = await fake.post_webhook(fake.webhook_url, wrapped)
        assert status == 200
    consent, first = fake.texts("u-lan")
    assert "đồng ý" in consent and "Câu 1" in first


async def test_a_redelivered_message_changes_nothing_and_is_answered_once(
    db: Database, fake: FakeZaloAPI, tmp_path: Path
) -> None:
    await create_live_campaign(db, now())
    async with running(zalo_settings(fake, db.url, tmp_path, "webhook")) as app:
        lan = Person(fake, app)
        await lan.say("hi")
        await lan.say("1")
        await lan.say("hoan kiem")
        update = fake.update("u-lan", "2", message_id="m-age")
        assert await lan.send(update) == 200
        sent = len(fake.texts("u-lan"))
        answers = await count_answers(db)
        for _ in range(3):
            assert await lan.send(update) == 200
        assert len(fake.texts("u-lan")) == sent and await count_answers(db) == answers
        # the same message id with another text (a replay) changes nothing either
        assert await lan.send(fake.update("u-lan", "3", message_id="m-age")) == 200
        assert len(fake.texts("u-lan")) == sent and await count_answers(db) == answers


async def test_a_reply_lost_after_the_commit_is_shown_once_at_the_redelivery(
    db: Database, fake: FakeZaloAPI, tmp_path: Path
) -> None:
    await create_live_campaign(db, now())
    async with running(zalo_settings(fake, db.url, tmp_path, "webhook")) as app:
        lan = Person(fake, app)
        await lan.say("hi")
        await lan.say("1")
        await lan.say("hoan kiem")
        update = fake.update("u-lan", "2", message_id="m-lost")
        fake.fail_next.append(("sendMessage", 502, "Bad Gateway"))  # the answer is stored, its reply is not sent
        assert await lan.send(update) == 503  # Zalo will deliver it again
        assert "lỗi tạm thời" in fake.texts("u-lan")[-1]
        answers = await count_answers(db)
        before = len(fake.texts("u-lan"))
        assert await lan.send(update) == 200
        (shown,) = fake.texts("u-lan")[before:]
        assert "Câu 3" in shown  # where the person is now
        assert await lan.send(update) == 200
        assert len(fake.texts("u-lan")) == before + 1 and await count_answers(db) == answers
        assert "Câu 4" in await lan.say("bỏ qua")


async def test_a_failing_update_gets_the_temporary_error_reply_once(
    db: Database, fake: FakeZaloAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.zalo import citizens

    async def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    async with running(zalo_settings(fake, db.url, tmp_path, "webhook")) as app:
        monkeypatch.setattr(citizens, "handle_private", broken)
        lan = Person(fake, app)
        update = fake.update("u-lan", "hi")
        assert await lan.send(update) == 200  # a bug: acknowledged (not retried forever), logged once
        assert await lan.send(update) == 200
        (told,) = fake.texts("u-lan")
        assert "lỗi tạm thời" in told and "went wrong" in told


async def test_a_person_who_blocked_the_bot_is_marked_unreachable(
    db: Database, fake: FakeZaloAPI, tmp_path: Path
) -> None:
    from storage.repo.sql import channel_address

    await create_live_campaign(db, now())
    async with running(zalo_settings(fake, db.url, tmp_path, "webhook")) as app:
        lan = Person(fake, app)
        await lan.say("hi")
        await lan.say("1")
        fake.blocked.add("u-lan")
        assert await lan.send(fake.update("u-lan", "hoan kiem")) == 200
    async with db.read() as conn:
        assert (await conn.execute(sa.select(channel_address.c.unreachable))).scalar_one() is True


async def test_a_body_over_1_mb_gets_413(db: Database, fake: FakeZaloAPI, tmp_path: Path) -> None:
    async with running(zalo_settings(fake, db.url, tmp_path, "webhook")):
        big = json.dumps({**BARE, "message": {**BARE["message"], "text": "x" * 1_100_000}}).encode()
        status, _ = await fake.post_webhook(fake.webhook_url, None, raw=big)
    assert status == 413 and fake.sent == []
