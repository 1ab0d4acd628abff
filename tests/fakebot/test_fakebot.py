"""Tests of the fake Telegram Bot API itself, driven by the real aiogram Bot over HTTP."""

from __future__ import annotations

import asyncio
import io
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeChatAdministrators,
    BufferedInputFile,
    ChatMemberAdministrator,
    ChatMemberMember,
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from tests.fakebot import FakeBotAPI, SendRecord, parse_html

USER = 111
OTHER = 222
GROUP = -100
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d)] for t, d in pairs])


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeBotAPI) -> AsyncIterator[Bot]:
    client = fake.make_bot()
    yield client
    await client.session.close()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def receiver() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Starts a tiny aiohttp server on 127.0.0.1 with the given handler; returns its URL."""
    runners: list[web.AppRunner] = []

    async def serve(handler: Handler) -> str:
        app = web.Application()
        app.router.add_post("/hook", handler)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}/hook"

    yield serve
    for runner in runners:
        await runner.cleanup()


# --- basics ----------------------------------------------------------------------------------------------------


async def test_get_me(fake: FakeBotAPI, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.username == "khaosat_test_bot"
    assert me.id == bot.id == fake.bot_user["id"] == fake.bot_user.id
    assert me.is_bot
    assert fake.calls[-1].method == "getMe"


async def test_send_and_edit(fake: FakeBotAPI, bot: Bot) -> None:
    first = await bot.send_message(USER, "Câu 1/14", reply_markup=keyboard(("Có", "yes"), ("Không", "no")))
    second = await bot.send_message(USER, "Câu 2/14")
    other = await bot.send_message(OTHER, "Xin chào")
    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)
    assert isinstance(first.reply_markup, InlineKeyboardMarkup)
    assert fake.buttons(fake.messages(USER)[0]) == [("Có", "yes"), ("Không", "no")]
    assert fake.last_message(USER).text == "Câu 2/14"

    edited = await bot.edit_message_text(
        "Câu 1/14 (đã trả lời)", chat_id=USER, message_id=first.message_id, reply_markup=keyboard(("Sửa", "edit"))
    )
    assert isinstance(edited, Message)
    assert edited.edit_date is not None
    assert fake.messages(USER)[0].text == "Câu 1/14 (đã trả lời)"
    assert fake.sent[0].text == "Câu 1/14"  # the record of what was sent is kept

    with pytest.raises(TelegramBadRequest, match="message is not modified: specified new message content"):
        await bot.edit_message_text(
            "Câu 1/14 (đã trả lời)", chat_id=USER, message_id=first.message_id, reply_markup=keyboard(("Sửa", "edit"))
        )
    # Without reply_markup the keyboard goes away, so this is a modification.
    await bot.edit_message_text("Câu 1/14 (đã trả lời)", chat_id=USER, message_id=first.message_id)
    assert fake.messages(USER)[0].reply_markup is None
    await bot.edit_message_reply_markup(chat_id=USER, message_id=first.message_id, reply_markup=keyboard(("A", "a")))
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=USER, message_id=first.message_id, reply_markup=keyboard(("A", "a"))
        )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=99)

    assert await bot.delete_message(USER, second.message_id)
    assert [m.message_id for m in fake.messages(USER)] == [1]
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER, second.message_id)
    assert len(fake.sent) == 3


async def test_send_validation(fake: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(USER, "")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "x" * 4097)
    await bot.send_message(USER, "x" * 4096)
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "q", reply_markup=keyboard(("long", "đ" * 33)))  # 66 bytes
    await bot.send_message(USER, "q", reply_markup=keyboard(("ok", "d" * 64)))
    assert len(fake.sent) == 2
    assert [status for _, _, status, _ in fake.errors] == [400, 400, 400]


async def test_html_validation(fake: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities: Can't find end tag corresponding to start"):
        await bot.send_message(USER, "<b>x", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match='Unsupported start tag "" at byte offset 2'):
        await bot.send_message(USER, "1 < 2", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match='Unsupported start tag "br"'):
        await bot.send_message(USER, "a<br>b", parse_mode="HTML")
    sent = await bot.send_message(USER, "&lt;b&gt; <b>đậm</b> &amp; <i>nghiêng</i>", parse_mode="HTML")
    assert sent.text == "<b> đậm & nghiêng"
    assert [(e.type, e.offset, e.length) for e in sent.entities or []] == [("bold", 4, 3), ("italic", 10, 7)]
    stored = fake.last_message(USER)
    assert stored.text == "&lt;b&gt; <b>đậm</b> &amp; <i>nghiêng</i>"
    assert stored.plain_text == "<b> đậm & nghiêng"
    # The default parse mode set on the Bot is what gets validated.
    html_bot = fake.make_bot(default=DefaultBotProperties(parse_mode="HTML"))
    try:
        with pytest.raises(TelegramBadRequest, match="can't parse entities"):
            await html_bot.send_message(USER, "Điểm < 5")
    finally:
        await html_bot.session.close()


def test_parse_html_details() -> None:
    assert parse_html('<a href="https://x.vn/?a=1&amp;b=2">link</a> 😀 <code>x</code>') == (
        "link 😀 x",
        [
            {"offset": 0, "length": 4, "type": "text_link", "url": "https://x.vn/?a=1&b=2"},
            {"offset": 8, "length": 1, "type": "code"},  # the emoji counts as 2 UTF-16 units
        ],
    )
    assert parse_html('<pre><code class="language-python">x = 1</code></pre>')[1] == [
        {"offset": 0, "length": 5, "type": "pre", "language": "python"}
    ]
    assert parse_html("<span class=tg-spoiler>s</span><tg-spoiler>t</tg-spoiler>")[1][0]["type"] == "spoiler"
    assert parse_html("<blockquote expandable>q</blockquote>")[1][0]["type"] == "expandable_blockquote"
    assert parse_html("a & b > c &#39; &#x41;") == ("a & b > c ' A", [])
    for bad, message in [
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ("<a href>x</a>", 'Expected equal sign in declaration of an attribute of the tag "a"'),
    ]:
        with pytest.raises(ValueError, match=message.replace("(", r"\(")):
            parse_html(bad)


async def test_media_upload_and_download(fake: FakeBotAPI, bot: Bot) -> None:
    photo = await bot.send_photo(USER, BufferedInputFile(PNG, "chart.png"), caption="<b>Biểu đồ</b>", parse_mode="HTML")
    document = await bot.send_document(OTHER, BufferedInputFile(b"a,b\n1,2\n", "report.csv"), caption="Báo cáo")
    assert photo.photo and photo.caption == "Biểu đồ"
    assert document.document and document.document.file_name == "report.csv"
    assert fake.messages(USER)[0].photo == PNG
    assert fake.messages(OTHER)[0].document == b"a,b\n1,2\n"
    assert [m.kind for m in fake.sent] == ["photo", "document"]

    buffer = io.BytesIO()
    await bot.download(photo.photo[-1].file_id, destination=buffer)
    assert buffer.getvalue() == PNG
    again = await bot.send_photo(GROUP, photo.photo[-1].file_id)  # resend by file_id
    assert fake.messages(GROUP)[0].photo == PNG and again.photo

    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(USER, BufferedInputFile(b"not an image", "x.png"))


# --- updates ---------------------------------------------------------------------------------------------------


async def test_get_updates_long_polling(fake: FakeBotAPI, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    assert not poll.done()
    update_id = fake.push_message(USER, "/start ref_123", first_name="Lan")
    updates = await asyncio.wait_for(poll, 1)
    assert [u.update_id for u in updates] == [update_id]
    message = updates[0].message
    assert message is not None and message.text == "/start ref_123"
    assert message.from_user is not None and message.from_user.first_name == "Lan"
    assert message.entities is not None and message.entities[0].type == "bot_command"
    assert message.entities[0].length == len("/start")
    assert message.chat.type == "private"

    # Not confirmed yet: returned again; confirmed by a higher offset: gone forever.
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [update_id]
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == []
    assert await bot.get_updates(timeout=0) == []
    assert update_id in fake.confirmed
    await fake.wait_idle(1, quiet=0)

    # Group messages, raw updates and the message ids the users' messages take.
    group_update = fake.push_message(USER, "xin chào", chat_id=GROUP, chat_type="group")
    sticker_update = fake.push_raw(
        {
            "message": {
                "from": {"id": OTHER, "is_bot": False, "first_name": "B"},
                "chat": {"id": OTHER, "type": "private", "first_name": "B"},
                "sticker": {
                    "file_id": "s",
                    "file_unique_id": "s",
                    "type": "regular",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                },
            }
        }
    )
    updates = await bot.get_updates(offset=update_id + 1, timeout=1)
    assert [u.update_id for u in updates] == [group_update, sticker_update]
    assert updates[0].message is not None and updates[0].message.chat.type == "group"
    assert updates[1].message is not None and updates[1].message.sticker is not None
    sent = await bot.send_message(USER, "ok")
    assert sent.message_id == 2  # the user's /start was message 1 of this chat


async def test_concurrent_get_updates_conflict(fake: FakeBotAPI, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(bot.get_updates(timeout=5))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 1)
    fake.push_message(USER, "hi")
    assert len(await asyncio.wait_for(second, 1)) == 1


async def test_push_callback_carries_stored_message(fake: FakeBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(
        USER, "Bạn hài lòng không?", reply_markup=keyboard(("Có", "q1:yes"), ("Không", "q1:no"))
    )
    markup = keyboard(("Có", "q1:yes"), ("Không", "q1:no"))
    await bot.edit_message_text(
        "Bạn hài lòng không? (1/2)", chat_id=USER, message_id=sent.message_id, reply_markup=markup
    )
    update_id = fake.push_callback(USER, "q1:no", sent.message_id)
    with pytest.raises(ValueError, match="no button with callback_data"):
        fake.push_callback(USER, "forged", sent.message_id, check_button=True)

    (update,) = await bot.get_updates(timeout=1)
    query = update.callback_query
    assert query is not None and query.data == "q1:no"
    assert isinstance(query.message, Message)
    assert query.message.message_id == sent.message_id
    assert query.message.text == "Bạn hài lòng không? (1/2)"  # the current, edited message
    assert query.message.reply_markup is not None
    assert [b.callback_data for row in query.message.reply_markup.inline_keyboard for b in row] == ["q1:yes", "q1:no"]

    assert await bot.answer_callback_query(query.id, text="Đã ghi nhận")
    assert fake.callback_answers[query.id].text == "Đã ghi nhận"
    assert fake.callback_answer(update_id) == fake.callback_answers[query.id]
    with pytest.raises(TelegramBadRequest, match="query is too old and response timeout expired"):
        await bot.answer_callback_query(query.id)
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await bot.answer_callback_query("123")

    second = fake.push_button(USER, fake.messages(USER)[0], "Có")
    assert fake.push_callback(USER, "x", 42) > second  # unknown message: an InaccessibleMessage
    updates = await bot.get_updates(offset=update.update_id + 1, timeout=1)
    assert updates[0].callback_query is not None and updates[0].callback_query.data == "q1:yes"
    assert updates[1].callback_query is not None and updates[1].callback_query.message is not None
    assert isinstance(updates[1].callback_query.message, InaccessibleMessage)
    assert updates[0].callback_query.id != updates[1].callback_query.id


# --- webhook ---------------------------------------------------------------------------------------------------


async def test_webhook_redelivers_until_acknowledged(
    fake: FakeBotAPI, bot: Bot, receiver: Callable[[Handler], Awaitable[str]]
) -> None:
    seen: list[tuple[int, str | None]] = []

    async def hook(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append((body["update_id"], request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        return web.Response(status=500 if len(seen) == 1 else 200)

    url = await receiver(hook)
    assert await bot.set_webhook(url, secret_token="s3cret_token-1", drop_pending_updates=True)
    info = await bot.get_webhook_info()
    assert info.url == url and info.max_connections == 40

    update_id = fake.push_message(USER, "xin chào")
    await fake.wait_idle(2)
    assert seen == [(update_id, "s3cret_token-1"), (update_id, "s3cret_token-1")]
    assert fake.delivery_attempts[update_id] == 2
    assert update_id in fake.acknowledged
    assert [d.status for d in fake.deliveries] == [500, 200]
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"

    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates()
    assert await bot.delete_webhook()
    other = fake.push_message(USER, "sau khi xoá webhook")
    assert [u.update_id for u in await bot.get_updates(timeout=1)] == [other]


async def test_webhook_connection_errors_are_retried(fake: FakeBotAPI, bot: Bot) -> None:
    # Nothing listens on this port (the fake's own port after binding a throwaway one would race; use port 9).
    await bot.set_webhook("http://127.0.0.1:9/hook")
    update_id = fake.push_message(USER, "hi")
    await fake.wait_for(lambda: fake.delivery_attempts[update_id] >= 3, 2)
    assert update_id not in fake.acknowledged
    assert fake.deliveries[0].status is None and fake.deliveries[0].error == "Connection refused"
    await bot.delete_webhook()
    assert fake.pending_updates()[0]["update_id"] == update_id  # still waiting, now for getUpdates


async def test_webhook_timeout_is_retried(receiver: Callable[[Handler], Awaitable[str]]) -> None:
    calls = 0

    async def slow_once(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(0.5)
        return web.Response()

    async with FakeBotAPI(webhook_timeout=0.1, webhook_retry_delay=0.01) as fake:
        bot = fake.make_bot()
        try:
            await bot.set_webhook(await receiver(slow_once))
            update_id = fake.push_message(USER, "hi")
            await fake.wait_idle(2)
            assert [(d.status, d.error) for d in fake.deliveries] == [(None, "Read timeout expired"), (200, None)]
            assert fake.acknowledged == {update_id}
        finally:
            await bot.session.close()


@pytest.mark.parametrize(("max_connections", "expected_concurrency"), [(10, 2), (1, 1)])
async def test_webhook_orders_each_chat(
    fake: FakeBotAPI,
    bot: Bot,
    receiver: Callable[[Handler], Awaitable[str]],
    max_connections: int,
    expected_concurrency: int,
) -> None:
    received: dict[int, list[str]] = defaultdict(list)
    in_flight: dict[int, int] = defaultdict(int)
    overlaps: list[int] = []
    max_total = 0
    failed_once: set[str] = set()

    async def hook(request: web.Request) -> web.Response:
        nonlocal max_total
        message = (await request.json())["message"]
        chat, text = message["chat"]["id"], message["text"]
        in_flight[chat] += 1
        max_total = max(max_total, sum(in_flight.values()))
        if in_flight[chat] > 1:
            overlaps.append(chat)
        try:
            await asyncio.sleep(0.03 if chat == USER else 0.002)
            if text == "1" and text + str(chat) not in failed_once:  # each chat's 2nd update fails once
                failed_once.add(text + str(chat))
                return web.Response(status=502)
            received[chat].append(text)
            return web.Response()
        finally:
            in_flight[chat] -= 1

    await bot.set_webhook(await receiver(hook), max_connections=max_connections)
    for i in range(5):
        fake.push_message(USER, str(i))
        fake.push_message(OTHER, str(i))
    await fake.wait_idle(3)
    assert received[USER] == received[OTHER] == ["0", "1", "2", "3", "4"]
    assert overlaps == []
    assert max_total == expected_concurrency  # the two chats are delivered concurrently, up to max_connections
    assert len(fake.acknowledged) == 10
    assert sum(fake.delivery_attempts.values()) == 12


async def test_webhook_with_aiogram_dispatcher_and_reply_in_response(
    fake: FakeBotAPI, bot: Bot, receiver: Callable[[Handler], Awaitable[str]]
) -> None:
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> object:
        return message.answer(f"Bạn nói: {message.text}")  # returned, not awaited: sent in the webhook response

    url = await receiver(SimpleRequestHandler(dp, bot, secret_token="abc", handle_in_background=False).handle)
    await bot.set_webhook(url, secret_token="abc")
    fake.push_message(USER, "xin chào")
    (reply,) = await fake.wait_messages(USER, 1)
    assert reply.text == "Bạn nói: xin chào"
    await fake.wait_idle(2)


async def test_polling_with_aiogram_dispatcher(fake: FakeBotAPI, bot: Bot) -> None:
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(f"<i>{message.text}</i>", parse_mode="HTML")

    task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1, close_bot_session=False))
    try:
        fake.push_message(USER, "một")
        fake.push_message(OTHER, "hai")
        await fake.wait_messages(USER, 1)
        await fake.wait_messages(OTHER, 1)
        await fake.wait_idle(2)
        assert fake.last_message(USER).plain_text == "một"
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(task, 3)


# --- faults and limits -----------------------------------------------------------------------------------------


async def test_fail_next_429_and_chat_filter(fake: FakeBotAPI, bot: Bot) -> None:
    fake.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(USER, "a")
    assert caught.value.retry_after == 7
    assert "retry after 7" in caught.value.message
    await bot.send_message(USER, "a")

    fake.fail_next("sendMessage", 500, 2, chat_id=OTHER)
    await bot.send_message(USER, "b")  # another chat is not affected
    for _ in range(2):
        with pytest.raises(Exception, match="Internal Server Error"):
            await bot.send_message(OTHER, "c")
    await bot.send_message(OTHER, "c")
    assert [m.text for m in fake.sent] == ["a", "b", "c"]


async def test_block_and_revoked_token(fake: FakeBotAPI, bot: Bot) -> None:
    fake.block(USER)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER, "hi")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_photo(USER, BufferedInputFile(PNG, "a.png"))
    await bot.send_message(OTHER, "hi")
    fake.reset_faults()
    await bot.send_message(USER, "hi")

    fake.push_blocked(OTHER)
    (update,) = await bot.get_updates(timeout=1)
    assert update.my_chat_member is not None and update.my_chat_member.new_chat_member.status == "kicked"
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(OTHER, "hi")
    fake.push_blocked(OTHER, blocked=False)
    await bot.send_message(OTHER, "welcome back")

    fake.revoke("999:REVOKED")
    revoked = fake.make_bot("999:REVOKED")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await revoked.get_me()
    finally:
        await revoked.session.close()


async def test_delay_causes_client_timeout(fake: FakeBotAPI, bot: Bot) -> None:
    fake.delay("getMe", 0.3)
    with pytest.raises(TelegramNetworkError, match="Request timeout error"):
        await bot.get_me(request_timeout=0.1)  # type: ignore[arg-type]
    fake.delay("getMe", 0)
    assert (await bot.get_me()).username == "khaosat_test_bot"


async def test_rate_violations(fake: FakeBotAPI, bot: Bot) -> None:
    await bot.send_message(USER, "1")
    await bot.send_message(USER, "2")
    await bot.send_message(OTHER, "3")
    (violation,) = fake.rate_violations()
    assert violation.startswith(f"private chat {USER}: 2 sends within 1s")
    assert len(fake.send_times()) == 3 and len(fake.send_times(USER)) == 2

    spaced = FakeBotAPI()
    spaced.send_log = [SendRecord(t * 1.05, USER, False, "sendMessage", t) for t in range(10)]
    spaced.send_log += [SendRecord(t * 3.1, GROUP, True, "sendMessage", t) for t in range(20)]
    assert spaced.rate_violations() == []
    spaced.send_log.append(SendRecord(58.0, GROUP, True, "sendMessage", 99))  # 21 in [0, 60)
    assert [v.split(":")[0] for v in spaced.rate_violations()] == [f"group {GROUP}"]
    burst = FakeBotAPI()
    burst.send_log = [SendRecord(0.01 * i, 1000 + i, False, "sendMessage", 1) for i in range(31)]
    assert [v.split(":")[0] for v in burst.rate_violations()] == ["all chats"]


async def test_enforce_limits() -> None:
    async with FakeBotAPI(enforce_limits=True, per_chat_per_sec=1) as fake:
        bot = fake.make_bot()
        try:
            await bot.send_message(USER, "1")
            with pytest.raises(TelegramRetryAfter) as caught:
                await bot.send_message(USER, "2")
            assert caught.value.retry_after == 1
            await bot.send_message(OTHER, "3")
            assert fake.rate_violations() == []
        finally:
            await bot.session.close()


# --- commands, chats and raw HTTP ----------------------------------------------------------------------------


async def test_commands_per_scope(fake: FakeBotAPI, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand(command="start", description="Bắt đầu")])
    await bot.set_my_commands(
        [BotCommand(command="report", description="Báo cáo")], scope=BotCommandScopeAllGroupChats()
    )
    admin_scope = BotCommandScopeChatAdministrators(chat_id=GROUP)
    await bot.set_my_commands([BotCommand(command="campaign", description="Chiến dịch")], scope=admin_scope)
    assert [c.command for c in await bot.get_my_commands(scope=admin_scope)] == ["campaign"]
    assert fake.commands("all_group_chats") == [("report", "Báo cáo")]
    fake.set_member_status(GROUP, USER, "administrator")
    assert fake.visible_commands(USER) == ["start"]
    assert fake.visible_commands(GROUP, USER) == ["campaign"]
    assert fake.visible_commands(GROUP, OTHER) == ["report"]
    await bot.delete_my_commands(scope=BotCommandScopeAllGroupChats())
    assert fake.visible_commands(GROUP, OTHER) == ["start"]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Command", description="x")])


async def test_chats_and_members(fake: FakeBotAPI, bot: Bot) -> None:
    fake.push_message(USER, "hi", chat_id=GROUP, chat_type="group", chat_title="Phường Hoàn Kiếm")
    fake.set_member_status(GROUP, USER, "administrator")
    chat = await bot.get_chat(GROUP)
    assert chat.title == "Phường Hoàn Kiếm" and chat.type == "group"
    assert isinstance(await bot.get_chat_member(GROUP, USER), ChatMemberAdministrator)
    assert isinstance(await bot.get_chat_member(GROUP, OTHER), ChatMemberMember)
    admins = await bot.get_chat_administrators(GROUP)
    assert [a.user.id for a in admins] == [USER]
    assert await bot.set_chat_menu_button()
    assert await bot.leave_chat(GROUP)
    with pytest.raises(TelegramForbiddenError, match="bot is not a member of the group chat"):
        await bot.send_message(GROUP, "hi")
    assert await bot.log_out() and await bot.close()


async def test_raw_http_envelope(fake: FakeBotAPI) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{fake.base_url}/bot1:X/noSuchMethod") as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
        async with http.get(f"{fake.base_url}/bot1:X/sendMessage", params={"chat_id": "5", "text": "123"}) as response:
            body = await response.json()
            assert body["ok"] and body["result"]["text"] == "123" and body["result"]["chat"]["id"] == 5
        reply_markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
        async with http.post(
            f"{fake.base_url}/bot1:X/sendMessage", json={"chat_id": 5, "text": "j", "reply_markup": reply_markup}
        ) as response:
            assert (await response.json())["result"]["reply_markup"] == reply_markup
        fake.fail_next("getMe", 429, retry_after=3)
        async with http.post(f"{fake.base_url}/bot1:X/getMe") as response:
            assert response.status == 429
            assert await response.json() == {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 3",
                "parameters": {"retry_after": 3},
            }
    assert [c.method for c in fake.calls] == ["noSuchMethod", "sendMessage", "sendMessage", "getMe"]
    assert fake.calls[1].params == {"chat_id": 5, "text": "123"}


async def test_wait_for_reports_state_on_timeout(fake: FakeBotAPI, bot: Bot) -> None:
    await bot.send_message(USER, "hi")
    with pytest.raises(
        AssertionError, match=r"2 bot message\(s\) in chat 111.*last calls: \[\"sendMessage\(chat_id=111"
    ):
        await fake.wait_messages(USER, 2, timeout=0.05)
