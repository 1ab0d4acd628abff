"""Baseline: a python-telegram-bot `ConversationHandler` survey bot, for bench/load.py.

The python-telegram-bot examples' way: the questionnaire is spread across conversation states (one per
question), the answers are kept in `user_data`, written to the database at the end; a custom webhook puts
updates on the application's queue (PTB's documented custom-webhook pattern) and answers at once. Same
questions, labels and buttons as khaosat's.

    python -m bench.peers.ptb_conversation --api-base URL --port PORT --secret S --db-url URL
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

from aiohttp import web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bench.peers.common import CONSENT_YES, AnswerStore, PeerQuestion, next_index, questions

QS = questions()
CONSENT = -2


def keyboard(index: int, q: PeerQuestion, mask: int = 0) -> InlineKeyboardMarkup | None:
    if not q.options:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    if q.multi:
        for i, (_, label) in enumerate(q.options):
            on = bool(mask & (1 << i))
            rows.append(
                [InlineKeyboardButton(("✓ " if on else "") + label, callback_data=f"t:{index}:{mask ^ (1 << i)}")]
            )
        rows.append([InlineKeyboardButton(f"✔ Xong ({bin(mask).count('1')})", callback_data=f"d:{index}:{mask}")])
    else:
        rows += [[InlineKeyboardButton(label, callback_data=f"a:{index}:{value}")] for value, label in q.options]
    return InlineKeyboardMarkup(rows)


def question_text(index: int) -> str:
    return f"<b>Câu {index + 1}/{len(QS)}</b>\n{QS[index].text}"


class PerUserProcessor(BaseUpdateProcessor):
    """Updates of different people concurrently, one person's in the order they came.

    With PTB's plain `concurrent_updates(True)` a `ConversationHandler` moves to the next state only when
    the callback that sent the next question has returned: a press on that question's buttons arriving in
    between is matched against the old state and silently dropped (the load test's citizens press at once
    and saw it: 25 of 5,100 presses in a run of 300 citizens fell in that gap, each citizen then waiting 30 s
    for a reply before pressing again).
    PTB's concurrency guide points to a custom update processor for this; serializing per person is what a
    careful PTB bot does.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, tuple[asyncio.Lock, list[int]]] = {}  # user -> (lock, [updates holding or waiting])

    async def do_process_update(self, update: object, coroutine: Any) -> None:
        user = update.effective_user if isinstance(update, Update) else None
        if user is None:
            await coroutine
            return
        lock, users = self._locks.setdefault(user.id, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                await coroutine
        finally:
            users[0] -= 1
            if not users[0]:
                del self._locks[user.id]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def build(store: AnswerStore) -> ConversationHandler[Any]:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        assert update.message is not None and context.user_data is not None
        context.user_data["answers"] = {}
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(CONSENT_YES, callback_data="c:yes")]])
        await update.message.reply_text(
            "<b>Khảo sát</b>\nBạn có đồng ý tham gia không?", reply_markup=markup, parse_mode=ParseMode.HTML
        )
        return CONSENT

    async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE, index: int) -> int:
        chat = update.effective_chat
        assert chat is not None
        await context.bot.send_message(
            chat.id, question_text(index), reply_markup=keyboard(index, QS[index]), parse_mode=ParseMode.HTML
        )
        return index

    async def consent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_reply_markup(None)
        return await ask(update, context, 0)

    async def advance(update: Update, context: ContextTypes.DEFAULT_TYPE, index: int, value: Any) -> int:
        assert context.user_data is not None and update.effective_user is not None
        answers = context.user_data.setdefault("answers", {})
        answers[QS[index].id] = value
        nxt = next_index(QS, index, answers)
        if nxt >= len(QS):
            await store.save(update.effective_user.id, answers)
            chat = update.effective_chat
            assert chat is not None
            await context.bot.send_message(chat.id, "🎉 Cảm ơn bạn đã hoàn thành khảo sát!")
            return ConversationHandler.END
        return await ask(update, context, nxt)

    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        query = update.callback_query
        assert query is not None and query.data is not None
        _, index_s, value = query.data.split(":", 2)
        index = int(index_s)
        await query.answer()
        label = dict(QS[index].options).get(value, value)
        await query.edit_message_text(f"{question_text(index)}\n✅ {label}", parse_mode=ParseMode.HTML)
        return await advance(update, context, index, value)

    async def toggle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        query = update.callback_query
        assert query is not None and query.data is not None
        _, index_s, mask_s = query.data.split(":")
        index = int(index_s)
        await query.answer()
        await query.edit_message_reply_markup(keyboard(index, QS[index], int(mask_s)))
        return index

    async def done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        query = update.callback_query
        assert query is not None and query.data is not None
        _, index_s, mask_s = query.data.split(":")
        index, mask = int(index_s), int(mask_s)
        await query.answer()
        values = [v for i, (v, _) in enumerate(QS[index].options) if mask & (1 << i)]
        await query.edit_message_text(f"{question_text(index)}\n✅ {len(values)}", parse_mode=ParseMode.HTML)
        return await advance(update, context, index, values)

    def typed_for(index: int) -> Any:
        async def typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
            assert update.message is not None
            return await advance(update, context, index, update.message.text)

        return typed

    states: dict[object, list[Any]] = {CONSENT: [CallbackQueryHandler(consent, pattern="^c:yes$")]}
    for i, q in enumerate(QS):
        if q.multi:
            states[i] = [CallbackQueryHandler(toggle, pattern="^t:"), CallbackQueryHandler(done, pattern="^d:")]
        elif q.options:
            states[i] = [CallbackQueryHandler(answer, pattern=f"^a:{i}:")]
        else:
            states[i] = [MessageHandler(filters.TEXT & ~filters.COMMAND, typed_for(i))]
    return ConversationHandler(
        entry_points=[CommandHandler("start", start)], states=states, fallbacks=[], per_message=False
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--api-base", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--db-url", required=True)
    args = parser.parse_args()
    store = AnswerStore(args.db_url)
    await store.setup()
    application = (
        Application.builder()
        .token("123456:PEER")
        .base_url(f"{args.api_base}/bot")
        .updater(None)
        .concurrent_updates(PerUserProcessor(256))
        .connection_pool_size(64)
        .build()
    )
    application.add_handler(build(store))

    async def webhook(request: web.Request) -> web.Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != args.secret:
            return web.Response(status=401)
        await application.update_queue.put(Update.de_json(await request.json(), application.bot))
        return web.Response()

    app = web.Application()
    app.router.add_post("/tg", webhook)
    runner = web.AppRunner(app, access_log=None)
    async with application:
        await application.start()
        await application.bot.set_webhook(f"http://127.0.0.1:{args.port}/tg", secret_token=args.secret)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", args.port).start()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await runner.cleanup()
        await application.stop()


if __name__ == "__main__":
    from bench.peers.common import run

    run(main())
