"""Baseline: a conventional aiogram 3 FSM survey bot, for bench/load.py.

How such bots are usually written: the position and the answers live in the FSM (MemoryStorage), skip rules
are written by hand, the answers go to the database once, at the end; the webhook uses aiogram's
SimpleRequestHandler as documented (it answers Telegram before handling the update). Fast, and loses
everything in memory on a crash. Same questions, labels and buttons as khaosat's, so the load is the same.

    python -m bench.peers.aiogram_fsm --api-base URL --port PORT --secret S --db-url URL
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.filters import CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bench.peers.common import CONSENT_YES, AnswerStore, PeerQuestion, next_index, questions

QS = questions()


def keyboard(index: int, q: PeerQuestion, mask: int = 0) -> InlineKeyboardMarkup | None:
    if not q.options:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    if q.multi:
        for i, (_, label) in enumerate(q.options):
            on = bool(mask & (1 << i))
            rows.append(
                [InlineKeyboardButton(text=("✓ " if on else "") + label, callback_data=f"t:{index}:{mask ^ (1 << i)}")]
            )
        rows.append([InlineKeyboardButton(text=f"✔ Xong ({bin(mask).count('1')})", callback_data=f"d:{index}:{mask}")])
    else:
        for value, label in q.options:
            rows.append([InlineKeyboardButton(text=label, callback_data=f"a:{index}:{value}")])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def question_text(index: int) -> str:
    return f"<b>Câu {index + 1}/{len(QS)}</b>\n{QS[index].text}"


def build(store: AnswerStore) -> Router:
    router = Router()

    async def ask(bot: Bot, chat_id: int, index: int) -> None:
        await bot.send_message(chat_id, question_text(index), reply_markup=keyboard(index, QS[index]))

    async def advance(bot: Bot, chat_id: int, user_id: int, state: FSMContext, index: int, value: Any) -> None:
        data = await state.get_data()
        answers = dict(data.get("answers", {}))
        answers[QS[index].id] = value
        nxt = next_index(QS, index, answers)
        if nxt >= len(QS):
            await store.save(user_id, answers)  # written once, at the end
            await state.clear()
            await bot.send_message(chat_id, "🎉 Cảm ơn bạn đã hoàn thành khảo sát!")
            return
        await state.update_data(answers=answers, index=nxt)
        await ask(bot, chat_id, nxt)

    @router.message(CommandStart())
    async def start(message: Message, state: FSMContext) -> None:
        await state.set_data({"answers": {}, "index": -1})
        markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=CONSENT_YES, callback_data="c:yes")]])
        await message.answer("<b>Khảo sát</b>\nBạn có đồng ý tham gia không?", reply_markup=markup)

    @router.callback_query(F.data == "c:yes")
    async def consent(query: CallbackQuery, bot: Bot, state: FSMContext) -> None:
        await query.answer()
        assert query.message is not None
        await bot.edit_message_reply_markup(chat_id=query.message.chat.id, message_id=query.message.message_id)
        await state.update_data(index=0)
        await ask(bot, query.message.chat.id, 0)

    @router.callback_query(F.data.startswith("a:"))
    async def answer(query: CallbackQuery, bot: Bot, state: FSMContext) -> None:
        assert query.message is not None and query.data is not None
        _, index_s, value = query.data.split(":", 2)  # the hand-split callback string of the typical bot
        index = int(index_s)
        data = await state.get_data()
        if data.get("index") != index:
            await query.answer("Câu này đã được trả lời.")
            return
        await query.answer()
        label = dict(QS[index].options).get(value, value)
        await bot.edit_message_text(
            f"{question_text(index)}\n✅ {label}", chat_id=query.message.chat.id, message_id=query.message.message_id
        )
        await advance(bot, query.message.chat.id, query.from_user.id, state, index, value)

    @router.callback_query(F.data.startswith("t:"))
    async def toggle(query: CallbackQuery, bot: Bot) -> None:
        assert query.message is not None and query.data is not None
        _, index_s, mask_s = query.data.split(":")
        await query.answer()
        index = int(index_s)
        await bot.edit_message_reply_markup(
            chat_id=query.message.chat.id,
            message_id=query.message.message_id,
            reply_markup=keyboard(index, QS[index], int(mask_s)),
        )

    @router.callback_query(F.data.startswith("d:"))
    async def done(query: CallbackQuery, bot: Bot, state: FSMContext) -> None:
        assert query.message is not None and query.data is not None
        _, index_s, mask_s = query.data.split(":")
        index, mask = int(index_s), int(mask_s)
        await query.answer()
        values = [v for i, (v, _) in enumerate(QS[index].options) if mask & (1 << i)]
        await bot.edit_message_text(
            f"{question_text(index)}\n✅ {len(values)}",
            chat_id=query.message.chat.id,
            message_id=query.message.message_id,
        )
        await advance(bot, query.message.chat.id, query.from_user.id, state, index, values)

    @router.message(F.text)
    async def typed(message: Message, bot: Bot, state: FSMContext) -> None:
        assert message.from_user is not None and message.text is not None
        data = await state.get_data()
        index = data.get("index", -1)
        if index < 0 or QS[index].options:
            await message.answer("Vui lòng bấm một nút.")
            return
        await advance(bot, message.chat.id, message.from_user.id, state, index, message.text)

    return router


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--api-base", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--db-url", required=True)
    args = parser.parse_args()
    store = AnswerStore(args.db_url)
    await store.setup()
    session = AiohttpSession(api=TelegramAPIServer.from_base(args.api_base))
    bot = Bot("123456:PEER", session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    dp = Dispatcher(storage=MemoryStorage())
    dp.include_router(build(store))
    app = web.Application()
    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=args.secret).register(app, path="/tg")
    setup_application(app, dp, bot=bot)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port).start()
    await bot.set_webhook(f"http://127.0.0.1:{args.port}/tg", secret_token=args.secret)
    stop = asyncio.Event()
    import signal

    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    from bench.peers.common import run

    run(main())
