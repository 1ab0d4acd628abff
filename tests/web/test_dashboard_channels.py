"""The campaign and ward pages tell completed responses apart by the channel they came through (Telegram, Zalo,
the web), under the small-cell rule."""

from __future__ import annotations

import re
from html import unescape

import sqlalchemy as sa

from bot.app import Application
from storage.repo.sql import response
from tests.web.dashboard_support import Client, add_accounts, add_responses, add_user


def channels_line(html: str) -> str:
    match = re.search(r'<p class="hint" data-testid="channels">(.*?)</p>', html, re.S)
    assert match, "no line of channels"
    return " ".join(unescape(re.sub(r"<[^>]+>", "", match.group(1))).split())


async def test_completed_responses_are_counted_per_channel(web_app: Application) -> None:
    await add_accounts(web_app.db)
    await add_responses(web_app.db)  # completed: ward 70 35, ward 235 12, ward 4 3
    async with web_app.db.write() as conn:
        ids = (
            await conn.execute(
                sa.select(response.c.id, response.c.ward_code)
                .where(response.c.status == "completed")
                .order_by(response.c.id)
            )
        ).all()
        in_70 = [i for i, ward in ids if ward == 70]
        await conn.execute(response.update().where(response.c.id.in_(in_70[:12])).values(channel="zalo"))
        in_4 = [i for i, ward in ids if ward == 4]
        await conn.execute(response.update().where(response.c.id.in_(in_4)).values(channel="web"))
    async with Client(web_app) as client:
        await client.login("op")  # an operator sees exact counts
        page = await client.get("/dashboard/campaigns/hn-2026")
        assert channels_line(page.text).endswith(": Telegram 35 · Zalo 12 · Trang web Web 3")
    await add_user(web_app.db, "city", "official", None)
    async with Client(web_app) as client:
        await client.login("city")  # an official of every ward: the small-cell rules
        page = await client.get("/dashboard/campaigns/hn-2026")
        assert page.status == 200
        # 35 Telegram, 12 Zalo, 3 web: the 3 are "<10", so Zalo's 12 is "≥10" (50 − 35 − 12 would tell)
        assert channels_line(page.text) == (
            "Phiếu hoàn thành theo kênh Completed responses by channel: Telegram 35 · Zalo ≥10 · Trang web Web <10"
        )
        ward = await client.get("/dashboard/campaigns/hn-2026/wards/70")
        assert channels_line(ward.text).endswith(": Telegram 23 · Zalo 12")
        ward = await client.get("/dashboard/campaigns/hn-2026/wards/4")
        assert channels_line(ward.text).endswith(": Trang web Web <10")
