"""The citizen's conversation on Zalo, by typing, through the real application against the fake Zalo Bot
API (real HTTP), in polling and webhook mode, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from storage.db import Database
from storage.repo.sql import answer, channel_address, chat_state, processed_update, respondent, response
from tests.conftest import create_live_campaign
from tests.zalo.conftest import now
from tests.zalo.fake_api import FakeZaloAPI
from tests.zalo.harness import SECRET_KEY, Person, running, zalo_settings


async def answers_of(db: Database) -> dict[str, Any]:
    async with db.read() as conn:
        rows = (await conn.execute(sa.select(answer.c.question_id, answer.c.value))).all()
    return {r.question_id: r.value for r in rows}


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_the_whole_survey_by_typing(db: Database, fake: FakeZaloAPI, tmp_path: Path, mode: str) -> None:
    await create_live_campaign(db, now())
    async with running(zalo_settings(fake, db.url, tmp_path, mode)) as app:
        if mode == "webhook":
            assert fake.webhook_url.endswith("/zalo/webhook")  # registered at start
        lan = Person(fake, app)
        consent = await lan.say("xin chào")
        assert "Bạn có đồng ý tham gia không?" in consent and "“đồng ý”" in consent
        ward = await lan.say("dong y")
        assert "Câu 1" in ward and "phường, xã" in ward
        assert "1. " in ward and "6. " in ward  # the campaign's six wards, numbered
        age = await lan.say("hoan kiem")  # a name typed without diacritics
        assert "✔ Đã ghi: Phường Hoàn Kiếm" in age and "Câu 2" in age and "2. 30–44 tuổi" in age
        gender = await lan.say("2")
        assert "“bỏ qua”" in gender and "“<”" in gender
        used = await lan.say("bỏ qua")
        assert "(bỏ qua)" in used and "Câu 4" in used
        feedback = await lan.say("4")  # has not used a service: its questions are skipped
        assert "Có" in feedback
        transparency = await lan.say("khong")  # the label, without diacritics
        assert "✔ Đã ghi: Không" in transparency
        back = await lan.say("quay lại")
        assert "Câu trả lời trước: Không" in back
        await lan.say("2")
        environment = await lan.say("4")
        assert "Câu" in environment
        issues = await lan.say("2")
        assert "1 3" in issues  # how to choose several
        overall = await lan.say("1,3")
        assert "Thu gom" in overall or "rác" in overall
        comment = await lan.say("5")
        assert "“bỏ qua”" in comment
        thanks = await lan.say("Đường phố sạch hơn, cảm ơn!")
        assert "🎉" in thanks and "“mời tôi”" in thanks
        assert "Bạn đã hoàn thành" in await lan.say("/start")
    stored = await answers_of(db)
    assert stored["ward"] == 70 and stored["age_group"] == "30_44" and stored["gender"] is None
    assert stored["used_service"] == "no" and stored["gave_feedback"] == "no"
    assert stored["transparency"] == 4 and stored["environment"] == 2
    assert stored["top_issues"] == ["waste", "flooding"] and stored["overall_satisfaction"] == 5
    assert stored["comment"] == "Đường phố sạch hơn, cảm ơn!"
    key = hmac.new(SECRET_KEY.encode(), b"zalo:u-lan", hashlib.sha256).hexdigest()
    async with db.read() as conn:
        person = (await conn.execute(sa.select(respondent.c.id).where(respondent.c.key == key))).scalar_one()
        r = (await conn.execute(sa.select(response.c.status, response.c.channel))).one()
        address = (await conn.execute(sa.select(channel_address.c.channel, channel_address.c.address))).one()
        claimed = (await conn.execute(sa.select(sa.func.count()).select_from(processed_update))).scalar_one()
    assert person and (r.status, r.channel) == ("completed", "zalo")
    assert (address.channel, address.address) == ("zalo", "u-lan")
    assert claimed >= 14


async def test_a_wrong_answer_gets_the_reason_and_the_question_again(
    db: Database, fake: FakeZaloAPI, tmp_path: Path
) -> None:
    await create_live_campaign(db, now())
    async with running(zalo_settings(fake, db.url, tmp_path)) as app:
        lan = Person(fake, app)
        await lan.say("hi")
        await lan.say("1")
        await lan.say("hoàn kiếm")
        again = await lan.say("9")
        assert "Câu 2" in again and "1. 18–29 tuổi" in again
        assert len(again.split("Câu 2")[0].strip()) > 0  # the reason comes first
        missing = await lan.say("kiem")
        assert "Câu 2" in missing
        assert await lan.say("0") and "age_group" not in await answers_of(db)


async def test_a_code_fixes_the_campaign_and_the_ward(db: Database, fake: FakeZaloAPI, tmp_path: Path) -> None:
    await create_live_campaign(db, now())
    async with running(zalo_settings(fake, db.url, tmp_path)) as app:
        lan = Person(fake, app)
        consent = await lan.say("hn-2026_235")
        assert "Đống Đa" in consent
        first = await lan.say("đồng ý")
        assert "Câu" in first and "nhóm tuổi" in first  # the ward came with the code
        minh = Person(fake, app, "u-minh")
        consent = await minh.say("/start hn-2026_70")
        assert "Hoàn Kiếm" in consent
        assert "nhóm tuổi" in await minh.say("1")
        nobody = Person(fake, app, "u-x")
        assert "không đúng" in await nobody.say("/start nope-2020")
    async with db.read() as conn:
        rows = (await conn.execute(sa.select(answer.c.question_id, answer.c.value))).all()
    assert sorted((r.question_id, r.value) for r in rows) == [("ward", 70), ("ward", 235)]


async def test_a_code_as_phones_type_it_and_other_words_on_the_consent_screen_keep_its_ward(
    db: Database, fake: FakeZaloAPI, tmp_path: Path
) -> None:
    await create_live_campaign(db, now())
    async with running(zalo_settings(fake, db.url, tmp_path)) as app:
        lan = Person(fake, app)
        assert "Đống Đa" in await lan.say("Hn-2026_235")  # a phone capitalises the first letter
        assert "Đống Đa" in await lan.say("Xin chào")  # not an answer to the consent: the same screen, same ward
        assert "nhóm tuổi" in await lan.say("Đồng ý ạ")  # agreed politely; the ward came with the code
        minh = Person(fake, app, "u-minh")
        assert "Hoàn Kiếm" in await minh.say("hn-2026 70")
        assert "nhóm tuổi" in await minh.say("vâng")
        assert "làm lại" in (await minh.say("bắt đầu lại")).lower()  # restart (asks first), not a campaign code
        before = len(minh.replies())
        image = fake.update("u-minh", "1", event_name="message.image.received")
        assert await minh.send(image) == 200  # an image's text is not an answer
        assert "chữ" in minh.replies()[-1].text and len(minh.replies()) == before + 1
        joined = fake.update("u-minh", None, event_name="user.joined")
        assert await minh.send(joined) == 200 and len(minh.replies()) == before + 1  # another kind: no reply
    async with db.read() as conn:
        rows = (await conn.execute(sa.select(answer.c.question_id, answer.c.value))).all()
    assert sorted((r.question_id, r.value) for r in rows) == [("ward", 70), ("ward", 235)]


async def test_two_open_campaigns_are_offered_by_number(db: Database, fake: FakeZaloAPI, tmp_path: Path) -> None:
    await create_live_campaign(db, now(), code="hn-a", wards=[70], title="Khảo sát A")
    await create_live_campaign(db, now(), code="hn-b", wards=[235], title="Khảo sát B")
    async with running(zalo_settings(fake, db.url, tmp_path)) as app:
        lan = Person(fake, app)
        listed = await lan.say("chào bạn")
        assert "1. Khảo sát A" in listed and "2. Khảo sát B" in listed
        consent = await lan.say("2")
        assert "Khảo sát B" in consent
        first = await lan.say("1")
        assert "Câu 1" in first and "1. Phường Đống Đa" in first  # campaign B's one ward, to pick
        assert "Đống Đa" in await lan.say("1")


async def test_pause_holds_until_the_person_continues(db: Database, fake: FakeZaloAPI, tmp_path: Path) -> None:
    await create_live_campaign(db, now())
    async with running(zalo_settings(fake, db.url, tmp_path)) as app:
        lan = Person(fake, app)
        await lan.say("hi")
        await lan.say("1")
        await lan.say("hoan kiem")
        paused = await lan.say("tạm dừng")
        assert "Đã tạm dừng" in paused and "“tiếp tục”" in paused
        ignored = await lan.say("2")
        assert "tạm dừng" in ignored and "chưa được tính" in ignored
        assert "age_group" not in await answers_of(db)
        back = await lan.say("Tiếp tục")
        assert "Câu 2" in back
        await lan.say("2")
        assert (await answers_of(db))["age_group"] == "30_44"
        assert "Đã tạm dừng" in await lan.say("/cancel")


async def test_erasure_asks_first_then_deletes_everything(db: Database, fake: FakeZaloAPI, tmp_path: Path) -> None:
    await create_live_campaign(db, now())
    async with running(zalo_settings(fake, db.url, tmp_path)) as app:
        lan = Person(fake, app)
        await lan.say("hi")
        await lan.say("1")
        await lan.say("hoan kiem")
        asked = await lan.say("xóa dữ liệu")
        assert "“xác nhận xoá”" in asked
        async with db.read() as conn:
            assert (await conn.execute(sa.select(sa.func.count()).select_from(respondent))).scalar_one() == 1
        done = await lan.say("xac nhan xoa")
        assert "Đã xoá dữ liệu" in done
        async with db.read() as conn:
            for table in (respondent, response, answer, channel_address):
                assert (await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one() == 0
        assert "Đã xoá" in await lan.say("/delete_my_data") + await lan.say("confirm delete")


async def test_restart_asks_first_then_starts_over(db: Database, fake: FakeZaloAPI, tmp_path: Path) -> None:
    await create_live_campaign(db, now())
    async with running(zalo_settings(fake, db.url, tmp_path)) as app:
        lan = Person(fake, app)
        await lan.say("hi")
        await lan.say("1")
        await lan.say("hoan kiem")
        await lan.say("1")
        asked = await lan.say("làm lại")
        assert "“xác nhận làm lại”" in asked
        assert (await answers_of(db))["age_group"] == "18_29"  # asking changes nothing
        again = await lan.say("xác nhận làm lại")
        assert "Câu 1" in again
        assert await answers_of(db) == {}


async def test_help_and_language_commands_with_or_without_the_slash(
    db: Database, fake: FakeZaloAPI, tmp_path: Path
) -> None:
    await create_live_campaign(db, now())
    async with running(zalo_settings(fake, db.url, tmp_path)) as app:
        lan = Person(fake, app)
        for command in ("/help", "trợ giúp", "Tro giup", "help", "/tro_giup"):
            assert "“<” hoặc “quay lại” – về câu trước" in await lan.say(command)
        assert "english" in await lan.say("ngôn ngữ")
        await lan.say("hi")
        await lan.say("dong y")
        english = await lan.say("english")
        assert "Switched to English." in english and "Question 1" in english
        assert "“<” or “back”" in await lan.say("/help")
        assert "There is no command /frobnicate" in await lan.say("/frobnicate")
        assert "Đã chuyển sang tiếng Việt." in await lan.say("lang vi")


async def test_the_ward_question_searches_by_name_and_pages_with_more(
    db: Database, fake: FakeZaloAPI, tmp_path: Path
) -> None:
    from flows.questions.ward import search_wards
    from storage.repo import wards as ward_repo

    async with db.read() as conn:
        every = [w.code for w in await ward_repo.search(conn, province_code=1)]
    await create_live_campaign(db, now(), wards=every)
    async with running(zalo_settings(fake, db.url, tmp_path)) as app:
        lan = Person(fake, app)
        await lan.say("hi")
        ask = await lan.say("1")
        assert "Gõ tên phường, xã" in ask and "1. " not in ask  # 126 wards: not listed, searched
        listed = await lan.say("hoa")
        out = app.service.campaigns.by_code["hn-2026"].context("vi")
        matches = search_wards(out.wards, "hoa")
        assert len(matches) > 8
        assert f"Có {len(matches)} phường, xã khớp" in listed and "1. " in listed and "9. " not in listed
        assert "“xem thêm”" in listed
        more = await lan.say("xem thêm")
        assert "9. " in more and f"9. {matches[8].name}" in more
        picked = await lan.say("9")
        assert f"✔ Đã ghi: {matches[8].name}" in picked
    assert (await answers_of(db))["ward"] == matches[8].code


async def test_a_restart_mid_survey_resumes_at_the_right_question(
    db: Database, fake: FakeZaloAPI, tmp_path: Path
) -> None:
    await create_live_campaign(db, now())
    settings = zalo_settings(fake, db.url, tmp_path)
    async with running(settings) as app:
        lan = Person(fake, app)
        await lan.say("hi")
        await lan.say("1")
        await lan.say("hoan kiem")
        await lan.say("3")
    async with running(settings) as again:  # a new process: nothing remembered but the database
        lan = Person(fake, again)
        resumed = await lan.say("tiếp tục")
        assert ("Câu 3" in resumed and "Giới tính" in resumed) or "giới tính" in resumed
        after = await lan.say("1")
        assert "Câu 4" in after
    stored = await answers_of(db)
    assert stored["age_group"] == "45_59" and stored["gender"] == "male"


async def test_stickers_and_images_get_a_polite_reply(db: Database, fake: FakeZaloAPI, tmp_path: Path) -> None:
    async with running(zalo_settings(fake, db.url, tmp_path)) as app:
        lan = Person(fake, app)
        status = await lan.send(fake.update("u-lan", None))
        assert status == 200 and "chỉ đọc được tin nhắn chữ" in fake.texts("u-lan")[-1]


async def test_a_command_in_a_group_gets_one_line_about_the_private_chat(
    db: Database, fake: FakeZaloAPI, tmp_path: Path
) -> None:
    async with running(zalo_settings(fake, db.url, tmp_path)) as app:
        lan = Person(fake, app)
        await lan.send(fake.update("u-lan", "/start", chat_id="g-1", chat_type="GROUP"))
        await lan.send(fake.update("u-lan", "chào mọi người", chat_id="g-1", chat_type="GROUP"))
        (reply,) = fake.texts("g-1")
        assert "trò chuyện riêng" in reply and "private chat" in reply and "khaosat_test_bot" in reply
        assert fake.texts("u-lan") == []


async def test_a_long_reply_is_cut_at_line_breaks_into_messages_under_2000_characters(
    db: Database, fake: FakeZaloAPI, tmp_path: Path
) -> None:
    from storage.repo import wards as ward_repo

    async with db.read() as conn:
        codes = [w.code for w in await ward_repo.search(conn, province_code=1)][:30]
    title = "Khảo sát về sự hài lòng của người dân đối với dịch vụ hành chính công tại phường, xã năm 2026"
    for n, code in enumerate(codes):
        await create_live_campaign(db, now(), code=f"hn-{n:02d}", wards=[code], title=f"{title} – đợt {n:02d}")
    async with running(zalo_settings(fake, db.url, tmp_path)) as app:
        lan = Person(fake, app)
        await lan.say("xin chào")
    parts = fake.texts("u-lan")
    assert len(parts) >= 2 and all(len(p) <= 2000 for p in parts)
    lines = "\n".join(parts).splitlines()
    assert lines[1].startswith("1. ") and lines[-1].startswith("30. ")  # no line was cut
    assert all(line.startswith(f"{n}. ") for n, line in enumerate(lines[1:], start=1))


async def test_a_forgotten_consent_screen_takes_words_not_a_bare_number(
    db: Database, fake: FakeZaloAPI, tmp_path: Path
) -> None:
    await create_live_campaign(db, now())
    settings = zalo_settings(fake, db.url, tmp_path)
    async with running(settings) as app:
        new = Person(fake, app, "u-new")
        assert "Bạn có đồng ý tham gia không?" in await new.say("1")  # a first "1" agrees to nothing unread
        lan = Person(fake, app)
        await lan.say("hn-2026_70")
        async with db.write() as conn:  # what the chat remembers, forgotten (as the scheduler prunes it)
            await conn.execute(chat_state.delete())
        assert "Bạn có đồng ý tham gia không?" in await lan.say("1")
        async with db.write() as conn:
            await conn.execute(chat_state.delete())
        first = await lan.say("Đồng ý")
        assert "Câu 1" in first and "phường, xã" in first  # the open campaign; the code's ward is asked
    async with db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(respondent))).scalar_one() == 1
