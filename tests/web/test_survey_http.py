"""The citizen web survey over real HTTP against the running application (SQLite and PostgreSQL): every
route, its status codes, cookies, CSRF, one-time form ids, and what ends up in the database."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp
from yarl import URL

from bot.app import Application
from storage.repo import campaigns
from tests.conftest import create_live_campaign
from tests.web.conftest import base_url
from tests.web.survey_helpers import Citizen, answer, answers_of, consented, rows, walk

CONSENT_VI = "Khảo sát dành cho người từ 18 tuổi trở lên."


# --- entering the survey -----------------------------------------------------------------------------------


async def test_ward_link_shows_consent_then_first_question_with_ward_fixed(web_app: Application) -> None:
    async with Citizen(web_app) as citizen:
        page = await citizen.get("/s/hn-2026/70")
        assert page.status == 200 and page.lang == "vi"
        assert CONSENT_VI in page.text and "Phường Hoàn Kiếm" in page.text
        assert page.actions() == {"agree", "decline"}
        assert page.h1 == "Khảo sát sự hài lòng của người dân với chính quyền phường, xã"
        headers = page.headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["Cache-Control"] == "no-store" and headers["X-Frame-Options"] == "DENY"
        set_cookie = headers["Set-Cookie"]
        assert set_cookie.startswith("khaosat_r=")
        assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie and "Path=/s/" in set_cookie
        assert (await rows(web_app))["respondents"] == []  # nothing is stored before consent
        # the web's own consent: its deletion link, no Telegram command, no chat address
        assert "liên kết “Xoá dữ liệu của tôi” ở cuối trang" in page.text
        assert "/delete_my_data" not in page.html and "trò chuyện" not in page.text

        page = await citizen.submit(page, "agree", follow=False)
        assert page.status == 303 and page.headers["Location"] == "/s/hn-2026/70"
        page = await citizen.get("/s/hn-2026/70")
        assert page.status == 200
        assert page.question == "age_group" and page.progress == "Câu 1 · đã xong 0%"  # the ward came with the link
        assert page.h1 == "Bạn thuộc nhóm tuổi nào?"
        assert [c.label for c in page.choices] == ["18–29 tuổi", "30–44 tuổi", "45–59 tuổi", "Từ 60 tuổi trở lên"]
        assert page.actions() == {"next"}  # first question: no back; required: no skip
        assert '<progress value="0" max="100"' in page.html

    db = await rows(web_app)
    assert len(db["respondents"]) == 1
    [r] = db["responses"]
    assert (r["channel"], r["ward_code"], r["status"], r["fixed"]) == ("web", 70, "in_progress", ["ward"])
    assert await answers_of(web_app) == {"ward": 70}


async def test_campaign_links_ward_picker_with_folded_search_and_open_campaigns(web_app: Application) -> None:
    async with Citizen(web_app) as citizen:
        page = await citizen.get("/s/hn-2026")
        assert page.status == 200 and page.h1 == "Bạn sống ở phường, xã nào?"
        wards = [(text, href) for text, href in page.links if href.startswith("/s/hn-2026/")]
        assert len(wards) == 6 and ("Phường Hoàn Kiếm", "/s/hn-2026/70") in wards

        for query, expected in [
            ("hoan kiem", ["Phường Hoàn Kiếm"]),
            ("HOÀN KIẾM", ["Phường Hoàn Kiếm"]),
            ("đống", ["Phường Đống Đa"]),
            ("dong da", ["Phường Đống Đa"]),
            ("ba dinh", ["Phường Ba Đình"]),
        ]:
            page = await citizen.get("/s/hn-2026?" + urlencode({"q": query}))
            found = [text for text, href in page.links if re.fullmatch(r"/s/hn-2026/\d+", href)]
            assert (page.status, found) == (200, expected), query
        page = await citizen.get("/s/hn-2026?q=zzz")
        assert page.status == 200 and "Không tìm thấy phường, xã nào khớp với “zzz”." in page.notices

        page = await citizen.get("/s/hn-2026/235")
        assert "Phường Đống Đa" in page.text and page.actions() == {"agree", "decline"}

        # /s: the open campaigns (straight to the only one)
        page = await citizen.get("/s", follow=False)
        assert (page.status, page.headers["Location"]) == (303, "/s/hn-2026")
        now = datetime.now(UTC)
        await create_live_campaign(web_app.db, now, code="hk-2026", wards=[70], allow_overlap=True, title="Thử")
        page = await citizen.get("/s")
        assert page.status == 200 and ("Thử", "/s/hk-2026") in page.links and len(page.links) >= 2
        # a single-ward campaign needs no picker
        page = await citizen.get("/s/hk-2026")
        assert page.actions() == {"agree", "decline"} and "Phường Hoàn Kiếm" in page.text


async def test_ward_picker_in_vietnamese_order_and_forgiving_search(web_app: Application) -> None:
    # Dương Nội, Đại Mỗ, Định Công, Đông Ngạc: Đ comes after every D (folding them would mix them up)
    wards = [9616, 602, 424, 637, 10180, 316, 9886]
    await create_live_campaign(web_app.db, datetime.now(UTC), code="hn-d", wards=wards, title="D và Đ")
    async with Citizen(web_app) as citizen:
        page = await citizen.get("/s/hn-d")
        names = [text for text, href in page.links if re.fullmatch(r"/s/hn-d/\d+", href)]
        assert names == [
            "Phường Dương Nội",
            "Phường Đại Mỗ",
            "Phường Định Công",
            "Phường Đông Ngạc",
            "Xã Dân Hòa",
            "Xã Đa Phúc",
            "Xã Đoài Phương",
        ]

        for query, expected in [
            ("hoankiem", ["Phường Hoàn Kiếm"]),
            ("P.Hoàn Kiếm", ["Phường Hoàn Kiếm"]),
            ("Q.Đống Đa", ["Phường Đống Đa"]),
            ("p dong da", ["Phường Đống Đa"]),
            ("dongda", ["Phường Đống Đa"]),
            ("70", ["Phường Hoàn Kiếm"]),
            ("71", []),
        ]:
            page = await citizen.get("/s/hn-2026?" + urlencode({"q": query}))
            found = [text for text, href in page.links if re.fullmatch(r"/s/hn-2026/\d+", href)]
            assert (page.status, found) == (200, expected), query
        assert 'data-short="hoan kiem" data-code="70"' in (await citizen.get("/s/hn-2026")).html  # for the script


async def test_language_switch_keeps_the_ward_search(web_app: Application) -> None:
    async with Citizen(web_app) as citizen:
        page = await citizen.get("/s/hn-2026?q=hoan")
        assert ("English", "/s/hn-2026?lang=en&q=hoan") in page.links
        page = await citizen.get("/s/hn-2026?lang=en&q=hoan", follow=False)
        assert page.status == 303 and page.headers["Location"] == "/s/hn-2026?q=hoan"
        page = await citizen.get("/s/hn-2026?lang=en&q=hoan")
        assert page.lang == "en" and page.typed == {"q": "hoan"}
        found = [text for text, href in page.links if re.fullmatch(r"/s/hn-2026/\d+", href)]
        assert found == ["Phường Hoàn Kiếm"]
        assert ("Tiếng Việt", "/s/hn-2026?lang=vi&q=hoan") in page.links
        page = await citizen.get("/s/hn-2026?" + urlencode({"lang": "vi", "q": "a&b\r\nX: y"}), follow=False)
        assert page.headers["Location"] == "/s/hn-2026?q=a%26b%0D%0AX%3A+y" and "X" not in page.headers


async def test_unknown_closed_and_not_started_campaigns(web_app: Application) -> None:
    async with Citizen(web_app) as citizen:
        for path in ("/s/nope-2026", "/s/nope-2026/70", "/s/NOT%20A%20CODE", "/s/x"):
            page = await citizen.get(path)
            assert page.status == 404, path
            assert page.h1 == "Không tìm thấy đợt khảo sát"
            assert "Survey not found" in page.text  # Vietnamese first, English below
            assert page.text.index("Không tìm thấy") < page.text.index("Survey not found")

        # a ward that is not the campaign's: 404 with the picker
        for ward in ("999", "abc", "12345678901234567890"):
            page = await citizen.get(f"/s/hn-2026/{ward}")
            assert page.status == 404, ward
            assert page.errors and "không thuộc đợt khảo sát" in page.errors[0]
            assert ("Phường Hoàn Kiếm", "/s/hn-2026/70") in page.links

        now = datetime.now(UTC)
        await create_live_campaign(web_app.db, now + timedelta(days=40), code="hn-2027", allow_overlap=True)
        page = await citizen.get("/s/hn-2027/70")
        assert page.status == 403 and page.h1 == "Đợt khảo sát chưa bắt đầu" and "has not started" in page.text

        consenting = await citizen.get("/s/hn-2026/70")
        async with web_app.db.write() as conn:
            await campaigns.close(conn, "hn-2026", now)
        page = await citizen.get("/s/hn-2026/70")
        assert page.status == 410 and page.h1 == "Đợt khảo sát đã kết thúc"
        assert "“Khảo sát Hà Nội 2026” đã kết thúc" in page.text and "has ended" in page.text
        page = await citizen.submit(consenting, "agree")  # a form left open while the campaign closed
        assert page.status == 410
        assert (await rows(web_app))["responses"] == []


# --- answering -----------------------------------------------------------------------------------------------


async def test_back_skip_and_resume_in_a_new_browser_session(web_app: Application) -> None:
    citizen, page = await consented(web_app)
    async with citizen:
        page = await answer(citizen, page)  # age group
        assert page.question == "gender" and page.progress == "Câu 2 · đã xong 5%"
        assert page.actions() == {"next", "skip", "back"}  # optional, and not the first
        page = await citizen.submit(page, value=page.value_of("Nữ"))
        assert page.question == "used_service"

        page = await citizen.submit(page, "back")
        assert page.status == 200 and page.question == "gender"
        assert page.checked() == ["female"]  # the answer being changed is chosen
        assert "Câu trả lời trước: Nữ" in page.text
        page = await citizen.get("/s/hn-2026/70")  # a reload still shows it
        assert page.question == "gender" and page.checked() == ["female"]

        page = await citizen.submit(page, "skip")
        assert page.question == "used_service" and page.checked() == []
        assert await answers_of(web_app) == {"ward": 70, "age_group": "30_44", "gender": None}
        cookie = citizen.cookie()

    # the same browser, later: the cookie brings the person back where they were
    async with Citizen(web_app) as again:
        again.session.cookie_jar.update_cookies({"khaosat_r": cookie or ""}, URL(base_url(web_app) + "/s/"))
        page = await again.get("/s/hn-2026/70")
        assert page.question == "used_service" and page.progress == "Câu 3 · đã xong 11%"
        page = await again.get("/s/hn-2026")  # the campaign link resumes too (no picker)
        assert page.question == "used_service"
        page = await again.submit(page, "back")
        assert page.question == "gender" and "Câu trả lời trước" not in page.text  # it was skipped


async def test_reask_keeps_what_was_typed_and_escapes_it(web_app: Application) -> None:
    citizen, page = await consented(web_app)
    async with citizen:
        page = await walk(citizen, page, until="visits")
        assert page.hidden["kind"] == "typed" and page.typed == {"text": ""}
        hint = "Vui lòng nhập một số nguyên từ 1 đến 20."
        assert f'<label class="typed-label" for="answer">{hint}</label>' in page.html  # the hint labels the input
        assert '<span class="unit" id="answer-unit">lần</span>' in page.html  # the question's unit
        attack = '"><script>alert(1)</script>'
        page = await citizen.submit(page, text=attack)
        assert page.status == 422 and page.question == "visits"
        assert page.errors == [hint]
        assert page.text.count(hint) == 1  # said once, as the error; the label just asks for a number
        assert '<label class="typed-label" for="answer">Nhập một số</label>' in page.html
        assert '<span class="unit" id="answer-unit">lần</span>' in page.html
        assert page.typed == {"text": attack}
        assert "<script>alert(1)" not in page.html and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.html
        page = await citizen.submit(page, text="25")
        assert page.status == 422 and page.typed == {"text": "25"}
        page = await citizen.submit(page, text=" 3 ")
        assert page.status == 200 and page.question == "informal_payment"
        assert (await answers_of(web_app))["visits"] == 3
        page = await citizen.submit(page, "back")
        assert page.question == "visits" and page.typed == {"text": "3"} and "Câu trả lời trước: 3 lần" in page.text


async def test_typed_answer_labels_in_both_languages(web_app: Application) -> None:
    citizen, page = await consented(web_app)
    async with citizen:
        page = await walk(citizen, page, until="visits")
        page = await citizen.get("/s/hn-2026/70?lang=en")
        assert (
            '<label class="typed-label" for="answer">Please type a whole number between 1 and 20.</label>' in page.html
        )
        assert '<span class="unit" id="answer-unit">times</span>' in page.html
        page = await citizen.submit(page, text="0")
        assert page.status == 422 and page.text.count("Please type a whole number between 1 and 20.") == 1
        assert '<label class="typed-label" for="answer">Type a number</label>' in page.html
        page = await citizen.submit(page, text="")  # another reason: the hint labels the input again
        assert page.errors == ["That was empty. Please answer the question."]
        assert (
            '<label class="typed-label" for="answer">Please type a whole number between 1 and 20.</label>' in page.html
        )

        page = await citizen.get("/s/hn-2026/70?lang=vi")
        page = await walk(citizen, page, until="comment")
        label = '<label class="typed-label" for="answer">Nhập câu trả lời của bạn (tối đa 1.000 ký tự)</label>'
        assert label in page.html and 'maxlength="1000"' in page.html
        page = await citizen.get("/s/hn-2026/70?lang=en")
        label = '<label class="typed-label" for="answer">Type your answer (at most 1,000 characters)</label>'
        assert page.question == "comment" and label in page.html


GARBAGE: list[tuple[dict[str, Any], int, str]] = [
    ({"value": "zzz"}, 422, "Lựa chọn này không hợp lệ cho câu hỏi này."),
    ({}, 422, "Vui lòng chọn một câu trả lời."),  # a choice question: nothing chosen
    ({"kind": "multi", "values": ["a", "b"]}, 422, "Lựa chọn này không hợp lệ cho câu hỏi này."),
    ({"kind": "typed", "text": "x" * 5000}, 422, "Không nhận ra lựa chọn"),
    ({"action": "skip"}, 422, "Câu hỏi này bắt buộc, không thể bỏ qua."),
    ({"action": "back"}, 422, "Đây là câu hỏi đầu tiên, không thể quay lại."),
    ({"action": "🙂", "value": "\x00"}, 422, "Lựa chọn này không hợp lệ cho câu hỏi này."),
    ({"q": "gender", "value": "male"}, 409, "Trang này đã cũ (có thể từ một thẻ khác)."),  # not asked yet
    ({"q": "x" * 10000, "r": "99999999999999999999", "value": "18_29"}, 409, "Trang này đã cũ"),
    ({"r": "-5", "u": "not a token!", "value": "18_29"}, 200, ""),
]


async def test_garbage_is_reasked_or_refused_never_500(web_app: Application) -> None:
    for fields, status, message in GARBAGE:
        citizen, page = await consented(web_app)
        async with citizen:
            data = {**page.hidden, "action": "next", **fields}
            page = await citizen.post("/s/hn-2026/70", _pairs(data))
            assert page.status == status, (fields, page.text[:300])
            if status == 200:
                assert page.question == "gender"
                continue
            assert message in " ".join(page.errors + page.notices), fields
            assert page.question == "age_group"  # the same question again, with a fresh one-time id
            assert page.hidden["u"] != data.get("u")

    # bodies that are not the form: unreadable, JSON, a file upload
    citizen, page = await consented(web_app)
    async with citizen:
        bad = await citizen.post(
            "/s/hn-2026/70", b"\xff\xfe=1&csrf=x", headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert bad.status == 400 and bad.h1 == "Yêu cầu không hợp lệ"
        as_json = await citizen.post("/s/hn-2026/70", None, json={"csrf": page.hidden["csrf"], "value": "18_29"})
        assert as_json.status == 403  # not a form: no token
        form = aiohttp.FormData()
        for name, value in page.hidden.items():
            form.add_field(name, value)
        form.add_field("value", b"18_29", filename="a.txt")  # a file where a choice is expected
        uploaded = await citizen.post("/s/hn-2026/70", form)
        assert uploaded.status == 422 and uploaded.errors == ["Vui lòng chọn một câu trả lời."]

    stored = (await rows(web_app))["answers"]
    assert sorted(qid for _, qid in stored) == ["age_group"] + ["ward"] * (len(GARBAGE) + 1)


def _pairs(data: dict[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, value in data.items():
        values = value if isinstance(value, list) else [value]
        pairs += [(name, str(v)) for v in values]
    return pairs


async def test_multi_choice_bounds_and_previous_selection(web_app: Application) -> None:
    citizen, page = await consented(web_app)
    async with citizen:
        page = await walk(citizen, page, until="top_issues")
        assert page.hidden["kind"] == "multi" and "Chọn tối đa 3 lựa chọn." in page.text
        assert '<div class="choices" data-max="3">' in page.html
        values = [c.value for c in page.choices]
        page = await citizen.submit(page, values=values[:4])
        assert page.status == 422 and page.errors == ["Vui lòng chọn tối đa 3 lựa chọn (bạn đã chọn 4)."]
        assert page.checked() == values[:4]  # what was ticked stays ticked
        page = await citizen.submit(page, values=[])
        assert page.status == 422 and page.errors == ["Vui lòng chọn ít nhất 1 lựa chọn."]
        page = await citizen.submit(page, values=["flooding", "waste"])
        assert page.question == "overall_satisfaction"
        page = await citizen.submit(page, "back")
        assert page.question == "top_issues" and page.checked() == ["waste", "flooding"]
        assert "Câu trả lời trước: Thu gom rác thải; Ngập úng khi mưa" in page.text


async def test_completion_and_one_response_per_campaign(web_app: Application) -> None:
    citizen, page = await consented(web_app)
    async with citizen:
        page = await walk(citizen, page, until="comment")
        assert page.actions() == {"next", "skip", "back"}
        assert any(text == "Gửi câu trả lời" for _, _, text in page.buttons)  # the last question
        comment = "<b>Cần</b> thêm cây xanh & đèn đường"
        page = await citizen.submit(page, text=comment)
        assert page.status == 200 and page.h1 == "Cảm ơn bạn!" and page.question is None
        assert "Cảm ơn bạn đã hoàn thành khảo sát!" in page.text
        assert page.notices == []

        page = await citizen.get("/s/hn-2026/70")
        assert page.h1 == "Cảm ơn bạn!" and "Bạn đã hoàn thành đợt khảo sát này." in page.notices[0]
        page = await citizen.get("/s/hn-2026/235")  # another ward's link: still one response
        assert "Bạn đã hoàn thành đợt khảo sát này." in page.notices[0]
        page = await citizen.get("/s/hn-2026")
        assert "Bạn đã hoàn thành đợt khảo sát này." in page.notices[0]

    db = await rows(web_app)
    [r] = db["responses"]
    assert (r["status"], r["channel"], r["ward_code"]) == ("completed", "web", 70)
    stored = await answers_of(web_app)
    assert stored["comment"] == comment and stored["top_issues"] == ["waste", "flooding"]
    assert stored["visits"] == 2 and stored["sat_result"] == "dk"


async def test_a_form_submitted_twice_changes_nothing(web_app: Application) -> None:
    citizen, first = await consented(web_app)
    async with citizen:
        page = await citizen.submit(first, value="18_29", follow=False)
        assert page.status == 303
        again = await citizen.submit(first, value="60_plus", follow=False)  # the same form, a second time
        assert again.status == 303
        page = await citizen.get("/s/hn-2026/70")
        assert page.question == "gender"
        assert await answers_of(web_app) == {"ward": 70, "age_group": "18_29"}
        # the same gender form twice: the second must not answer the question after it
        await citizen.submit(page, value="male")
        await citizen.submit(page, value="male")
        page = await citizen.get("/s/hn-2026/70")
        assert page.question == "used_service"
        assert await answers_of(web_app) == {"ward": 70, "age_group": "18_29", "gender": "male"}
        consent_again = await citizen.get("/s/hn-2026/70")
        assert consent_again.question == "used_service"
    assert web_app.web_ctx.survey_stats.duplicate == 2


# --- cookies and CSRF ---------------------------------------------------------------------------------------------


async def test_posts_need_the_csrf_token_of_their_own_cookie(web_app: Application) -> None:
    async with Citizen(web_app) as citizen, Citizen(web_app) as other:
        page = await citizen.get("/s/hn-2026/70")
        theirs = await other.get("/s/hn-2026/70")
        token = page.hidden["csrf"]
        tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        for csrf in (None, "", "garbage", tampered, theirs.hidden["csrf"]):
            data = {"u": page.hidden["u"], "action": "agree"}
            if csrf is not None:
                data["csrf"] = csrf
            refused = await citizen.post("/s/hn-2026/70", data)
            assert refused.status == 403, csrf
            assert refused.h1 == "Biểu mẫu đã hết hạn" and ("Mở trang khảo sát", "/s/hn-2026/70") in refused.links
        assert (await rows(web_app))["respondents"] == []

        # no cookie at all (a form posted from elsewhere): refused, and a new visitor cookie is given
        async with aiohttp.ClientSession() as bare:
            url = base_url(web_app) + "/s/hn-2026/70"
            async with bare.post(url, data={"csrf": token, "u": "x" * 20, "action": "agree"}) as r:
                assert r.status == 403 and "khaosat_r=" in r.headers["Set-Cookie"]
        assert (await rows(web_app))["respondents"] == []
        ok = await citizen.submit(page, "agree")
        assert ok.status == 200 and ok.question == "age_group"


async def test_tampered_cookie_is_a_new_visitor(web_app: Application) -> None:
    citizen, page = await consented(web_app)
    async with citizen:
        await answer(citizen, page)
        cookie = citizen.cookie()
        assert cookie is not None
        url = URL(base_url(web_app) + "/s/")
        for forged in (cookie[:-3] + "abc", "eyJpIjoiYWFhYWFhYWFhYWFhYWFhYWFhYWEiLCJsIjoidmkiLCJrIjoxfQ", "x"):
            citizen.session.cookie_jar.update_cookies({"khaosat_r": forged}, url)
            page = await citizen.get("/s/hn-2026/70")
            assert page.status == 200 and page.actions() == {"agree", "decline"}  # a stranger: consent first
            assert citizen.cookie() not in (forged, cookie)  # given a new, valid cookie
        page = await citizen.post("/s/hn-2026/70", {**page.hidden, "action": "next", "value": "18_29"})
        assert page.status == 200 and page.actions() == {"agree", "decline"}  # not consented: nothing answered
        citizen.session.cookie_jar.update_cookies({"khaosat_r": cookie}, url)
        page = await citizen.get("/s/hn-2026/70")
        assert page.question == "gender"  # the real cookie still resumes
    assert await answers_of(web_app) == {"ward": 70, "age_group": "30_44"}
    assert len((await rows(web_app))["respondents"]) == 1


# --- language, decline, restart, delete -------------------------------------------------------------------------


async def test_english_switch_before_and_after_consent(web_app: Application) -> None:
    async with Citizen(web_app) as citizen:
        page = await citizen.get("/s/hn-2026/70")
        assert ("English", "/s/hn-2026/70?lang=en") in page.links
        page = await citizen.get("/s/hn-2026/70?lang=en", follow=False)
        assert page.status == 303 and page.headers["Location"] == "/s/hn-2026/70"
        page = await citizen.get("/s/hn-2026/70")
        assert page.lang == "en" and "This survey is for people aged 18 or over." in page.text
        assert [t for _, v, t in page.buttons] == ["I agree to take part", "I decline"]
        assert (await rows(web_app))["respondents"] == []  # before consent the choice lives in the cookie

        page = await citizen.submit(page, "agree")
        assert page.h1 == "What is your age group?" and page.progress == "Question 1 · 0% done"
        assert (await rows(web_app))["respondents"][0][1] == "en"
        page = await citizen.get("/s/hn-2026/70?lang=vi")
        assert page.lang == "vi" and page.h1 == "Bạn thuộc nhóm tuổi nào?"
        assert (await rows(web_app))["respondents"][0][1] == "vi"
        page = await citizen.get("/s/hn-2026/70?lang=xx")  # not a language: ignored
        assert page.lang == "vi" and page.question == "age_group"


async def test_decline_keeps_nothing(web_app: Application) -> None:
    async with Citizen(web_app) as citizen:
        page = await citizen.get("/s/hn-2026/70")
        page = await citizen.submit(page, "decline", follow=False)
        assert (page.status, page.headers["Location"]) == (303, "/s/hn-2026/70?declined=1")
        page = await citizen.get("/s/hn-2026/70?declined=1")
        assert page.h1 == "Bạn đã không đồng ý tham gia" and ("Bắt đầu lại", "/s/hn-2026/70") in page.links
        assert await rows(web_app) == {"respondents": [], "responses": [], "answers": {}}
        page = await citizen.get("/s/hn-2026/70")
        assert page.actions() == {"agree", "decline"}


async def test_restart_and_delete_my_data(web_app: Application) -> None:
    citizen, page = await consented(web_app)
    async with citizen:
        page = await walk(citizen, page, until="used_service")
        assert ("Làm lại từ đầu", "/s/hn-2026/70?confirm=restart") in page.links
        confirm = await citizen.get("/s/hn-2026/70?confirm=restart")
        assert confirm.actions() == {"restart"} and ("Không, quay lại", "/s/hn-2026/70") in confirm.links
        page = await citizen.submit(confirm, "restart")
        assert page.question == "age_group"
        assert await answers_of(web_app) == {"ward": 70}  # the ward from the link stays

        page = await walk(citizen, page, until="gender")
        old_cookie = citizen.cookie()
        confirm = await citizen.get("/s/hn-2026/70?confirm=delete")
        assert confirm.actions() == {"delete"}
        page = await citizen.submit(confirm, "delete", follow=False)
        assert (page.status, page.headers["Location"]) == (303, "/s/hn-2026/70?deleted=1")
        page = await citizen.get("/s/hn-2026/70?deleted=1")
        assert page.h1 == "Đã xoá dữ liệu của bạn"
        assert citizen.cookie() != old_cookie
        assert await rows(web_app) == {"respondents": [], "responses": [], "answers": {}}
        page = await citizen.get("/s/hn-2026/70")
        assert page.actions() == {"agree", "decline"}  # a new start is possible


async def test_ward_question_when_the_link_has_no_ward(web_app: Application) -> None:
    """Consent posted to the campaign link (no ward): the ward question is asked, typed names are folded."""
    async with Citizen(web_app) as citizen:
        ward_page = await citizen.get("/s/hn-2026/70")  # the token is the visitor's, valid on any of its pages
        page = await citizen.post("/s/hn-2026", {"csrf": ward_page.hidden["csrf"], "u": "b" * 20, "action": "agree"})
        assert page.status == 200 and page.question == "ward" and page.hidden["kind"] == "ward"
        assert page.progress == "Câu 1 · đã xong 0%" and len([c for c in page.choices if c.type == "radio"]) == 6
        page = await citizen.submit(page, text="phường")
        assert page.status == 422 and "Có 6 phường, xã khớp với “phường”. Vui lòng chọn một." in page.errors
        page = await citizen.submit(page, text="ĐỐNG ĐA")
        assert page.status == 200 and page.question == "age_group"
    assert await answers_of(web_app) == {"ward": 235}
    [r] = (await rows(web_app))["responses"]
    assert (r["ward_code"], r["fixed"]) == (235, [])


async def test_static_files_and_odd_urls(web_app: Application) -> None:
    async with Citizen(web_app) as citizen:
        for path, location in [("/s/hn-2026/70/", "/s/hn-2026/70"), ("/s/hn-2026/", "/s/hn-2026")]:
            page = await citizen.get(path, follow=False)
            assert (page.status, page.headers.get("Location")) == (303, location)
        page = await citizen.get("/s/hn-2026/70%0D%0ASet-Cookie:%20x=1?lang=en", follow=False)
        assert page.status == 404 and "Location" not in page.headers and "x=1" not in page.headers["Set-Cookie"]
        page = await citizen.get("/s/hn-2026/abc/", follow=False)
        assert page.status == 404

        page = await citizen.get("/s/hn-2026/70")
        css = re.search(r'href="(/static/survey/survey\.css\?v=\w+)"', page.html)
        js = re.search(r'src="(/static/survey/survey\.js\?v=\w+)"', page.html)
        assert css and js
        async with citizen.session.get(base_url(web_app) + css.group(1)) as r:
            assert r.status == 200 and r.content_type == "text/css" and "progress" in await r.text()
        async with citizen.session.get(base_url(web_app) + js.group(1)) as r:
            assert r.status == 200 and "javascript" in r.content_type
        async with citizen.session.get(base_url(web_app) + "/static/survey/../survey.py") as r:
            assert r.status in (403, 404)


def test_every_notice_has_a_text_and_a_title() -> None:
    from web import survey, survey_texts

    for kind in survey.NOTICE_STATUS:
        assert kind in survey_texts.t and f"{kind}_title" in survey_texts.t, kind


async def test_a_stale_page_says_which_kind_of_stale(web_app: Application) -> None:
    citizen, page = await consented(web_app)
    async with citizen:
        page = await citizen.post("/s/hn-2026/70", _pairs({**page.hidden, "action": "next", "value": "18_29"}))
        assert page.question == "gender"
        again = {**page.hidden, "action": "next", "q": "age_group", "value": "30_44"}  # the age page, in another tab
        page = await citizen.post("/s/hn-2026/70", _pairs(again))
        assert page.status == 409 and page.question == "gender"
        assert "Câu này đã được trả lời (có thể từ một thẻ khác)." in " ".join(page.notices)
        later = {**page.hidden, "action": "next", "q": "used_service", "value": "no"}  # not asked yet
        page = await citizen.post("/s/hn-2026/70", _pairs(later))
        assert page.status == 409 and "Trang này đã cũ (có thể từ một thẻ khác)." in " ".join(page.notices)
