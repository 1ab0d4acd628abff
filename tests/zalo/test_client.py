"""The Zalo client, update parsing and text splitting, against the fake Zalo Bot API (real HTTP)."""

from __future__ import annotations

import json

import pytest

from bot.zalo.client import ZaloError
from bot.zalo.text import plain, split_text
from bot.zalo.updates import ChatType, UpdateError, parse_update
from tests.zalo.fake_api import FakeZaloAPI


async def test_the_client_calls_every_method_and_reads_the_answers() -> None:
    async with FakeZaloAPI() as fake:
        client = fake.client()
        try:
            me = await client.get_me()
            assert me.account_name == "khaosat_test_bot" and me.can_join_groups
            sent = await client.send_message("u1", "Xin chào")
            assert sent.message_id and fake.texts("u1") == ["Xin chào"]
            await client.send_photo("g1", "https://example.org/c.png", "Biểu đồ")
            assert fake.messages("g1")[0].photo == "https://example.org/c.png"
            await client.send_chat_action("u1")
            await client.set_webhook("https://example.org/zalo/webhook", "s" * 8)
            assert (await client.get_webhook_info())["url"] == "https://example.org/zalo/webhook"
            await client.delete_webhook()
            assert (await client.get_webhook_info())["url"] == ""
        finally:
            await client.close()


async def test_get_updates_returns_one_update_or_none_after_a_quiet_poll() -> None:
    async with FakeZaloAPI() as fake:
        client = fake.client()
        try:
            assert await client.get_updates(timeout=0) is None  # 408: nothing, not an error
            fake.push_text("u1", "xin chào")
            update = await client.get_updates(timeout=1)
            assert update is not None and update.message.text == "xin chào"
            assert update.message.chat_type is ChatType.PRIVATE and update.is_text
        finally:
            await client.close()


async def test_refusals_are_unreachable_and_bad_requests_permanent() -> None:
    async with FakeZaloAPI() as fake:
        client = fake.client()
        try:
            fake.blocked.add("u9")
            with pytest.raises(ZaloError) as refused:
                await client.send_message("u9", "hi")
            assert refused.value.kind == "unreachable"
            with pytest.raises(ZaloError) as too_long:
                await client.send_message("u1", "x" * 2001)
            assert too_long.value.kind == "permanent"
            fake.fail_next.append(("sendMessage", 500, "Internal error"))
            with pytest.raises(ZaloError) as server:
                await client.send_message("u1", "hi")
            assert server.value.kind == "transient"
            fake.fail_next.append(("sendMessage", 429, "Too many requests"))
            with pytest.raises(ZaloError) as limited:
                await client.send_message("u1", "hi")
            assert limited.value.kind == "rate_limited"
        finally:
            await client.close()
        down = fake.client()
    with pytest.raises(ZaloError) as gone:  # the server is closed now
        await down.send_message("u1", "hi")
    assert gone.value.kind == "transient" and not gone.value.reached_server
    await down.close()


BARE = {
    "event_name": "message.text.received",
    "message": {
        "message_id": "abc",
        "date": 1733000000000,
        "text": "/start hn_70",
        "from": {"id": "u1", "display_name": "Lan", "is_bot": False},
        "chat": {"id": "c1", "chat_type": "GROUP"},
    },
}


def test_both_update_shapes_are_read_alike() -> None:
    bare = parse_update(BARE)
    wrapped = parse_update({"ok": True, "result": BARE})
    assert bare == wrapped
    assert bare.message.user_id == "u1" and bare.message.chat_id == "c1"
    assert bare.message.chat_type is ChatType.GROUP and bare.message.text == "/start hn_70"


@pytest.mark.parametrize(
    "body",
    [
        [],
        "x",
        {},
        {"ok": False, "result": BARE},
        {"ok": True, "result": "nope"},
        {"event_name": "message.text.received"},
        {"event_name": "message.text.received", "message": {"message_id": "1", "chat": {"id": "c"}}},
        {**BARE, "message": {**BARE["message"], "message_id": ""}},  # type: ignore[dict-item]
        {**BARE, "message": {**BARE["message"], "chat": {"id": "c", "chat_type": "CHANNEL"}}},  # type: ignore[dict-item]
        {**BARE, "message": {**BARE["message"], "text": 5}},  # type: ignore[dict-item]
    ],
)
def test_malformed_updates_are_refused_with_a_reason(body: object) -> None:
    with pytest.raises(UpdateError) as refused:
        parse_update(json.loads(json.dumps(body)))
    assert str(refused.value)


def test_split_text_cuts_at_line_breaks_under_the_limit_and_never_gives_an_empty_part() -> None:
    lines = [f"{i}. " + "ă" * 90 for i in range(60)]
    text = "\n".join(lines)
    parts = split_text(text)
    assert len(parts) > 1 and all(0 < len(p) <= 2000 for p in parts)
    assert "\n".join(parts) == text  # nothing lost, cut only between lines
    assert split_text("") == [] and split_text("\n\n") == []
    assert split_text("a\n\n\nb", limit=2) == ["a", "b"]
    long_line = "word " * 1000
    assert all(0 < len(p) <= 2000 for p in split_text(long_line))
    assert all(len(p) <= 7 for p in split_text("x" * 50, limit=7))


def test_plain_takes_the_tags_out() -> None:
    assert plain('<b>Câu 1/9</b> &amp; <a href="https://x.vn">trang</a>') == "Câu 1/9 & trang (https://x.vn)"
