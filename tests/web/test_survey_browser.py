"""A citizen answers the web survey in real headless Chromium on a phone-sized screen (375×667), in
Vietnamese, using back and skip; screenshots go to test-artifacts/ (web-survey-*.png)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from bot.app import Application
from tests.web.conftest import base_url
from tests.web.survey_helpers import answers_of, rows

pytestmark = pytest.mark.slow  # subprocesses, a browser or many requests: see README, Development

PHONE = {"width": 375, "height": 667}
USED_SERVICE = "Trong 12 tháng qua, bạn có làm thủ tục hành chính tại UBND phường, xã không?"
TOP_ISSUES = "Theo bạn, phường, xã cần ưu tiên cải thiện những vấn đề nào? (chọn tối đa 3)"
COMMENT = "Bạn có góp ý gì để chính quyền phường, xã phục vụ người dân tốt hơn không?"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """SQLite only: the server tests run the same pages on PostgreSQL too, and the browser is the slow part."""
    return f"sqlite+aiosqlite:///{tmp_path / 'khaosat.db'}"


async def choose(page: Page, label: str, button: str = "Tiếp tục") -> None:
    await page.get_by_label(label, exact=True).check()
    await page.get_by_role("button", name=button, exact=True).click()


async def at(page: Page, progress: str, question: str) -> None:
    await expect(page.locator(".progress-text")).to_have_text(progress)
    await expect(page.locator("h1")).to_have_text(question)


async def fits_the_screen(page: Page) -> None:
    """Nothing wider than the phone, and every choice and button big enough to tap (44 px or more)."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways ({width} px)"
    for target in await page.locator(".choice, button").all():
        box = await target.bounding_box()
        assert box is not None and box["height"] >= 44, (await target.inner_text(), box)


async def test_citizen_completes_the_survey_on_a_phone(web_app: Application, browser: Any, artifacts: Path) -> None:
    shots = iter(range(1, 100))

    async def shot(page: Page, name: str) -> None:
        await page.screenshot(path=str(artifacts / f"web-survey-{next(shots):02d}-{name}.png"), full_page=True)

    context = await browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = await context.new_page()
    problems: list[str] = []  # a script or style refused by the CSP shows up here

    def console(message: Any) -> None:
        if message.type in ("error", "warning") and "status of 422" not in message.text:  # the re-asked answer
            problems.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        await page.goto(base_url(web_app) + "/s/hn-2026/70")
        await expect(page.locator("html")).to_have_attribute("lang", "vi")
        await expect(page.locator(".ward")).to_have_text("Phường Hoàn Kiếm")
        await expect(page.get_by_text("Khảo sát dành cho người từ 18 tuổi trở lên.", exact=False)).to_be_visible()
        await fits_the_screen(page)
        await shot(page, "consent")
        await page.get_by_role("button", name="Tôi đồng ý tham gia").click()

        await at(page, "Câu 1 · đã xong 0%", "Bạn thuộc nhóm tuổi nào?")
        await expect(page.get_by_role("button", name="◀ Quay lại")).to_have_count(0)
        await fits_the_screen(page)
        await shot(page, "first-question")
        await choose(page, "30–44 tuổi")

        await at(page, "Câu 2 · đã xong 5%", "Giới tính của bạn?")
        await shot(page, "optional-question")
        await page.get_by_role("button", name="Bỏ qua").click()  # skip

        await at(page, "Câu 3 · đã xong 11%", USED_SERVICE)
        await choose(page, "Có, làm trực tiếp")
        await expect(page.locator("h1")).to_have_text("Lần gần nhất, bạn làm loại thủ tục nào?")
        await page.get_by_role("button", name="◀ Quay lại").click()  # back: change the answer
        await at(page, "Câu 3 · đã xong 11%", USED_SERVICE)
        await expect(page.get_by_label("Có, làm trực tiếp", exact=True)).to_be_checked()
        await expect(page.get_by_text("Câu trả lời trước: Có, làm trực tiếp")).to_be_visible()
        await shot(page, "back")
        await choose(page, "Không")  # no service used: the seven questions about it are not asked

        await at(
            page,
            "Câu 4 · đã xong 30%",
            "Trong 12 tháng qua, bạn có gửi góp ý, phản ánh hoặc kiến nghị tới chính quyền phường, xã không?",
        )
        await choose(page, "Không")
        await choose(page, "Đồng ý")
        await choose(page, "Hài lòng")

        await at(page, "Câu 7 · đã xong 66%", TOP_ISSUES)
        await page.get_by_role("button", name="Tiếp tục").click()  # nothing chosen: asked again
        await expect(page.get_by_role("alert")).to_have_text("Vui lòng chọn ít nhất 1 lựa chọn.")
        await shot(page, "re-asked")
        await expect(page.get_by_text("Chọn tối đa 3 lựa chọn.")).to_be_visible()
        for label in ("Thu gom rác thải", "Ngập úng khi mưa", "An ninh trật tự"):
            await page.get_by_label(label).check()
        await expect(page.get_by_label("Trường học")).to_be_disabled()  # JavaScript enforces the maximum
        await shot(page, "multiple-choice")
        await page.get_by_role("button", name="Tiếp tục").click()
        await choose(page, "Rất hài lòng")

        await at(page, "Câu 9 · đã xong 88%", COMMENT)
        await page.get_by_label("Nhập câu trả lời của bạn (tối đa 1.000 ký tự)").fill("<i>Thêm</i> thùng rác công cộng")
        await fits_the_screen(page)
        await page.get_by_role("button", name="Gửi câu trả lời").click()

        await expect(page.locator("h1")).to_have_text("Cảm ơn bạn!")
        await expect(page.get_by_text("Cảm ơn bạn đã hoàn thành khảo sát!", exact=False)).to_be_visible()
        await shot(page, "done")

        await page.goto(base_url(web_app) + "/s/hn-2026")  # the campaign's link: answered already
        await expect(page.locator(".notice")).to_have_text(
            "Bạn đã hoàn thành đợt khảo sát này. Mỗi người chỉ trả lời một lần."
        )
        await context.close()

        # someone else, from the campaign's link: the ward picker filters as you type, without diacritics
        context = await browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
        page = await context.new_page()
        page.on("console", console)
        await page.goto(base_url(web_app) + "/s/hn-2026")
        await expect(page.locator("#wards li:visible")).to_have_count(6)
        await page.get_by_label("Tìm phường, xã").fill("dong da")
        await expect(page.locator("#wards li:visible")).to_have_count(1)
        await expect(page.locator("#wards li:visible")).to_have_text("Phường Đống Đa")
        for typed, shown in [
            ("hoankiem", "Phường Hoàn Kiếm"),  # as the server's search reads it: no spaces,
            ("P.Ba Đình", "Phường Ba Đình"),  # an abbreviation,
            ("235", "Phường Đống Đa"),  # a ward code
        ]:
            await page.get_by_label("Tìm phường, xã").fill(typed)
            await expect(page.locator("#wards li:visible")).to_have_text([shown])
        await page.get_by_label("Tìm phường, xã").fill("zzz")
        await expect(page.locator("#wards li:visible")).to_have_count(0)
        await expect(page.locator("#wards-none")).to_be_visible()
        await expect(page.locator("#wards-none")).to_have_text("Không tìm thấy phường, xã nào khớp với “zzz”.")
        await page.get_by_label("Tìm phường, xã").fill("")
        await expect(page.locator("#wards li:visible")).to_have_count(6)
        await page.get_by_label("Tìm phường, xã").fill("dong da")
        await shot(page, "ward-picker")
    finally:
        await context.close()

    assert problems == []
    stored = await answers_of(web_app)
    assert stored == {
        "ward": 70,
        "age_group": "30_44",
        "gender": None,
        "used_service": "no",
        "gave_feedback": "no",
        "transparency": 4,
        "environment": 4,
        "top_issues": ["waste", "flooding", "security"],
        "overall_satisfaction": 5,
        "comment": "<i>Thêm</i> thùng rác công cộng",
    }
    [response] = (await rows(web_app))["responses"]
    assert (response["status"], response["channel"]) == ("completed", "web")
