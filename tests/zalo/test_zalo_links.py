"""`khaosat campaign links CODE --channel zalo [--qr DIR]`: per ward the code a citizen sends the bot and the
bot's address; posters with the QR code of the bot and the code in large letters."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from reports.posters import HEIGHT, INDEX_NAME, TYPE_QR_SIZE, WIDTH, PosterItem, qr_geometry, qr_matrix, render
from tests.operators.conftest import env  # noqa: F401  (the CLI's environment: a migrated database)
from tests.operators.helpers import cli, create, publish

BOT = "https://zalo.me/2916420913417436125"
LINES = [
    f"4\tPhường Ba Đình\thn-2026_4\t{BOT}",
    f"70\tPhường Hoàn Kiếm\thn-2026_70\t{BOT}",
    f"235\tPhường Đống Đa\thn-2026_235\t{BOT}",
]


def qr_shows(image: Image.Image, link: str, size: int) -> bool:
    """Every module of the poster's QR code has the colour of the code for `link`."""
    matrix = qr_matrix(link)
    left, top, box = qr_geometry(len(matrix), size)
    grey = image.convert("L")
    return all(
        (grey.getpixel((left + c * box + box // 2, top + r * box + box // 2)) < 128) == dark  # type: ignore[operator]
        for r, row in enumerate(matrix)
        for c, dark in enumerate(row)
    )


@pytest.mark.usefixtures("env")
def test_zalo_links_give_the_code_to_send_and_the_bot_address(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    publish()
    create("hn-2026", "70,235,4")
    missing = cli("campaign", "links", "hn-2026", "--channel", "zalo")
    assert missing.exit_code == 1
    assert missing.stderr.startswith("Error: Zalo links need the address that opens the bot, and none is set: put ")
    assert "ZALO_BOT_LINK=" in missing.stderr and "--channel web" in missing.stderr

    monkeypatch.setenv("ZALO_BOT_LINK", BOT)
    result = cli("campaign", "links", "hn-2026", "--channel", "zalo")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == LINES

    posters = tmp_path / "posters"
    result = cli("campaign", "links", "hn-2026", "--channel", "zalo", "--qr", str(posters))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == LINES
    assert sorted(p.name for p in posters.iterdir()) == [
        "235-phuong-dong-da.png",
        "4-phuong-ba-dinh.png",
        "70-phuong-hoan-kiem.png",
        INDEX_NAME,
    ]
    with Image.open(posters / "70-phuong-hoan-kiem.png") as image:
        assert image.size == (WIDTH, HEIGHT)
        assert image.text["Link"] == BOT  # type: ignore[attr-defined]
        assert image.text["Code"] == "hn-2026_70"  # type: ignore[attr-defined]
        assert qr_shows(image, BOT, TYPE_QR_SIZE)  # the code opens the bot (the same for every ward)
    index = (posters / INDEX_NAME).read_text(encoding="utf-8")
    assert "<th>Mã để nhắn / Code to send</th>" in index and "<td><code>hn-2026_235</code></td>" in index

    monkeypatch.setenv("ZALO_BOT_LINK", "zalo.me/abc")
    invalid = cli("campaign", "links", "hn-2026", "--channel", "zalo")
    assert invalid.exit_code == 1 and "invalid setting ZALO_BOT_LINK" in invalid.stderr


def test_the_code_to_send_is_printed_large_between_the_qr_code_and_the_ward() -> None:
    """The code's box is the darkest wide band under the QR code; without a code the poster is as before."""
    with_code = render(PosterItem(70, "Phường Hoàn Kiếm", BOT, "hn-2026_70"), "Khảo sát").convert("L")
    plain = render(PosterItem(70, "Phường Hoàn Kiếm", BOT), "Khảo sát").convert("L")
    band = (0, 250 + TYPE_QR_SIZE + 80, WIDTH, 250 + TYPE_QR_SIZE + 260)
    dark = sum(with_code.crop(band).histogram()[:128])
    assert dark > 40_000  # letters about 150 px high over most of the width, and the box around them
    assert qr_shows(plain, BOT, 860) and not qr_shows(with_code, BOT, 860)
