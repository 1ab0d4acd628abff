"""The annual ranking's printable page (`khaosat report annual --out ranking.html`, or the dashboard's download)
printed by headless Chromium on A4 landscape: every column of every table fits the sheet (before, the summary's
eight dimensions with their ranks ran 2,670 px wide against 1,032 px printable and dimensions 5-8, the total and
its rank were cut off)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.app import Application
from tests.web.dashboard_support import Client, add_user
from tests.web.test_papi_dashboard import seed_papi
from tests.web.test_posters_print import pdf_pages

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

A4_LANDSCAPE_PRINTABLE = 1032  # (297 - 2 x 12) mm at 96 px an inch: the page's @page margins are 12 mm
A4_LANDSCAPE_POINTS = (842, 595)


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_the_printed_annual_ranking_fits_a4_landscape(
    web_app: Application, browser: Any, tmp_path: Path, artifacts: Path, lang: str
) -> None:
    at = await seed_papi(web_app)
    await add_user(web_app.db, "op", "operator")
    async with Client(web_app) as client:
        await client.login("op")
        reply = await client.get(f"/dashboard/annual.html?year={at.astimezone().year}&lang={lang}")
        assert reply.status == 200
    out = tmp_path / "ranking.html"
    out.write_text(reply.text, encoding="utf-8")
    page = await browser.new_page(viewport={"width": A4_LANDSCAPE_PRINTABLE, "height": 700})
    try:
        await page.goto(out.as_uri())
        await page.emulate_media(media="print")
        widths = await page.evaluate("""() => [...document.querySelectorAll('table')].map(t => [
            t.dataset.testid, t.scrollWidth, Math.ceil(t.getBoundingClientRect().right)])""")
        assert widths and all(w <= A4_LANDSCAPE_PRINTABLE and r <= A4_LANDSCAPE_PRINTABLE for _, w, r in widths), widths
        summary = page.locator("[data-testid=summary]")
        total_rank = summary.locator("tbody tr").first.locator("td").last
        box = await total_rank.bounding_box()
        assert box and box["x"] + box["width"] <= A4_LANDSCAPE_PRINTABLE  # the last column, the total's rank
        await summary.screenshot(path=str(artifacts / f"annual-ranking-{lang}-summary-print.png"))
        pdf = await page.pdf(prefer_css_page_size=True, print_background=True)
    finally:
        await page.close()
    (artifacts / f"annual-ranking-{lang}.pdf").write_bytes(pdf)
    sizes = pdf_pages(pdf)
    assert sizes and all(abs(w - A4_LANDSCAPE_POINTS[0]) < 2 and abs(h - A4_LANDSCAPE_POINTS[1]) < 2 for w, h in sizes)
