"""The dashboard's digest preview (what a group, or any scope, will receive) and test digest (operators only)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

from bot.app import Application
from storage.repo import chats, outbox
from tests.web.dashboard_support import Client, add_accounts, add_responses, csrf_of


async def subscribe(app: Application, chat_id: int, scope: list[int] | None) -> None:
    now = datetime.now(UTC)
    async with app.db.write() as conn:
        code = await chats.issue_code(
            conn, scope=scope, schedule="daily 08:00", language="vi", now=now, valid_for=timedelta(days=1)
        )
        await chats.redeem(conn, code=code.code, chat_id=chat_id, title="Cán bộ phường Hoàn Kiếm", user_id=1, now=now)


async def test_an_operator_previews_what_a_group_will_receive_and_sends_it_a_test(web_app: Application) -> None:
    await add_accounts(web_app.db)
    await add_responses(web_app.db)
    await subscribe(web_app, -1001, [70])
    async with Client(web_app) as client:
        await client.login("op")
        page = await client.get("/dashboard/digests")
        assert page.status == 200 and "Cán bộ phường Hoàn Kiếm" in page.text
        preview = await client.get("/dashboard/digests?chat=-1001")
        assert preview.status == 200
        shown = preview.text.split('data-testid="preview"')[1]
        assert "Báo cáo khảo sát" in shown and "Phường Hoàn Kiếm" in shown
        assert "Lời nhắc đã gửi trong kỳ" in shown
        scoped = await client.get("/dashboard/digests?scope=all&lang=en")
        assert scoped.status == 200 and "Survey digest" in scoped.text
        bad = await client.get("/dashboard/digests?scope=70;drop")
        assert bad.status == 400 and "ward codes separated by commas" in bad.text
        unknown = await client.get("/dashboard/digests?chat=-42")
        assert unknown.status == 404

        sent = await client.post("/dashboard/digests/test", {"csrf": csrf_of(page.text), "chat": "-1001"})
        assert sent.status == 303
        async with web_app.db.read() as conn:
            queued = await outbox.list_by_prefix(conn, "digest-now:-1001:test-")
        assert queued and all(m.recipient == "-1001" for m in queued)
        again = await client.post("/dashboard/digests/test", {"csrf": csrf_of(page.text), "chat": "-1001"})
        flash = await client.get(again.location)
        assert "Vừa gửi cách đây ít phút" in flash.text  # the cooldown of /digest holds for tests too


async def test_officials_may_not_preview_or_send_digests(web_app: Application) -> None:
    await add_accounts(web_app.db)
    await subscribe(web_app, -1001, [70])
    async with Client(web_app) as client:
        await client.login("hoankiem")
        assert (await client.get("/dashboard/digests")).status == 403
        page = await client.get("/dashboard/campaigns")
        refused = await client.post("/dashboard/digests/test", {"csrf": csrf_of(page.text), "chat": "-1001"})
        assert refused.status == 403


async def test_a_zalo_group_is_previewed_as_the_plain_text_it_will_receive_and_can_get_a_test(
    web_app: Application,
) -> None:
    await add_accounts(web_app.db)
    await add_responses(web_app.db)  # ward 70's first comment tries to inject markup
    now = datetime.now(UTC)
    async with web_app.db.write() as conn:
        code = await chats.issue_code(conn, scope=[70], schedule="daily 08:00", language="vi", now=now)
        await chats.redeem(conn, code=code.code, chat_id="g-hk", title="", user_id="u-1", now=now, channel="zalo")
    async with Client(web_app) as client:
        await client.login("op")
        page = await client.get("/dashboard/digests")
        listed = '<a href="/dashboard/digests?chat=zalo%3Ag-hk">zalo:g-hk</a> <span class="muted">(Zalo)</span>'
        assert listed in page.text
        preview = await client.get("/dashboard/digests?chat=zalo%3Ag-hk")
        assert preview.status == 200
        shown = preview.text.split('data-testid="preview"')[1]
        messages = re.findall(r'<div class="digest">(.*?)</div>', shown, re.S)
        assert messages and all(len(unescape(m.replace("<br>", "\n"))) <= 2000 for m in messages)
        plain = unescape("\n".join(messages).replace("<br>", "\n"))
        assert plain.startswith("📊 Báo cáo khảo sát: ")  # as Zalo shows it: no <b> ...
        assert "<b>" not in plain.replace("<b>ngập</b>", "") and "<i>" not in plain
        assert "<script>" in plain and "<script>" not in shown  # ... and a comment shown as typed, never run
        assert (await client.get("/dashboard/digests?chat=g-hk")).status == 404  # a Telegram chat of that id: none

        sent = await client.post("/dashboard/digests/test", {"csrf": csrf_of(page.text), "chat": "zalo:g-hk"})
        assert sent.status == 303
        async with web_app.db.read() as conn:
            queued = await outbox.list_by_prefix(conn, "digest-now:zalo:g-hk:test-")
        assert queued and all(m.channel == "zalo" and m.recipient == "g-hk" for m in queued)
