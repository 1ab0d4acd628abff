"""Edges of the citizen conversation a reviewer found by acting like a citizen: typed markup, how the
messages read, stale consent screens, /restart and /cancel with nothing under way, a campaign that ended."""

from __future__ import annotations

import asyncio
import html
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.telegram import render
from storage.db import Database
from storage.repo import campaigns
from storage.repo.sql import answer, campaign, channel_address, respondent
from tests.conftest import create_live_campaign
from tests.fakebot import FakeBotAPI
from tests.telegram.harness import User, bot_settings, running


@pytest.fixture
async def fake() -> Any:
    async with FakeBotAPI() as api:
        yield api


async def stored_answers(db: Database) -> dict[str, Any]:
    async with db.read() as conn:
        return dict((await conn.execute(sa.select(answer.c.question_id, answer.c.value))).all())


async def test_typed_markup_is_quoted_not_parsed(fake: FakeBotAPI, db: Database, db_url: str, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    await create_live_campaign(db, now)
    await create_live_campaign(db, now, code="hn-old", title="Đợt <b>cũ</b> & xưa", allow_overlap=True)
    async with db.write() as conn:
        await campaigns.close(conn, "hn-old", now)
    async with running(bot_settings(fake, db_url, tmp_path)) as app:
        user = User(fake, 611)
        await user.say("/start hn-2026_70")
        await user.press("✅ Tôi đồng ý")
        await user.say("<3 tuổi")  # no such choice: the reply quotes it, as text
        assert "“<3 tuổi”" in user.last().visible_text
        await user.say("/start hn-old_70")
        assert "Đợt <b>cũ</b> & xưa" in user.last().visible_text
        assert app.processor.failed == 0


async def test_messages_read_line_by_line(fake: FakeBotAPI, db: Database, db_url: str, tmp_path: Path) -> None:
    await create_live_campaign(db, datetime.now(UTC))
    async with running(bot_settings(fake, db_url, tmp_path)) as app:
        user = User(fake, 612)
        await user.say("/start hn-2026")
        consent = user.last().visible_text.split("\n")
        assert consent[:3] == [
            "Khảo sát sự hài lòng của người dân với chính quyền phường, xã",
            "Khảo sát Hà Nội 2026",
            "",
        ]
        assert consent[3].startswith("Xin chào!")
        assert consent[-2:] == ["", "👇 Bấm “✅ Tôi đồng ý” để bắt đầu."]
        screen = user.last().message_id
        await user.press("✅ Tôi đồng ý")
        agreed = fake.message(612, screen).visible_text
        assert agreed.endswith("Bạn có đồng ý tham gia không?\n\n✅ Bạn đã đồng ý tham gia.") and "👇" not in agreed
        # the ward question: label, then its help once (not the generic hint as well)
        assert user.last().visible_text.split("\n") == [
            "Câu 1 · đã xong 0%",
            "Bạn đang sinh sống ở phường, xã nào?",
            "Chọn trong danh sách hoặc gõ một phần tên, ví dụ “hoàn kiếm”.",
        ]
        await user.say("hoan kiem")  # one match: taken
        age_buttons = dict(fake.buttons(user.last()))
        age = user.last()
        await user.press("◀ Quay lại")
        assert user.last().visible_text.split("\n")[-1] == "Câu trả lời trước: Phường Hoàn Kiếm"
        # the age question's button, pressed after going back: that question is not being asked now
        tapped = await user.press_data(age_buttons["30–44 tuổi"] or "", age.message_id)
        toast = fake.callback_answer(tapped)
        assert toast is not None and toast.text == "Câu này không phải là câu đang được hỏi."
        assert app.processor.failed == 0


async def test_decline_on_an_old_consent_screen_keeps_the_answers(
    fake: FakeBotAPI, db: Database, db_url: str, tmp_path: Path
) -> None:
    await create_live_campaign(db, datetime.now(UTC))
    async with running(bot_settings(fake, db_url, tmp_path)) as app:
        user = User(fake, 613)
        await user.say("/start hn-2026_70")
        first = user.last()
        await user.say("/start hn-2026_70")
        await user.press("✅ Tôi đồng ý")
        await user.press("30–44 tuổi")
        await user.press("✖ Không đồng ý", fake.message(613, first.message_id))
        assert user.last().visible_text.startswith("Bạn đã đồng ý tham gia đợt khảo sát này trước đó")
        assert fake.buttons(fake.message(613, first.message_id)) == []
        assert await stored_answers(db) == {"ward": 70, "age_group": "30_44"}
        async with db.read() as conn:
            assert len((await conn.execute(sa.select(respondent.c.id))).all()) == 1
        await user.press("Nam")  # the survey goes on
        assert await stored_answers(db) == {"ward": 70, "age_group": "30_44", "gender": "male"}
        assert app.processor.failed == 0


async def test_restart_and_cancel_with_nothing_under_way(
    fake: FakeBotAPI, db: Database, db_url: str, tmp_path: Path
) -> None:
    await create_live_campaign(db, datetime.now(UTC))
    async with running(bot_settings(fake, db_url, tmp_path)) as app:
        user = User(fake, 614)
        await user.say("/restart")
        assert user.last().visible_text == (
            "Bạn không có khảo sát nào đang làm dở để làm lại. Gửi /start để xem các đợt khảo sát."
        )
        assert fake.buttons(user.last()) == []  # no "are you sure?" about nothing
        await user.say("/cancel")
        assert user.last().visible_text == "Bạn không có khảo sát nào đang làm dở. Gửi /start để xem các đợt khảo sát."
        assert app.processor.failed == 0


async def test_restart_after_the_campaign_ended_changes_nothing(
    fake: FakeBotAPI, db: Database, db_url: str, tmp_path: Path
) -> None:
    await create_live_campaign(db, datetime.now(UTC))
    async with running(bot_settings(fake, db_url, tmp_path)) as app:
        user = User(fake, 615)
        await user.say("/start hn-2026_70")
        await user.press("✅ Tôi đồng ý")
        await user.press("30–44 tuổi")
        await user.say("/restart")
        confirm = user.last()
        async with db.write() as conn:  # the campaign's end date passes while the question is open
            await conn.execute(campaign.update().values(ends_at=datetime.now(UTC) - timedelta(minutes=1)))
        await user.press("Có, làm lại từ đầu", confirm)
        assert "đã kết thúc" in user.last().visible_text
        assert await stored_answers(db) == {"ward": 70, "age_group": "30_44"}
        assert app.processor.failed == 0


async def test_consent_note_follows_the_chosen_language(
    fake: FakeBotAPI, db: Database, db_url: str, tmp_path: Path
) -> None:
    await create_live_campaign(db, datetime.now(UTC))
    async with running(bot_settings(fake, db_url, tmp_path)):
        user = User(fake, 616)  # Telegram says Vietnamese; the person picks English
        await user.say("/start hn-2026_70")
        consent = user.last()
        await user.say("/lang")
        await user.press("🇬🇧 English")
        await user.press("✅ Tôi đồng ý", fake.message(616, consent.message_id))
        assert fake.message(616, consent.message_id).visible_text.endswith("✅ You agreed to take part.")


async def test_agreeing_after_the_campaign_ended_does_not_say_consent_was_given(
    fake: FakeBotAPI, db: Database, db_url: str, tmp_path: Path
) -> None:
    """The consent screen is marked "you agreed" only once the agreement is stored."""
    await create_live_campaign(db, datetime.now(UTC))
    async with running(bot_settings(fake, db_url, tmp_path)) as app:
        user = User(fake, 617)
        await user.say("/start hn-2026_70")
        consent = user.last()
        async with db.write() as conn:  # the campaign ends while the consent screen is open
            await conn.execute(campaign.update().values(ends_at=datetime.now(UTC) - timedelta(minutes=1)))
        await user.press("✅ Tôi đồng ý", consent)
        screen = fake.message(617, consent.message_id)
        assert "Bạn đã đồng ý tham gia" not in screen.visible_text
        assert not fake.buttons(screen)  # nothing to press any more
        assert "đã kết thúc" in user.last().visible_text
        assert await stored_answers(db) == {}
        assert app.processor.failed == 0


async def test_a_failed_edit_of_the_consent_screen_does_not_repeat_the_first_question(
    fake: FakeBotAPI, db: Database, db_url: str, tmp_path: Path
) -> None:
    """Marking the consent screen is cosmetic: a Telegram error there must not fail the update (Telegram
    would send it again and the first question would be shown twice)."""
    await create_live_campaign(db, datetime.now(UTC))
    async with running(bot_settings(fake, db_url, tmp_path)) as app:
        user = User(fake, 618)
        await user.say("/start hn-2026_70")
        fake.fail_next("editMessageText", 429, retry_after=600, chat_id=618)  # longer than the bot waits
        await user.press("✅ Tôi đồng ý")
        await asyncio.sleep(0.3)
        firsts = [c for c in fake.calls_of("sendMessage") if "Câu 1 ·" in str(c.params.get("text", ""))]
        assert len(firsts) == 1, [c.params.get("text") for c in firsts]
        assert app.processor.failed == 0


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_failed_edit_of_an_answered_question_does_not_repeat_the_next_one(
    fake: FakeBotAPI, db: Database, db_url: str, tmp_path: Path, mode: str
) -> None:
    """The answered question is edited while the next one is sent: an error in the edit (here Telegram
    asks to wait longer than the bot waits) does not fail the update, which would have the next question
    shown twice."""
    await create_live_campaign(db, datetime.now(UTC))
    async with running(bot_settings(fake, db_url, tmp_path, mode=mode)) as app:
        user = User(fake, 620)
        await user.say("/start hn-2026_70")
        await user.press("✅ Tôi đồng ý")
        fake.fail_next("editMessageText", 429, retry_after=600, chat_id=620)
        await user.press("30–44 tuổi")
        await asyncio.sleep(0.3)
        seconds = [c for c in fake.calls_of("sendMessage") if "Câu 2 ·" in str(c.params.get("text", ""))]
        assert len(seconds) == 1, [c.params.get("text") for c in seconds]
        assert await stored_answers(db) == {"ward": 70, "age_group": "30_44"}
        assert app.processor.failed == 0 and app.processor.retried == 0


def test_a_long_escaped_answer_still_fits() -> None:
    shown = render.answered("Câu 17 · đã xong 94%", "Góp ý", "<" * 1000, "vi")
    assert shown.endswith("✅ <b>" + "&lt;" * 1000 + "</b>")  # 1,000 characters on screen, not cut
    huge = render.answered("Câu 17 · đã xong 94%", "Góp ý", "<" * 5000, "vi")
    plain = html.unescape(huge)
    assert len(plain) == 4096 and plain.endswith("<…") and "<b>" not in huge  # cut as text, markup dropped


async def test_one_copy_of_a_question_keeps_its_buttons(
    fake: FakeBotAPI, db: Database, db_url: str, tmp_path: Path
) -> None:
    await create_live_campaign(db, datetime.now(UTC))
    async with running(bot_settings(fake, db_url, tmp_path)) as app:
        user = User(fake, 617)
        await user.say("/start hn-2026_70")
        await user.press("✅ Tôi đồng ý")
        first = user.last()
        await user.say("/start")  # back after a while: the question again, the old copy put away
        again = user.last()
        assert again.message_id != first.message_id and again.visible_text.startswith("Câu 1 · đã xong 0%")
        assert fake.buttons(fake.message(617, first.message_id)) == []
        await user.say("/lang")
        await user.press("🇬🇧 English")
        english = user.last()
        assert english.visible_text.startswith("Question 1 · 0% done")
        assert fake.buttons(fake.message(617, again.message_id)) == []
        # an answer on an old copy (its buttons were already gone here, so press its data directly)
        data = dict(fake.buttons(english))["30–44"]
        assert data is not None
        await user.press_data(data, again.message_id)
        assert await stored_answers(db) == {"ward": 70, "age_group": "30_44"}
        assert fake.buttons(fake.message(617, english.message_id)) == []  # no live buttons on an answered question
        assert user.last().visible_text.startswith("Question 2 · 5% done")
        assert app.processor.failed == 0


async def test_lean_path_refusals_waits_and_commands(
    fake: FakeBotAPI, db: Database, db_url: str, tmp_path: Path
) -> None:
    """Webhook mode: what the lean answer path (bot.telegram.fastlane) does with Telegram's refusals."""
    await create_live_campaign(db, datetime.now(UTC))
    async with running(bot_settings(fake, db_url, tmp_path, mode="webhook")) as app:
        lane = app.processor.lane
        assert lane is not None
        user = User(fake, 618)
        await user.say("/start hn-2026_70")
        await user.press("✅ Tôi đồng ý")
        await user.say("\u00a0/help")  # a command after a no-break space is still a command, as in aiogram
        assert user.last().visible_text.startswith("Cách trả lời")

        fake.fail_next("sendMessage", 429, retry_after=1)  # the next question: Telegram asks to wait
        started = asyncio.get_running_loop().time()
        await user.press("30–44 tuổi")
        assert asyncio.get_running_loop().time() - started >= 1  # waited as asked before trying again
        assert user.last().visible_text.startswith("Câu 2 · đã xong 5%")
        assert len(fake.calls_of("sendMessage")) == len([m for m in fake.sent if m.chat_id == 618]) + 1

        fake.block(618)  # the person blocks the bot: refused once, not asked twice
        before = len(fake.calls_of("sendMessage"))
        await user.press("Nam")
        assert len(fake.calls_of("sendMessage")) == before + 1
        async with db.read() as conn:
            unreachable = (await conn.execute(sa.select(channel_address.c.unreachable))).scalar_one()
        assert unreachable is True  # marked unreachable, as on aiogram's path
        assert await stored_answers(db) == {"ward": 70, "age_group": "30_44", "gender": "male"}
        assert app.processor.failed == 0 and lane.handled == 4  # /start, consent, two presses; /help: aiogram


@pytest.mark.parametrize("mode", ["polling", "webhook"])  # webhook: consent takes the lean path
async def test_the_agreed_consent_screen_keeps_its_formatting(
    fake: FakeBotAPI, db: Database, db_url: str, tmp_path: Path, mode: str
) -> None:
    await create_live_campaign(db, datetime.now(UTC))
    async with running(bot_settings(fake, db_url, tmp_path, mode=mode)) as app:
        user = User(fake, 619)
        await user.say("/start hn-2026_70")
        screen = user.last()
        shown = {(e["type"], screen.visible_text[e["offset"] : e["offset"] + e["length"]]) for e in screen.entities}
        assert ("bold", "Khảo sát sự hài lòng của người dân với chính quyền phường, xã") in shown
        await user.press("✅ Tôi đồng ý")
        agreed = fake.message(619, screen.message_id)
        kept = {(e["type"], agreed.visible_text[e["offset"] : e["offset"] + e["length"]]) for e in agreed.entities}
        pressed = {e for e in shown if "Tôi đồng ý" in e[1]}  # "press I agree" is gone
        assert kept == (shown - pressed) | {("bold", "✅ Bạn đã đồng ý tham gia.")}
        assert fake.buttons(agreed) == [] and user.last().visible_text.startswith("Câu 1 · đã xong 0%")
        assert app.processor.failed == 0
        if mode == "webhook":
            assert app.processor.lane is not None and app.processor.lane.handled == 2  # /start and consent


async def test_start_on_the_lean_path_reads_as_aiogram_does(
    fake: FakeBotAPI, db: Database, db_url: str, tmp_path: Path
) -> None:
    """Webhook mode takes /start on the lean path: every spelling gets the reply it gets through aiogram
    (polling), and a /start for another bot, or in capitals, is still aiogram's."""
    await create_live_campaign(db, datetime.now(UTC))
    said = [
        "/start",
        "/start   hn-2026_70  ",
        "\u00a0/start hn-2026",
        "/start no-such!",
        "/start@other_bot hn-2026",
        "/START",
    ]
    replies: dict[str, list[str]] = {}
    for n, mode in enumerate(("polling", "webhook")):
        async with running(bot_settings(fake, db_url, tmp_path, mode=mode)) as app:
            user = User(fake, 630 + n)
            replies[mode] = []
            for text in said:
                await user.say(text)
                replies[mode].append(user.last().visible_text)
            assert app.processor.failed == 0
            if mode == "webhook":
                assert app.processor.lane is not None and app.processor.lane.handled == 4
    assert replies["webhook"] == replies["polling"]
    assert replies["webhook"][1].startswith("Khảo sát sự hài lòng") and replies["webhook"][3] != replies["webhook"][1]


async def test_a_citizens_command_in_a_group_says_where_the_survey_is_answered(
    fake: FakeBotAPI, db: Database, db_url: str, tmp_path: Path
) -> None:
    await create_live_campaign(db, datetime.now(UTC))
    async with running(bot_settings(fake, db_url, tmp_path)) as app:
        for command in ("/start", "/help", "/start@test_bot hn-2026_70"):
            fake.push_message(620, command, chat_id=-4242, chat_type="group")
            await fake.wait_idle(10)
            reply = fake.messages(-4242)[-1].visible_text
            assert reply.startswith("Khảo sát được trả lời trong tin nhắn riêng với bot: https://t.me/"), command
            assert "\nThe survey is answered in a private chat" in reply
        assert await stored_answers(db) == {} and app.processor.failed == 0


async def test_a_failed_update_says_so_once_and_stops_the_spinner(
    fake: FakeBotAPI, db: Database, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug (an unexpected error) is not silence: the person gets the "temporary error" line once."""
    await create_live_campaign(db, datetime.now(UTC))
    async with running(bot_settings(fake, db_url, tmp_path)) as app:
        user = User(fake, 621)
        await user.say("/start hn-2026_70")

        async def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("a bug")

        monkeypatch.setattr(app.service, "handle", broken)
        await user.press("✅ Tôi đồng ý")
        assert user.last().visible_text == "Xin lỗi, đã có lỗi tạm thời. Vui lòng thử lại sau ít phút."
        assert set(fake.callback_ids.values()) <= set(fake.callback_answers)  # no endless spinner
        assert app.processor.failed == 1


async def test_a_ward_search_with_many_matches_asks_for_more_letters(
    fake: FakeBotAPI, db: Database, db_url: str, tmp_path: Path
) -> None:
    from storage.repo.sql import admin_unit

    async with db.read() as conn:
        in_hanoi = sa.select(admin_unit.c.code).where(admin_unit.c.province_code == 1)
        hanoi = list((await conn.execute(in_hanoi)).scalars())
    await create_live_campaign(db, datetime.now(UTC), wards=hanoi)
    async with running(bot_settings(fake, db_url, tmp_path)) as app:
        user = User(fake, 622)
        await user.say("/start hn-2026")
        await user.press("✅ Tôi đồng ý")
        await user.say("phuong")  # half the units are wards
        reply = user.last()
        assert "khớp với “phuong”" in reply.visible_text and "gõ thêm vài chữ" in reply.visible_text
        assert fake.buttons(reply) == []  # no 8 buttons for 51 matches
        await user.say("hoan kiem")
        assert user.last().visible_text.startswith("Câu 2 ·")
        assert app.processor.failed == 0


async def test_two_open_campaigns_with_one_title_are_told_apart(
    fake: FakeBotAPI, db: Database, db_url: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    await create_live_campaign(db, now, code="hn-a", title="Khảo sát", wards=[70], days=10)
    await create_live_campaign(db, now, code="hn-b", title="Khảo sát", wards=[235], days=20, allow_overlap=True)
    async with running(bot_settings(fake, db_url, tmp_path)):
        user = User(fake, 623)
        await user.say("/start")
        labels = user.labels()
        assert len(set(labels)) == 2 and all(label.startswith("Khảo sát · ") for label in labels)
        await user.press(labels[0])
        await user.press("✅ Tôi đồng ý")
        question = user.last()
        await user.say("/start hn-b")  # one questionnaire at a time
        assert user.messages()[-2].visible_text.startswith("Bạn đang trả lời dở khảo sát “Khảo sát”")
        assert user.last().visible_text.split("\n")[1] == question.visible_text.split("\n")[1]
        await user.say("/cancel")
        await user.say("/start hn-b")  # the first one paused: the second may begin
        assert "Bấm “✅ Tôi đồng ý”" in user.last().visible_text
