"""The floor: the least a Python webhook bot can do for this survey, for bench/load.py.

Not a bot anyone should run: no framework (the update is a dict, the Bot API calls are hand-built JSON),
no database (state in a dict, nothing stored), no validation. What it keeps is the Telegram traffic every
survey bot has: for each answer it parses the update, edits the answered question, sends the next one, and
answers the callback query in the webhook's response, before answering 2xx (as khaosat does). Its
throughput is what aiohttp and the machine allow for that traffic, with the load generator and the fake
Telegram on the same cores: a ceiling for any bot measured this way here.

    python -m bench.peers.raw_floor --api-base URL --port PORT --secret S --db-url URL
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from typing import Any

import aiohttp
from aiohttp import web

from bench.peers.common import CONSENT_YES, PeerQuestion, next_index, questions

QS = questions()


def keyboard(index: int, q: PeerQuestion, mask: int = 0) -> dict[str, Any] | None:
    if not q.options:
        return None
    rows: list[list[dict[str, str]]] = []
    if q.multi:
        for i, (_, label) in enumerate(q.options):
            on = bool(mask & (1 << i))
            rows.append([{"text": ("✓ " if on else "") + label, "callback_data": f"t:{index}:{mask ^ (1 << i)}"}])
        rows.append([{"text": f"✔ Xong ({bin(mask).count('1')})", "callback_data": f"d:{index}:{mask}"}])
    else:
        rows = [[{"text": label, "callback_data": f"a:{index}:{value}"}] for value, label in q.options]
    return {"inline_keyboard": rows}


def question_text(index: int) -> str:
    return f"<b>Câu {index + 1}/{len(QS)}</b>\n{QS[index].text}"


class Floor:
    def __init__(self, api_base: str, secret: str) -> None:
        self.api = f"{api_base}/bot123456:FLOOR/"
        self.secret = secret
        self.state: dict[int, tuple[int, dict[str, Any]]] = {}
        self.http: aiohttp.ClientSession | None = None

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        assert self.http is not None
        async with self.http.post(self.api + method, data=json.dumps(params), headers=_JSON) as r:
            return dict(json.loads(await r.read()))

    async def ask(self, chat_id: int, index: int) -> None:
        params: dict[str, Any] = {"chat_id": chat_id, "text": question_text(index), "parse_mode": "HTML"}
        markup = keyboard(index, QS[index])
        if markup:
            params["reply_markup"] = markup
        await self.call("sendMessage", **params)

    async def advance(self, chat_id: int, user_id: int, index: int, value: Any) -> None:
        _, answers = self.state.get(user_id, (index, {}))
        answers[QS[index].id] = value
        nxt = next_index(QS, index, answers)
        if nxt >= len(QS):
            self.state.pop(user_id, None)
            await self.call("sendMessage", chat_id=chat_id, text="🎉 Cảm ơn bạn đã hoàn thành khảo sát!")
            return
        self.state[user_id] = (nxt, answers)
        await self.ask(chat_id, nxt)

    async def webhook(self, request: web.Request) -> web.Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != self.secret:
            return web.Response(status=401)
        update = json.loads(await request.read())
        query = update.get("callback_query")
        if query is not None:
            return await self.on_callback(query)
        message = update.get("message") or {}
        chat_id, user_id, text = message["chat"]["id"], message["from"]["id"], message.get("text", "")
        if text.startswith("/start"):
            self.state[user_id] = (-1, {})
            markup = {"inline_keyboard": [[{"text": CONSENT_YES, "callback_data": "c:yes"}]]}
            await self.call(
                "sendMessage",
                chat_id=chat_id,
                text="<b>Khảo sát</b>\nBạn có đồng ý tham gia không?",
                parse_mode="HTML",
                reply_markup=markup,
            )
        else:
            index, _ = self.state.get(user_id, (-1, {}))
            if index >= 0 and not QS[index].options:
                await self.advance(chat_id, user_id, index, text)
        return web.Response(status=200)

    async def on_callback(self, query: dict[str, Any]) -> web.Response:
        chat_id, message_id = query["message"]["chat"]["id"], query["message"]["message_id"]
        user_id = query["from"]["id"]
        kind, _, rest = query["data"].partition(":")
        if kind == "c":
            await self.call("editMessageReplyMarkup", chat_id=chat_id, message_id=message_id)
            self.state[user_id] = (0, {})
            await self.ask(chat_id, 0)
        elif kind == "a":
            index_s, value = rest.split(":", 1)
            index = int(index_s)
            label = dict(QS[index].options).get(value, value)
            text = f"{question_text(index)}\n✅ {label}"
            await self.call("editMessageText", chat_id=chat_id, message_id=message_id, text=text, parse_mode="HTML")
            await self.advance(chat_id, user_id, index, value)
        elif kind == "t":
            index_s, mask_s = rest.split(":")
            index = int(index_s)
            markup = keyboard(index, QS[index], int(mask_s))
            await self.call("editMessageReplyMarkup", chat_id=chat_id, message_id=message_id, reply_markup=markup)
        elif kind == "d":
            index_s, mask_s = rest.split(":")
            index, mask = int(index_s), int(mask_s)
            values = [v for i, (v, _) in enumerate(QS[index].options) if mask & (1 << i)]
            text = f"{question_text(index)}\n✅ {len(values)}"
            await self.call("editMessageText", chat_id=chat_id, message_id=message_id, text=text, parse_mode="HTML")
            await self.advance(chat_id, user_id, index, values)
        reply = {"method": "answerCallbackQuery", "callback_query_id": query["id"]}
        return web.Response(body=json.dumps(reply), content_type="application/json")


_JSON = {"Content-Type": "application/json"}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--api-base", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--db-url", required=True, help="accepted for the harness; nothing is stored")
    args = parser.parse_args()
    floor = Floor(args.api_base, args.secret)
    floor.http = aiohttp.ClientSession()
    app = web.Application()
    app.router.add_post("/tg", floor.webhook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port).start()
    await floor.call("setWebhook", url=f"http://127.0.0.1:{args.port}/tg", secret_token=args.secret)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()
    await floor.http.close()


if __name__ == "__main__":
    from bench.peers.common import run

    run(main())
