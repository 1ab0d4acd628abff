"""The dashboard in real headless Chromium (Playwright): an official sees only their wards; an operator launches
a campaign. Screenshots go to test-artifacts/. SQLite only: the server tests cover PostgreSQL."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from bot.app import Application
from storage.repo import campaigns
from tests.papi.support import add_answers
from tests.web.conftest import base_url
from tests.web.dashboard_support import PASSWORD, add_accounts, add_draft, add_responses

pytestmark = [pytest.mark.parametrize("db_url", ["sqlite"], indirect=True), pytest.mark.slow]


async def log_in(page: Any, app: Application, name: str) -> None:
    await page.goto(base_url(app) + "/dashboard/campaigns")
    assert "/dashboard/login" in page.url
    await page.fill("#name", name)
    await page.fill("#password", PASSWORD)
    await page.click("form[action='/dashboard/login'] button[type=submit]")
    await page.wait_for_url("**/dashboard/campaigns")


async def test_an_official_logs_in_and_sees_only_their_wards(
    web_app: Application, browser: Any, artifacts: Path
) -> None:
    await add_accounts(web_app.db)
    await add_responses(web_app.db)
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        await log_in(page, web_app, "hoankiem")
        assert await page.locator("[data-testid=user-name]").inner_text() == "hoankiem"
        assert "Phường Hoàn Kiếm" in await page.locator("[data-testid=scope]").inner_text()
        await page.screenshot(path=str(artifacts / "dashboard-official-campaigns.png"), full_page=True)

        await page.click("a[href='/dashboard/campaigns/hn-2026']")
        await page.wait_for_url("**/dashboard/campaigns/hn-2026")
        wards = await page.locator("[data-testid=wards] tbody tr").evaluate_all("rows => rows.map(r => r.dataset.ward)")
        assert wards == ["70"]
        assert await page.locator("[data-testid=actions]").count() == 0
        assert await page.locator("[data-testid=completed]").inner_text() == "35"
        comments = await page.locator("[data-testid=comments]").inner_text()
        assert "<script>alert('x')</script>" in comments  # shown as text, never run
        chart = page.locator("[data-testid=chart]")
        assert await chart.evaluate("img => img.complete && img.naturalWidth > 0")
        await page.screenshot(path=str(artifacts / "dashboard-official-campaign.png"), full_page=True)

        response = await page.goto(base_url(web_app) + "/dashboard/campaigns/hn-2026/wards/235")
        assert response is not None and response.status == 403
        assert "ngoài phạm vi" in await page.content()
        await page.screenshot(path=str(artifacts / "dashboard-official-other-ward-403.png"))
    finally:
        await context.close()
    assert not problems, problems


async def test_an_operator_launches_a_campaign(web_app: Application, browser: Any, artifacts: Path) -> None:
    await add_accounts(web_app.db)
    await add_draft(web_app.db)
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = await context.new_page()
    try:
        await log_in(page, web_app, "op")
        row = page.locator("tr[data-campaign='hn-draft']")
        assert "Nháp" in await row.inner_text()
        await page.screenshot(path=str(artifacts / "dashboard-operator-before-launch.png"), full_page=True)

        await page.click("[data-testid=launch-hn-draft]")
        await page.wait_for_url("**/dashboard/campaigns/hn-draft")
        flash = await page.locator(".flash.ok").inner_text()
        assert "Đã bắt đầu đợt hn-draft" in flash
        assert "Đang chạy" in await page.locator("[data-testid=status]").inner_text()
        await page.screenshot(path=str(artifacts / "dashboard-operator-launched.png"), full_page=True)

        await page.check("[data-testid=close-confirm]")
        await page.click("[data-testid=close]")
        await page.wait_for_selector(".flash.ok")
        assert "Đã kết thúc" in await page.locator("[data-testid=status]").inner_text()
    finally:
        await context.close()
    async with web_app.db.read() as conn:
        assert (await campaigns.get(conn, "hn-draft")).status == "closed"


PHONE = {"width": 390, "height": 844}


@pytest.fixture
async def demo_app(db: Any, db_url: str, tmp_path: Path) -> Any:
    """The application after its first start on a new database: the demo with its simulated responses."""
    from tests.web.conftest import web_settings

    app = Application(web_settings(db_url, tmp_path), first_run=True)
    await app.start()
    try:
        await add_accounts(app.db)
        yield app
    finally:
        await app.stop()


async def fits(page: Any) -> None:
    """Nothing runs off a phone's screen: the page is no wider than the viewport."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px screen"


async def test_the_dashboard_reads_on_a_phone(demo_app: Application, browser: Any, artifacts: Path) -> None:
    context = await browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    try:
        await log_in(page, demo_app, "op")
        await fits(page)
        await page.screenshot(path=str(artifacts / "dashboard-phone-campaigns.png"), full_page=True)

        await page.click("a[href='/dashboard/campaigns/demo']")
        await page.wait_for_url("**/dashboard/campaigns/demo")
        await fits(page)
        assert await page.locator("[data-testid=simulated]").is_visible()
        wards = page.locator("[data-testid=wards]")
        first = wards.locator("tbody tr td").first
        assert await first.evaluate("td => getComputedStyle(td).position") == "sticky"
        # the table scrolls inside its box, the first column stays, and a line says to swipe
        box = wards.locator("xpath=..")
        assert await box.evaluate("b => b.scrollWidth > b.clientWidth && getComputedStyle(b).overflowX == 'auto'")
        before = await first.bounding_box()
        await box.evaluate("b => { b.scrollLeft = 300; }")
        after = await first.bounding_box()
        assert before and after and abs(before["x"] - after["x"]) < 1
        assert await page.locator(".swipe").first.is_visible()
        for chart in ("svg.timeline", "[data-testid=chart]"):
            width = await page.locator(chart).evaluate("e => e.getBoundingClientRect().width")
            assert 0 < width <= PHONE["width"], (chart, width)
        assert await page.locator("[data-testid=timeline-legend]").count() == 1  # a quiet day: suppressed
        await page.locator("[data-testid=chart]").evaluate("img => img.decode()")
        await page.screenshot(path=str(artifacts / "dashboard-phone-campaign.png"), full_page=True)

        await first.locator("a").click()
        await page.wait_for_selector("[data-testid=trends]")
        await fits(page)
        cell = page.locator("[data-testid=trends-table] tbody tr td").first
        assert await cell.evaluate("td => getComputedStyle(td).position") == "sticky"
        await page.screenshot(path=str(artifacts / "dashboard-phone-ward.png"), full_page=True)

        await papi_page_reads_on_a_phone(demo_app, page, artifacts)
    finally:
        await context.close()
    assert not problems, problems


async def papi_page_reads_on_a_phone(app: Application, page: Any, artifacts: Path) -> None:
    """A PAPI campaign's page at 390 px: the dimensions table scrolls in its box with its first column fixed (not
    squeezed to a letter a line), the nav's items are whole, numbers are never cut, the page is not endless."""
    from datetime import UTC, datetime, timedelta

    from tests.papi.support import papi_campaign, random_answers

    rng = random.Random(5)
    now = datetime.now(UTC)
    c = await papi_campaign(app.db, now - timedelta(days=2), code="papi-phone", wards=[70, 235])
    await add_answers(app.db, c, [{**random_answers(rng, w), "ward": w} for w in (70, 235) for _ in range(40)], now)
    await page.goto(base_url(app) + "/dashboard/campaigns/papi-phone")
    await fits(page)
    table = page.locator("[data-testid=dimensions]")
    first = table.locator("tbody tr td").first
    assert await first.evaluate("td => getComputedStyle(td).position") == "sticky"
    assert await table.locator("xpath=..").evaluate("b => getComputedStyle(b).overflowX") == "auto"
    assert await page.locator("[data-testid=dimensions-swipe]").is_visible()
    for cell in await table.locator("tbody tr td:first-child").all():
        width = await cell.evaluate("td => td.getBoundingClientRect().width")
        assert width >= 100, (await cell.inner_text(), width)
    # no word broken across lines: an element's text is never taller than its words need
    narrow = await page.evaluate("""() => [...document.querySelectorAll('main td, main th, header nav a')]
        .filter(e => e.innerText.trim().length > 3 && e.getBoundingClientRect().width < 40)
        .map(e => e.innerText.trim())""")
    assert narrow == [], narrow
    line = await page.locator("header nav a").first.evaluate("a => parseFloat(getComputedStyle(a).lineHeight)")
    for link in await page.locator("header nav a").all():
        box = await link.bounding_box()
        assert box and box["height"] < 1.6 * line, (await link.inner_text(), box)
    # numbers in scrolling tables are never cut: a number cell's text is on one line
    for cell in await page.locator("main table td.num").all():
        style = await cell.evaluate("td => [getComputedStyle(td).whiteSpace, getComputedStyle(td).overflowWrap]")
        assert style[1] != "anywhere", (await cell.inner_text(), style)  # between words only, if at all
        if await cell.evaluate("td => td.matches('.plain, .hidden')"):
            assert style[0] == "nowrap", (await cell.inner_text(), style)
    height = await page.evaluate("document.documentElement.scrollHeight")
    assert height < 12000, f"the page is {height} px long"
    await page.screenshot(path=str(artifacts / "dashboard-phone-papi.png"), full_page=True)
    await table.locator("xpath=../..").screenshot(path=str(artifacts / "dashboard-phone-papi-dimensions.png"))
    await table.locator("xpath=..").evaluate("b => { b.scrollLeft = 250; }")
    await table.locator("xpath=../..").screenshot(path=str(artifacts / "dashboard-phone-papi-dimensions-swiped.png"))


async def test_a_screenshot_of_the_demo_dashboard(demo_app: Application, browser: Any, artifacts: Path) -> None:
    """The README's picture (docs/dashboard.png is a copy of test-artifacts/dashboard-demo.png)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = await context.new_page()
    try:
        await log_in(page, demo_app, "op")
        await page.goto(base_url(demo_app) + "/dashboard/campaigns/demo")
        await page.locator("[data-testid=chart]").evaluate("img => img.decode()")
        top = await page.locator("h1").evaluate("h => h.getBoundingClientRect().top + window.scrollY - 60")
        bottom = await page.locator("[data-testid=chart]").evaluate("i => i.getBoundingClientRect().bottom + 40")
        clip = {"x": 0, "y": top, "width": 1280, "height": bottom - top}
        await page.screenshot(path=str(artifacts / "dashboard-demo.png"), full_page=True, clip=clip)
        await page.screenshot(path=str(artifacts / "dashboard-demo-full.png"), full_page=True)
    finally:
        await context.close()
