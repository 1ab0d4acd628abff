"""A lead department's Zalo group (a code issued with --dimensions) gets the dimensions' digest as plain text in
parts of at most 2,000 characters, through the Zalo outbox."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.app import scheduler_config
from bot.zalo.sender import ZaloTransport
from reports import digests
from scheduler.app import sender_for
from storage.db import Database
from storage.repo import chats, outbox
from tests.conftest import Clock
from tests.papi.support import papi_campaign
from tests.scheduler.test_department_digest import FIRE, lead, seed
from tests.zalo.fake_api import FakeZaloAPI
from tests.zalo.harness import zalo_settings

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
GROUP = "g-so-noi-vu"


async def test_a_department_zalo_group_gets_its_dimensions_as_plain_text(
    db: Database, fake: FakeZaloAPI, tmp_path: Path, clock: Clock
) -> None:
    c: Any = await papi_campaign(db, clock(), wards=[70, 235, 4, 8])
    await lead(db, clock)
    async with db.write() as conn:
        code = await chats.issue_code(
            conn, scope=None, schedule="daily 08:00", language="vi", now=clock(), dimensions=[5, 6]
        )
        await chats.redeem(conn, code=code.code, chat_id=GROUP, title="", user_id="u-snv", now=clock(), channel="zalo")
    await seed(db, c.id, clock() + timedelta(hours=2))
    clock.now = FIRE
    assert await digests.queue_due_digests(db, clock(), TZ, 0.2) == 1
    async with db.read() as conn:
        rows = await outbox.list_by_prefix(conn, f"digest:zalo:{GROUP}:")
    assert rows and all(r.channel == "zalo" for r in rows)
    transport = ZaloTransport(fake.client(), None, owns_client=True)
    try:
        cfg = zalo_settings(fake, str(db.url), tmp_path)
        await sender_for(db, clock, transport, "zalo", scheduler_config(cfg)).drain()
    finally:
        await transport.close()
    texts = fake.texts(GROUP)
    assert len(texts) == len(rows) and all(0 < len(t) <= 2000 for t in texts)
    joined = "\n".join(texts)
    assert joined.startswith("📊 Báo cáo theo lĩnh vực PAPI: Khảo sát PAPI papi-2026\n")
    assert "Lĩnh vực: 5. Thủ tục hành chính công, 6. Cung ứng dịch vụ công" in joined
    assert "• Hoàn thành trong kỳ: 130" in joined and "<b>" not in joined and "&lt;" not in joined
