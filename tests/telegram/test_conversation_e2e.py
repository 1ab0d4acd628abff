"""End to end: the real bot (aiogram over real HTTP) against the fake Bot API, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa

from bot.telegram.routes import route
from flows.conversation import Who
from storage.db import Database
from storage.repo.sql import answer, channel_address, respondent, response
from tests.conftest import Clock, create_live_campaign
from tests.fakebot import FakeBotAPI
from tests.telegram.harness import WEBHOOK_SECRET, User, bot_settings, running


@pytest.fixture
async def fake() -> Any:
    async with FakeBotAPI() as api:
        yield api


async def stored_answers(db: Database) -> dict[str, Any]:
    async with db.read() as conn:
        return dict((await conn.execute(sa.select(answer.c.question_id, answer.c.value))).all())


async def count(db: Database, table: sa.Table) -> int:
    async with db.read() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())


# webhook mode: answers, selections and typed texts take the lean path (bot.telegram.fastlane)
MODES = pytest.mark.parametrize("mode", ["polling", "webhook"])


@MODES
async def test_walk_the_survey_by_deep_link(
    fake: FakeBotAPI, db: Database, db_url: str, tmp_path: Path, mode: str
) -> None:
    clock = Clock(__import__("datetime").datetime.now(__import__("datetime").UTC))
    await create_live_campaign(db, clock())
    async with running(bot_settings(fake, db_url, tmp_path, mode=mode)) as app:
        alice = User(fake, 501)
        await alice.say("/start hn-2026_70")
        consent = alice.last()
        assert "Khảo sát sự hài lòng" in consent.visible_text and "18 tuổi" in consent.visible_text
        assert alice.labels(consent) == ["✅ Tôi đồng ý", "✖ Không đồng ý"]
        await alice.press("✅ Tôi đồng ý")
        assert "Bạn đã đồng ý tham gia" in fake.message(501, consent.message_id).visible_text
        assert fake.buttons(fake.message(501, consent.message_id)) == []
        first = alice.last()
        assert first.visible_text.startswith("Câu 1 · đã xong 0%\nBạn thuộc nhóm tuổi nào?")

        await alice.press("30–44 tuổi")
        answered = fake.message(501, first.message_id)
        assert answered.visible_text == "Câu 1 · đã xong 0% · Bạn thuộc nhóm tuổi nào?\n✅ 30–44 tuổi"
        assert fake.buttons(answered) == []
        assert alice.last().visible_text.startswith("Câu 2 · đã xong 5%")
        await alice.press("Bỏ qua ⏭")  # gender is optional
        assert "⏭ (bỏ qua)" in alice.messages()[-2].visible_text
        await alice.press("Có, làm trực tiếp")
        assert alice.last().visible_text.startswith("Câu 4 · đã xong 17%\nLần gần nhất")
        left = alice.last()
        await alice.press("◀ Quay lại")
        assert "↩ Đã quay lại câu trước." in fake.message(501, left.message_id).visible_text
        assert "Câu trả lời trước: Có, làm trực tiếp" in alice.last().visible_text
        await alice.press("Không")  # no service: the service block is hidden
        assert alice.last().visible_text.startswith("Câu 4 · đã xong 30%\nTrong 12 tháng qua, bạn có gửi góp ý")
        await alice.press("Có")
        await alice.press("Hài lòng")
        await alice.press("Không rõ")
        await alice.say("4")  # a typed answer to a scale question
        typed = alice.messages()[-2]
        assert typed.visible_text.endswith("✅ 4 – Hài lòng") and fake.buttons(typed) == []
        issues = alice.last()
        assert issues.visible_text.startswith("Câu 8 · đã xong 70%")
        await alice.press("Thu gom rác thải")
        await alice.press("Ngập úng khi mưa")
        assert alice.labels(fake.message(501, issues.message_id))[:3] == [
            "✓ Thu gom rác thải",
            "Ô nhiễm không khí, tiếng ồn",
            "✓ Ngập úng khi mưa",
        ]
        await alice.press("✔ Xong (2)")
        await alice.press("Rất hài lòng")
        await alice.say("<b>Cần</b> thêm cây xanh & <script>alert(1)</script>")
        assert alice.last().visible_text.startswith("🎉 Cảm ơn bạn đã hoàn thành khảo sát!")
        comment = alice.messages()[-2]
        assert comment.visible_text.endswith("✅ <b>Cần</b> thêm cây xanh & <script>alert(1)</script>")

        assert await stored_answers(db) == {
            "ward": 70,
            "age_group": "30_44",
            "gender": None,
            "used_service": "no",
            "gave_feedback": "yes",
            "sat_feedback": 4,
            "transparency": "dk",
            "environment": 4,
            "top_issues": ["waste", "flooding"],
            "overall_satisfaction": 5,
            "comment": "<b>Cần</b> thêm cây xanh & <script>alert(1)</script>",
        }
        async with db.read() as conn:
            row = (await conn.execute(sa.select(response))).one()
        assert row.status == "completed" and row.ward_code == 70

        assert alice.labels(alice.last()) == ["🔔 Có, mời tôi", "Không, cảm ơn"]
        await alice.press("🔔 Có, mời tôi")
        assert alice.last().visible_text.startswith("🔔 Chúng tôi sẽ báo cho bạn khi có khảo sát mới.")
        async with db.read() as conn:
            assert (await conn.execute(sa.select(respondent.c.invitations))).scalar_one() is True

        await alice.say("/start hn-2026_70")
        assert alice.last().visible_text == "Bạn đã hoàn thành đợt khảo sát “Khảo sát Hà Nội 2026” rồi. Cảm ơn bạn!"
        # every button press got its callback answered (no endless spinner)
        assert set(fake.callback_ids.values()) <= set(fake.callback_answers)
        assert app.processor.failed == 0
        if mode == "webhook":  # the answers, the selections and the typed texts took the lean path
            assert app.processor.lane is not None and app.processor.lane.handled >= 12
            assert app.processor.lane.bot.fallbacks == 0


@MODES
async def test_double_tap_and_stale_buttons(
    fake: FakeBotAPI, db: Database, db_url: str, tmp_path: Path, mode: str
) -> None:
    import datetime

    await create_live_campaign(db, datetime.datetime.now(datetime.UTC))
    async with running(bot_settings(fake, db_url, tmp_path, mode=mode)) as app:
        bob = User(fake, 502)
        await bob.say("/start hn-2026_235")
        await bob.press("✅ Tôi đồng ý")
        question = bob.last()
        data = dict(fake.buttons(question))["18–29 tuổi"]
        assert data is not None
        first = fake.push_callback(502, data, question.message_id)
        second = fake.push_callback(502, data, question.message_id)
        await fake.wait_idle(10)
        assert (await stored_answers(db))["age_group"] == "18_29"
        assert await count(db, answer) == 2  # the ward and one age group
        toasts = [fake.callback_answer(first), fake.callback_answer(second)]
        assert all(toast is not None for toast in toasts)
        assert "Câu này đã được trả lời." in [toast.text for toast in toasts if toast is not None]
        # a much older button: answered, and changes nothing
        later = await bob.press_data(dict(fake.buttons(fake.sent[-1]))["Nữ"] or "", fake.sent[-1].message_id)
        stale = await bob.press_data(data.replace("18_29", "60_plus"), question.message_id)
        answer_toast = fake.callback_answer(stale)
        assert answer_toast is not None and answer_toast.text == "Câu này đã được trả lời."
        assert (await stored_answers(db))["age_group"] == "18_29"
        assert fake.callback_answer(later) is not None
        # forged button data
        forged = await bob.press_data("zz:garbage", question.message_id)
        forged_toast = fake.callback_answer(forged)
        assert forged_toast is not None and forged_toast.text == "Nút này đã hết hiệu lực."
        lane = app.processor.lane
        assert (lane is not None) == (mode == "webhook") and (lane is None or lane.bot.fallbacks == 0)


async def test_resume_after_restart_and_english(fake: FakeBotAPI, db: Database, db_url: str, tmp_path: Path) -> None:
    import datetime

    await create_live_campaign(db, datetime.datetime.now(datetime.UTC))
    settings = bot_settings(fake, db_url, tmp_path)
    carol = User(fake, 503)
    async with running(settings):
        await carol.say("/start hn-2026")
        await carol.press("✅ Tôi đồng ý")
        assert carol.last().visible_text.startswith("Câu 1 · đã xong 0%\nBạn đang sinh sống ở phường, xã nào?")
        await carol.say("dong da")
        await carol.press("60 tuổi trở lên".join(["Từ ", ""]))
    # the process is gone; a new one on the same database
    async with running(settings):
        await carol.say("/start")  # coming back resumes at the next unanswered question
        assert carol.last().visible_text.startswith("Câu 3 · đã xong 11%\nGiới tính của bạn?")
        await carol.say("/cancel")
        assert carol.last().visible_text.startswith("Đã tạm dừng.")
        await carol.say("nữ")  # paused: nothing typed counts until she resumes
        assert carol.last().visible_text.startswith("Khảo sát đang tạm dừng")
        await carol.say("/start")
        assert carol.last().visible_text.startswith("Câu 3 · đã xong 11%\nGiới tính của bạn?")
        await carol.say("xin chào")  # resumed: typed text counts again (and is not an answer)
        assert carol.last().visible_text.startswith("Không nhận ra lựa chọn “xin chào”.")
        await carol.say("/lang")
        await carol.press("🇬🇧 English")
        assert carol.messages()[-2].visible_text == "Switched to English."
        assert carol.last().visible_text.startswith("Question 3 · 11% done\nYour gender?")
        assert carol.labels() == ["Male", "Female", "Other", "◀ Back", "Skip ⏭"]
        await carol.say("female")
        assert carol.last().visible_text.startswith("Question 4 · 16% done\nIn the last 12 months")
    assert (await stored_answers(db)) == {"ward": 235, "age_group": "60_plus", "gender": "female"}


async def test_delete_my_data(fake: FakeBotAPI, db: Database, db_url: str, tmp_path: Path) -> None:
    import datetime

    await create_live_campaign(db, datetime.datetime.now(datetime.UTC))
    async with running(bot_settings(fake, db_url, tmp_path)):
        dan = User(fake, 504)
        await dan.say("/start hn-2026_70")
        await dan.press("✅ Tôi đồng ý")
        await dan.press("45–59 tuổi")
        assert await count(db, respondent) == 1 and await count(db, channel_address) == 1
        await dan.say("/delete_my_data")
        assert dan.labels() == ["Có, xoá dữ liệu của tôi", "Không"]
        await dan.press("Có, xoá dữ liệu của tôi")
        assert dan.last().visible_text.startswith("Đã xoá dữ liệu của bạn.")
        assert await count(db, respondent) == 0
        assert await count(db, channel_address) == 0
        assert await count(db, answer) == 0


async def test_decline_keeps_nothing_and_odd_messages(
    fake: FakeBotAPI, db: Database, db_url: str, tmp_path: Path
) -> None:
    import datetime

    await create_live_campaign(db, datetime.datetime.now(datetime.UTC))
    async with running(bot_settings(fake, db_url, tmp_path)) as app:
        erin = User(fake, 505)
        await erin.say("/start hn-2026_70")
        await erin.press("✖ Không đồng ý")
        assert erin.last().visible_text.startswith("Bạn đã không đồng ý tham gia.")
        assert await count(db, respondent) == 0
        fake.push_raw(
            {
                "message": {
                    "from": {"id": 505, "is_bot": False, "first_name": "E"},
                    "chat": {"id": 505, "type": "private"},
                    "sticker": {
                        "file_id": "s",
                        "file_unique_id": "s",
                        "type": "regular",
                        "width": 1,
                        "height": 1,
                        "is_animated": False,
                        "is_video": False,
                    },
                }
            }
        )
        await fake.wait_idle(10)
        assert erin.last().visible_text.startswith("Xin lỗi, tôi chỉ đọc được tin nhắn chữ.")
        await erin.say("/nonsense")
        assert erin.last().visible_text == "Không có lệnh /nonsense. Gửi /help để xem các lệnh."
        await erin.say("x" * 3000)
        assert erin.last().visible_text.startswith("Tin nhắn quá dài (3000 ký tự)")
        await erin.say("/help")
        assert erin.last().visible_text.startswith("Cách trả lời")
        # a group message that is not for us gets no reply
        fake.push_message(505, "hello group", chat_id=-100500, chat_type="supergroup")
        await fake.wait_idle(10)
        assert fake.messages(-100500) == []
        assert app.processor.failed == 0
        assert fake.visible_commands(505) == ["start", "help", "lang", "restart", "delete_my_data", "cancel"]


async def test_webhook_secret_and_redelivery(fake: FakeBotAPI, db: Database, db_url: str, tmp_path: Path) -> None:
    import datetime

    await create_live_campaign(db, datetime.datetime.now(datetime.UTC))
    settings = bot_settings(fake, db_url, tmp_path, mode="webhook")
    async with running(settings) as app:
        assert fake.webhook_url == settings.webhook_url
        frank = User(fake, 506)
        await frank.say("/start hn-2026_70")
        await frank.press("✅ Tôi đồng ý")
        question = frank.last()
        data = dict(fake.buttons(question))["18–29 tuổi"]
        update = {
            "update_id": 777001,
            "callback_query": {
                "id": "cbq-1",
                "from": {"id": 506, "is_bot": False, "first_name": "F"},
                "chat_instance": "1",
                "data": data,
                "message": {
                    "message_id": question.message_id,
                    "date": 0,
                    "chat": {"id": 506, "type": "private"},
                    "text": "q",
                },
            },
        }
        url = settings.webhook_url
        assert url is not None
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=update) as r:
                assert r.status == 401
            async with http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as r:
                assert r.status == 401
            headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
            async with http.post(url, data=b"not json", headers=headers) as r:
                assert r.status == 400
            async with http.post(url, json={"hello": 1}, headers=headers) as r:
                assert r.status == 400
            assert await count(db, answer) == 1  # only the ward: nothing was processed
            async with http.post(url, json=update, headers=headers) as r:
                assert r.status == 200
            before = await stored_answers(db)
            sent_before = len(fake.sent)
            async with http.post(url, json=update, headers=headers) as r:  # Telegram delivers it again
                assert r.status == 200
        assert await stored_answers(db) == before == {"ward": 70, "age_group": "18_29"}
        assert len(fake.sent) == sent_before  # its reply (the next question) was shown: nothing again
        # a crash between an answer's commit and its reply: the redelivery shows the next question, once
        shown = frank.last()
        gender = {**update, "update_id": 777002}
        gender["callback_query"] = {
            **update["callback_query"],
            "id": "cbq-2",
            "data": dict(fake.buttons(shown))["Nữ"],
            "message": {**update["callback_query"]["message"], "message_id": shown.message_id},
        }
        await app.service.handle(
            Who("telegram", "506", address="506"), route(gender["callback_query"]["data"]).action, 777002
        )
        async with aiohttp.ClientSession() as http:
            for _ in range(2):
                async with http.post(url, json=gender, headers=headers) as r:
                    assert r.status == 200
        assert len(fake.sent) == sent_before + 1 and fake.sent[-1].visible_text.startswith("Câu 3 ·")
        assert app.processor.failed == 0
    assert json.dumps(before)  # plain JSON values


async def test_database_down_is_not_acknowledged(
    fake: FakeBotAPI, db: Database, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transient failure leaves the update unacknowledged; Telegram delivers it again and it succeeds."""
    import datetime

    from storage.conversation import ConversationService

    await create_live_campaign(db, datetime.datetime.now(datetime.UTC))
    async with running(bot_settings(fake, db_url, tmp_path, mode="webhook")) as app:
        gina = User(fake, 507)
        await gina.say("/start hn-2026_70")
        await gina.press("✅ Tôi đồng ý")
        real = ConversationService.handle
        failures = {"left": 2}

        async def flaky(self: ConversationService, *args: Any, **kwargs: Any) -> Any:
            if failures["left"] > 0:
                failures["left"] -= 1
                raise ConnectionRefusedError("database restarting")
            return await real(self, *args, **kwargs)

        monkeypatch.setattr(ConversationService, "handle", flaky)
        update = fake.push_button(507, gina.last_with_buttons(), "18–29 tuổi")
        await fake.wait_idle(10)
        assert fake.delivery_attempts[update] == 3
        assert update in fake.acknowledged
        assert (await stored_answers(db))["age_group"] == "18_29"
        assert app.processor.retried == 2
    await asyncio.sleep(0)
