"""The dashboard in real headless Chromium (Playwright): an official sees only their wards; an operator launches
a campaign. Screenshots go to test-artifacts/. SQLite only: the server tests cover PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.app import Application
from storage.repo import campaigns
from tests.web.conftest import base_url
from tests.web.dashboard_support import PASSWORD, add_accounts, add_draft, add_responses

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


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
