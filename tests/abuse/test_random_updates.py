"""Abuse: hypothesis-generated updates POSTed to the real webhook (real HTTP, the real bot, the faithful fake
Bot API that refuses bad HTML). Random and huge texts, RTL and control characters, forged button data,
unknown commands, kinds of update we don't handle, messages from groups and channels.

No update may crash a handler (the processor counts failures), every call is answered 2xx (or 400 for a
body that is not an update), nothing the bot sends may be refused by Telegram for bad markup, and the
database stays consistent: every stored answer belongs to a question shown given the answers before it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import Application
from flows import engine
from storage.db import Database
from storage.repo import surveys
from storage.repo.sql import answer, campaign, response
from tests.conftest import create_live_campaign
from tests.fakebot import FakeBotAPI
from tests.telegram.harness import WEBHOOK_SECRET, bot_settings

pytestmark = pytest.mark.slow  # subprocesses, a browser or many requests: see README, Development

USERS = [9001, 9002, 9003]


class Running:
    """The fake Bot API and the application on an event loop in a background thread, so that a synchronous
    hypothesis test can drive them (and shrink failures)."""

    def __init__(self, db_url: str, tmp_path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fake: FakeBotAPI = self.call(self._fake())
        self.app: Application = self.call(self._app(db_url, tmp_path))
        assert self.app.settings.webhook_url is not None
        self.url = self.app.settings.webhook_url

    def call(self, coro: Any, timeout: float = 60) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    async def _fake(self) -> FakeBotAPI:
        fake = FakeBotAPI()
        await fake.start()
        return fake

    async def _app(self, db_url: str, tmp_path: Path) -> Application:
        app = Application(bot_settings(self.fake, db_url, tmp_path, mode="webhook"))
        await app.start()
        await create_live_campaign(app.db, datetime.now(UTC))
        return app

    def post(self, body: bytes) -> int:
        request = urllib.request.Request(
            self.url,
            data=body,
            headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return int(r.status)
        except urllib.error.HTTPError as e:
            return int(e.code)

    def close(self) -> None:
        self.call(self.app.stop())
        self.call(self.fake.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("abuse")
    r = Running(f"sqlite+aiosqlite:///{tmp / 'abuse.db'}", tmp)
    yield r
    r.close()


# --- strategies ----------------------------------------------------------------------------------------

nasty_text = st.one_of(
    st.text(max_size=50),
    st.text(min_size=4000, max_size=5000, alphabet="ab <>&\"'"),
    st.just(""),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "So", "Sk"]), max_size=40),
    st.sampled_from(
        [
            "<b>bold</b>",
            "</i><script>alert(1)</script>",
            "'; DROP TABLE answer; --",
            "\u202egnp.exe",
            "مرحبا بالعالم",
            "😀" * 300,
            "{{ 7*7 }} {% raw %}",
            "\x00\x01\x02",
            "hoan kiem",
            "1",
            "4",
            "có",
        ]
    ),
)
commands = st.sampled_from(
    [
        "/start",
        "/start hn-2026_70",
        "/start hn-2026",
        "/start nope_1",
        "/start hn-2026_999999",
        "/help",
        "/lang",
        "/restart",
        "/delete_my_data",
        "/cancel",
        "/stats hn-2026",
        "/close hn-2026",
        "/subscribe ABC",
        "/xyz",
        "/start@khaosat_test_bot",
        "/start " + "a" * 200,
    ]
)
callback_data = st.one_of(
    st.text(max_size=64),
    st.from_regex(r"[abtdspkclyr]:[0-9]{1,6}:[a-z_]{1,12}:[a-z0-9_]{1,8}", fullmatch=True),
    st.sampled_from(
        [
            "c:1:hn-2026:70",
            "c:0:hn-2026:",
            "c:1:nope:",
            "k:hn-2026",
            "l:en",
            "l:fr",
            "y:restart:1:",
            "y:delete:0:",
            "r:1",
            "y:close:1:hn-2026",
            "t:1:top_issues:99999999",
            "d:1:top_issues:-1",
        ]
    ),
)
user = st.sampled_from(USERS)


def sender(uid: int) -> dict[str, Any]:
    return {"id": uid, "is_bot": False, "first_name": "Ng<b>ười</b> dùng", "language_code": "vi"}


@st.composite
def updates(draw: st.DrawFn) -> dict[str, Any]:
    uid = draw(user)
    kind = draw(
        st.sampled_from(
            [
                "text",
                "command",
                "callback",
                "group",
                "channel",
                "sticker",
                "edited",
                "member",
                "inline",
                "location",
                "no_from",
            ]
        )
    )
    private = {"id": uid, "type": "private"}
    base = {"message_id": draw(st.integers(1, 10**6)), "date": 1_800_000_000, "chat": private, "from": sender(uid)}
    if kind == "text":
        return {"message": {**base, "text": draw(nasty_text)}}
    if kind == "command":
        text = draw(commands)
        return {
            "message": {
                **base,
                "text": text,
                "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
            }
        }
    if kind == "callback":
        return {
            "callback_query": {
                "id": str(draw(st.integers(1, 10**12))),
                "from": sender(uid),
                "chat_instance": "1",
                "data": draw(callback_data),
                "message": {**base, "text": "x"},
            }
        }
    if kind == "group":
        chat = {"id": -100 - uid, "type": draw(st.sampled_from(["group", "supergroup"])), "title": "Nhóm <i>"}
        return {"message": {**base, "chat": chat, "text": draw(st.one_of(nasty_text, commands))}}
    if kind == "channel":
        return {
            "channel_post": {
                "message_id": 1,
                "date": 1,
                "chat": {"id": -1001, "type": "channel", "title": "C"},
                "text": draw(nasty_text),
            }
        }
    if kind == "sticker":
        return {
            "message": {
                **base,
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
    if kind == "edited":
        return {"edited_message": {**base, "text": draw(nasty_text), "edit_date": 1}}
    if kind == "member":
        return {
            "my_chat_member": {
                "chat": private,
                "from": sender(uid),
                "date": 1,
                "old_chat_member": {"status": "member", "user": sender(uid)},
                "new_chat_member": {"status": "kicked", "user": sender(uid), "until_date": 0},
            }
        }
    if kind == "inline":
        return {"inline_query": {"id": "1", "from": sender(uid), "query": draw(nasty_text), "offset": ""}}
    if kind == "location":
        return {"message": {**base, "location": {"latitude": 21.03, "longitude": 105.85}}}
    return {"message": {"message_id": 1, "date": 1, "chat": private, "text": "no sender"}}


_update_ids = iter(range(50_000_000, 10**9))


async def consistent(db: Database) -> list[str]:
    """Problems with the stored answers: any answer to a question hidden by the answers before it."""
    problems = []
    async with db.read() as conn:
        rows = (
            await conn.execute(
                sa.select(response.c.id, response.c.fixed, campaign.c.survey_id).join(
                    campaign, campaign.c.id == response.c.campaign_id
                )
            )
        ).all()
        for row in rows:
            survey_def = await surveys.definition(conn, row.survey_id)
            answers = tuple(
                (q, v)
                for q, v in (
                    await conn.execute(
                        sa.select(answer.c.question_id, answer.c.value)
                        .where(answer.c.response_id == row.id)
                        .order_by(answer.c.id)
                    )
                ).all()
            )
            state = engine.State(consented=True, answers=answers, fixed=frozenset(row.fixed or ()))
            if engine._normalise(survey_def, state) != state:
                problems.append(f"response {row.id}: answers to hidden or unknown questions {answers}")
    return problems


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(batch=st.lists(updates(), min_size=1, max_size=8))
def test_random_updates_never_crash_and_keep_the_database_consistent(
    running: Running, batch: list[dict[str, Any]]
) -> None:
    failed = running.app.processor.failed
    errors = len(running.fake.errors)
    for update in batch:
        status = running.post(json.dumps({"update_id": next(_update_ids), **update}).encode())
        assert status == 200, update
    assert running.app.processor.failed == failed, "an update made a handler fail"
    new_errors = running.fake.errors[errors:]
    markup_errors = [e for e in new_errors if "parse entities" in e[3] or "BUTTON_DATA_INVALID" in e[3]]
    assert markup_errors == []
    assert running.call(consistent(running.app.db)) == []


def test_garbage_bodies_are_refused_with_400(running: Running) -> None:
    for body in [b"", b"null", b"[]", b'{"update_id": "x"}', b"\xff\xfe", b'{"update_id": 1, "message": 5}']:
        assert running.post(body) == 400, body
    assert running.app.processor.failed == 0
