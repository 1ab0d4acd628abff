"""The posters' index.html printed by a real browser (headless Chromium, to PDF): one A4 sheet per poster, no
blank sheets; and the progress of drawing them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from reports.posters import INDEX_NAME, PosterItem, progress_bar, write_posters

pytestmark = pytest.mark.slow  # subprocesses, a browser or many requests: see README, Development

ITEMS = [
    PosterItem(70, "Phường Hoàn Kiếm", "https://t.me/khaosat_hanoi_bot?start=hn-2026_70"),
    PosterItem(235, "Phường Đống Đa", "https://t.me/khaosat_hanoi_bot?start=hn-2026_235"),
    PosterItem(
        9556, "Xã Bất Bạt, một tên rất dài để thử xuống dòng", "https://t.me/khaosat_hanoi_bot?start=hn-2026_9556"
    ),
]
A4_POINTS = (595, 842)  # 210 x 297 mm


def pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    """The size in points of every page of a PDF (Chromium writes its page objects uncompressed)."""
    pages = re.findall(rb"/Type\s*/Page\b(?!s).*?/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf, re.S)
    if not pages:  # the MediaBox may come before /Type
        count = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
        return [A4_POINTS] * count
    return [(float(w), float(h)) for w, h in pages]


@pytest.mark.parametrize("count", [1, 3])
async def test_printing_the_index_gives_one_a4_sheet_per_poster(
    browser: Any, tmp_path: Path, artifacts: Path, count: int
) -> None:
    folder = tmp_path / "posters"
    write_posters(folder, "hn-2026", "Khảo sát sự hài lòng của người dân với chính quyền phường, xã", ITEMS[:count])
    page = await browser.new_page()
    try:
        await page.goto((folder / INDEX_NAME).as_uri())
        await page.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        pdf = await page.pdf(prefer_css_page_size=True, print_background=True)
    finally:
        await page.close()
    (artifacts / f"posters-{count}.pdf").write_bytes(pdf)
    sizes = pdf_pages(pdf)
    assert len(sizes) == count, f"{len(sizes)} sheets for {count} posters"
    assert all(abs(w - A4_POINTS[0]) < 2 and abs(h - A4_POINTS[1]) < 2 for w, h in sizes), sizes


def test_drawing_posters_reports_each_one_and_shows_a_bar_only_on_a_terminal(tmp_path: Path) -> None:
    drawn: list[int] = []
    written = write_posters(tmp_path, "hn-2026", "Khảo sát", ITEMS[:2], drawn=drawn.append)
    assert drawn == [1, 2] and len(written) == 3
    assert progress_bar(126, show=True).disable is False
    assert progress_bar(126, show=False).disable is True  # stderr is not a terminal: quiet
    assert progress_bar(1, show=True).disable is True  # one poster: nothing to follow


async def test_zalo_posters_with_the_code_to_send_print_one_a4_sheet_each(
    browser: Any, tmp_path: Path, artifacts: Path
) -> None:
    bot = "https://zalo.me/2916420913417436125"
    items = [PosterItem(i.ward_code, i.ward_name, bot, f"hn-2026_{i.ward_code}") for i in ITEMS]
    folder = tmp_path / "posters-zalo"
    write_posters(folder, "hn-2026", "Khảo sát sự hài lòng của người dân với chính quyền phường, xã", items)
    page = await browser.new_page()
    try:
        await page.goto((folder / INDEX_NAME).as_uri())
        await page.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        assert await page.locator("td code").all_inner_texts() == ["hn-2026_70", "hn-2026_235", "hn-2026_9556"]
        pdf = await page.pdf(prefer_css_page_size=True, print_background=True)
    finally:
        await page.close()
    (artifacts / "posters-zalo.pdf").write_bytes(pdf)
    sizes = pdf_pages(pdf)
    assert len(sizes) == 3, f"{len(sizes)} sheets for 3 posters"
    assert all(abs(w - A4_POINTS[0]) < 2 and abs(h - A4_POINTS[1]) < 2 for w, h in sizes), sizes
