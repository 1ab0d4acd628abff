"""Posters for a ward office notice board: the QR code of a ward's deep link with the ward's name and the
campaign title under it (A4 portrait PNG at 150 dpi), and an index page to print them all at once.

A channel without deep links (Zalo) gets a poster whose QR code opens the bot, the same for every ward, with
the code the citizen sends it first ("hn-2026_70": campaign and ward) in large letters under it.

The index is HTML rather than CSV: an operator opens it in any browser by double-clicking, sees every
poster with its ward and link, and prints them all (one A4 sheet per poster, checked by printing it to PDF
in the browser tests) with Ctrl+P; a CSV with Vietnamese names
opens garbled in many spreadsheet set-ups and cannot show the images. Files are written to a temporary
folder inside the target folder and moved into place only when every poster has been drawn, so a failure
leaves no half-written file behind.
"""

from __future__ import annotations

import html
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from flows.text import fold

WIDTH, HEIGHT = 1240, 1754  # A4 at 150 dpi
MARGIN = 90
QR_TOP = 250
QR_SIZE = 860
QR_BORDER = 4  # modules of white around the code (the QR standard's quiet zone)
INDEX_NAME = "index.html"


@dataclass(frozen=True)
class PosterItem:
    ward_code: int
    ward_name: str
    link: str
    code_to_type: str | None = None
    """What the citizen sends the bot first, where the link cannot carry it (Zalo): shown in large letters."""


def _font_path(bold: bool) -> Path:
    import matplotlib

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name


_FONTS: dict[tuple[bool, int], Any] = {}


def _font(size: int, bold: bool = False) -> Any:
    key = (bold, size)
    if key not in _FONTS:
        _FONTS[key] = ImageFont.truetype(str(_font_path(bold)), size)
    return _FONTS[key]


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and draw.textlength(candidate, font=font) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    if line:
        lines.append(line)
    return lines


def _fit(draw: ImageDraw.ImageDraw, text: str, sizes: Sequence[int], width: int, max_lines: int, bold: bool) -> Any:
    """The largest font of `sizes` that sets `text` in at most `max_lines` lines of `width`."""
    for size in sizes:
        font = _font(size, bold)
        lines = _wrap(draw, text, font, width)
        if len(lines) <= max_lines and all(draw.textlength(x, font=font) <= width for x in lines):
            return font, lines
    font = _font(sizes[-1], bold)
    return font, _wrap(draw, text, font, width)


def _centred(draw: ImageDraw.ImageDraw, lines: list[str], font: Any, top: int, fill: str, spacing: int = 12) -> int:
    y = top
    for line in lines:
        box = draw.textbbox((0, 0), line, font=font)
        draw.text(((WIDTH - (box[2] - box[0])) / 2 - box[0], y), line, font=font, fill=fill)
        y += (box[3] - box[1]) + spacing + font.size // 5
    return y


def qr_matrix(link: str) -> list[list[bool]]:
    """The QR code's modules (True = dark), without the quiet zone."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(link)
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]


def qr_geometry(modules: int, qr_size: int = QR_SIZE) -> tuple[int, int, int]:
    """(left, top, module size in pixels) of the code's first module on the poster."""
    box = qr_size // (modules + 2 * QR_BORDER)
    size = box * (modules + 2 * QR_BORDER)
    left = (WIDTH - size) // 2 + box * QR_BORDER
    top = QR_TOP + (qr_size - size) // 2 + box * QR_BORDER
    return left, top, box


TYPE_QR_SIZE = 640
"""The QR code's size on a poster that also shows a code to type (there is less room)."""


def render(item: PosterItem, campaign_title: str) -> Image.Image:
    """One poster: a call to scan (Vietnamese, then English), the QR code, the code to send the bot (Zalo), the
    ward, the campaign, the link."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    inner = WIDTH - 2 * MARGIN
    typed = item.code_to_type
    call = "Quét mã QR để mở bot khảo sát trên Zalo" if typed else "Quét mã QR để tham gia khảo sát"
    y = _centred(draw, [call], _fit(draw, call, (60, 52, 44), inner, 1, True)[0], 80, "black")
    call_en = "Scan the QR code to open the survey bot in Zalo" if typed else "Scan the QR code to take the survey"
    _centred(draw, [call_en], _font(34), y, "#555555")

    size = TYPE_QR_SIZE if typed else QR_SIZE
    matrix = qr_matrix(item.link)
    left, top, box = qr_geometry(len(matrix), size)
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                draw.rectangle(
                    (left + c * box, top + r * box, left + (c + 1) * box - 1, top + (r + 1) * box - 1), "black"
                )

    y = QR_TOP + size + 40
    if typed:
        y = _centred(draw, ["rồi nhắn cho bot mã này / then send the bot this code:"], _font(34), y, "#222222")
        font, lines = _fit(draw, typed, (150, 130, 110, 92, 76, 64, 54, 46, 40, 34), inner - 60, 1, True)
        box_top = y + 5
        box_bottom = _centred(draw, lines, font, box_top + 30, "black") + 10
        draw.rectangle((MARGIN, box_top, WIDTH - MARGIN, box_bottom), outline="black", width=6)
        y = box_bottom + 30
    font, lines = _fit(draw, item.ward_name, (92, 80, 68, 56), inner, 2, True)
    y = _centred(draw, lines, font, y, "black")
    font, lines = _fit(draw, campaign_title, (46, 40, 34), inner, 3, False)
    y = _centred(draw, lines, font, y + 10, "#222222")
    font, lines = _fit(draw, item.link, (30, 26, 22), inner, 2, False)
    _centred(draw, lines, font, max(y + 20, HEIGHT - 150), "#555555")
    return image


def filename(item: PosterItem) -> str:
    """ "70-phuong-hoan-kiem.png": ASCII only, so it survives every file system and e-mail client."""
    slug = "-".join("".join(ch if ch.isalnum() else " " for ch in fold(item.ward_name)).split())
    return f"{item.ward_code}-{slug or 'ward'}.png"


def _index_html(campaign_code: str, campaign_title: str, items: Sequence[PosterItem]) -> str:
    e = html.escape
    typed = any(i.code_to_type for i in items)

    def code_cell(i: PosterItem) -> str:
        return f"<td><code>{e(i.code_to_type or '')}</code></td>" if typed else ""

    def code_meta(i: PosterItem) -> str:
        return f" · {e(i.code_to_type)}" if i.code_to_type else ""

    cards = "\n".join(
        f'<section class="poster"><img src="{e(filename(i))}" alt="QR {e(i.ward_name)}">'
        f'<p class="meta">{i.ward_code} · {e(i.ward_name)}{code_meta(i)} · <a href="{e(i.link)}">{e(i.link)}</a>'
        "</p></section>"
        for i in items
    )
    rows = "\n".join(
        f'<tr><td>{i.ward_code}</td><td>{e(i.ward_name)}</td>{code_cell(i)}<td><a href="{e(filename(i))}">'
        f'{e(filename(i))}</a></td><td><a href="{e(i.link)}">{e(i.link)}</a></td></tr>'
        for i in items
    )
    code_head = "<th>Mã để nhắn / Code to send</th>" if typed else ""
    return f"""<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<title>{e(campaign_title)} ({e(campaign_code)}): áp phích QR / QR posters</title>
<style>
body {{ font-family: "DejaVu Sans", Arial, sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; margin-bottom: 2em; }}
td, th {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }}
.poster img {{ width: 100%; max-width: 620px; display: block; }}
.meta {{ font-size: 0.9em; color: #555; }}
@media print {{
  html, body {{ margin: 0; padding: 0; }}
  .screen, .meta {{ display: none; }}
  /* one sheet per poster: the image is A4's shape, sized to the page's height (never a hair more, which would
     spill onto a second, blank sheet), and a page break between posters, not after the last one */
  .poster {{ margin: 0; height: 296mm; overflow: hidden; break-inside: avoid; page-break-inside: avoid; }}
  .poster + .poster {{ break-before: page; page-break-before: always; }}
  .poster img {{ display: block; height: 100%; width: auto; max-width: 100%; margin: 0 auto; object-fit: contain; }}
}}
@page {{ size: A4 portrait; margin: 0; }}
</style>
</head>
<body>
<div class="screen">
<h1>{e(campaign_title)}</h1>
<p>Mã đợt khảo sát / Campaign: <b>{e(campaign_code)}</b> · {len(items)} phường, xã / wards.
In tất cả áp phích: nhấn Ctrl+P (mỗi trang một áp phích). / Print every poster: press Ctrl+P (one per page).</p>
<table>
<tr><th>Mã / Code</th><th>Phường, xã / Ward</th>{code_head}<th>Tệp / File</th><th>Liên kết / Link</th></tr>
{rows}
</table>
</div>
{cards}
</body>
</html>
"""


def progress_bar(total: int, show: bool) -> Any:
    """A progress bar on stderr for drawing `total` posters (a few seconds for a province's wards); shown only
    when `show` (stderr is a terminal) and there is more than one poster, silent otherwise."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("drawing posters"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not show or total < 2,
    )


def write_posters(
    directory: Path,
    campaign_code: str,
    campaign_title: str,
    items: Sequence[PosterItem],
    drawn: Callable[[int], None] | None = None,
) -> list[Path]:
    """Draw every poster and the index into `directory` (created if needed); returns the files, index last.
    `drawn(n)` is called after each poster (n drawn so far), e.g. to move a progress bar.

    Raises OSError when the folder cannot be created or written.
    """
    directory.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".posters-", dir=directory))
    try:
        names: list[str] = []
        for item in items:
            info = PngImagePlugin.PngInfo()
            info.add_text("Link", item.link)
            if item.code_to_type:
                info.add_text("Code", item.code_to_type)
            info.add_itxt("Title", f"{item.ward_name} · {campaign_title}")
            name = filename(item)
            render(item, campaign_title).save(staging / name, format="PNG", pnginfo=info, optimize=True)
            names.append(name)
            if drawn is not None:
                drawn(len(names))
        (staging / INDEX_NAME).write_text(_index_html(campaign_code, campaign_title, items), encoding="utf-8")
        written = []
        for name in [*names, INDEX_NAME]:
            os.replace(staging / name, directory / name)
            written.append(directory / name)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)
