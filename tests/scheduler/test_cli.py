"""`khaosat chats code|list|remove` and `khaosat scheduler --once`, with their exact messages."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from bot.cli import main
from scheduler.leader import FileLeader
from storage import migrate
from storage.db import Database
from storage.outbox import Outgoing
from storage.repo import outbox, wards
from storage.repo.outbox import NewMessage
from storage.repo.sql import campaign, official_chat
from tests.conftest import create_live_campaign
from tests.fakebot import FakeBotAPI

SETTINGS = ("TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE", "SCHEDULER_LOCK_FILE", "PROVINCE", "TELEGRAM_BOT_USERNAME")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite+aiosqlite:///{tmp_path / 'k.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("TZ", "Asia/Ho_Chi_Minh")
    monkeypatch.setenv("SECRET_KEY", "cli-secret")
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    return url


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def in_db(url: str, fn: object) -> object:
    async def go() -> object:
        db = Database(url)
        try:
            await migrate.upgrade(db)
            async with db.write() as conn:
                if await wards.count(conn, 1) == 0:
                    await wards.import_province(conn, 1)
            return await fn(db)  # type: ignore[operator]
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_code_for_all_wards(env: str) -> None:
    result = cli("chats", "code", "--scope", "all", "--schedule", "daily 8:00")
    assert result.exit_code == 0, result.output
    first, scope, schedule, hint = result.stdout.splitlines()
    match = re.fullmatch(
        r"code ([A-Z2-9]{4}-[A-Z2-9]{4}) \(valid until \d{4}-\d\d-\d\d \d\d:\d\d Asia/Ho_Chi_Minh\)", first
    )
    assert match is not None
    assert scope == "scope: all wards"
    assert schedule == "schedule: daily 08:00 (daily at 08:00, Asia/Ho_Chi_Minh); language: vi"
    assert hint == f"An administrator of the officials' group adds the bot and sends: /subscribe {match.group(1)}"
    listed = cli("chats", "list", "--codes")
    assert listed.exit_code == 0
    assert re.fullmatch(rf"{match.group(1)}\tvalid until [0-9: -]+\tdaily 08:00\tvi\tall\n", listed.stdout)


def test_code_for_some_wards_in_english_weekly(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "khaosat_hanoi_bot")
    result = cli("chats", "code", "--scope", "70, 235", "--schedule", "weekly Monday 08:30", "--lang", "en")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1] == "scope: Phường Hoàn Kiếm (70), Phường Đống Đa (235)"
    assert lines[2] == "schedule: weekly mon 08:30 (every Monday at 08:30, Asia/Ho_Chi_Minh); language: en"
    code = lines[0].split()[1]
    assert (
        lines[3]
        == f"An administrator of the officials' group adds the bot and sends: /subscribe@khaosat_hanoi_bot {code}"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--scope", "70,abc"],
            "Invalid value for '--scope': 'abc' is not a ward code: use 'all' or ward codes separated by commas, "
            "e.g. 70,235 (see 'khaosat wards list')",
        ),
        (
            ["--scope", "70,999999"],
            "Invalid value for '--scope': unknown ward code(s): 999999; see 'khaosat wards list'",
        ),
        (
            ["--scope", "all", "--schedule", "hourly"],
            "Invalid value for '--schedule': invalid schedule 'hourly': use \"daily HH:MM\", \"weekly DAY HH:MM\" "
            '(DAY: mon..sun) or a cron expression such as "0 8 * * 1"',
        ),
        (
            ["--scope", "all", "--schedule", "*/5 * * * *"],
            "Invalid value for '--schedule': schedule '*/5 * * * *' fires more than once an hour; digests go out at "
            "most hourly",
        ),
        (["--scope", "all", "--lang", "fr"], "Invalid value for '--lang': 'fr' is not one of 'vi', 'en'."),
    ],
)
def test_code_refuses_bad_input(env: str, args: list[str], message: str) -> None:
    result = cli("chats", "code", *args)
    assert result.exit_code == 2
    assert " ".join(result.stderr.split()).endswith(" ".join(f"Error: {message}".split()))
    assert cli("chats", "list", "--codes").stdout == (
        "no subscription codes; issue one with 'khaosat chats code --scope ...'\n"
    )


def test_code_and_remove_are_audited(env: str) -> None:
    assert cli("chats", "code", "--scope", "70", "--schedule", "daily 8:00", "--days", "3").exit_code == 0
    assert cli("chats", "code", "--scope", "999999").exit_code == 2
    assert cli("chats", "remove", "-1001").exit_code == 1
    lines = [line.split("\t") for line in cli("audit").stdout.splitlines()]
    assert [line[2:] for line in lines[:3]] == [
        ["chats.code", "ok", "scope=[70] schedule=daily 08:00 language=vi days=3"],
        [
            "chats.code",
            "error",
            "scope=[999999] schedule=weekly mon 08:00 language=vi days=7 error=Invalid value for '--scope': "
            "unknown ward code(s): 999999; see 'khaosat wards list'",
        ],
        ["chats.remove", "error", "chat_id=-1001 error=no official chat with id -1001; see 'khaosat chats list'"],
    ]
    assert all(line[1].startswith("cli:") for line in lines)


def test_list_and_remove(env: str) -> None:
    assert (
        cli("chats", "list").stdout == "no group chats subscribed; issue a code with 'khaosat chats code --scope ...'\n"
    )
    removed = cli("chats", "remove", "-1001")
    assert (
        removed.exit_code == 1 and removed.stderr == "Error: no official chat with id -1001; see 'khaosat chats list'\n"
    )

    async def add(db: Database) -> None:
        async with db.write() as conn:
            now = datetime.now(UTC)
            await conn.execute(
                official_chat.insert(),
                [
                    {"address": "-1001", "title": "UBND Hoàn Kiếm", "scope": [70], "schedule": "daily 08:00",
                     "language": "vi", "active": True, "subscribed_at": now},
                    {"address": "-1002", "title": "", "scope": None, "schedule": "weekly mon 08:00",
                     "language": "en", "active": False, "subscribed_at": now + timedelta(seconds=1)},
                ],
            )  # fmt: skip
            await outbox.enqueue(conn, NewMessage("-1001", "digest", {"text": "x"}, "d1", "group"), now)

    in_db(env, add)
    assert cli("chats", "list").stdout == (
        "-1001\ttelegram\tactive\tdaily 08:00\tvi\t70\tUBND Hoàn Kiếm\n"
        "-1002\ttelegram\tpaused\tweekly mon 08:00\ten\tall\t\n"
    )
    removed = cli("chats", "remove", "-1001")
    assert removed.exit_code == 0
    assert removed.stdout == "removed group chat -1001 (UBND Hoàn Kiếm); it gets no more digests\n"
    assert cli("chats", "list").stdout == "-1002\ttelegram\tpaused\tweekly mon 08:00\ten\tall\t\n"

    async def status(db: Database) -> str | None:
        async with db.read() as conn:
            row = await outbox.by_key(conn, "d1")
        return None if row is None else row.status

    assert in_db(env, status) == "cancelled"


@pytest.fixture
def fake_api() -> Iterator[FakeBotAPI]:
    """The fake Bot API on its own thread and loop (the CLI runs its own event loop)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = FakeBotAPI()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_scheduler_once(env: str, fake_api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = cli("scheduler", "--once")
    assert missing.exit_code == 1
    assert missing.stderr == (
        "Error: TELEGRAM_BOT_TOKEN is not set: the scheduler sends through the Telegram bot; put the token from "
        "@BotFather in .env\n"
    )
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:TEST")
    monkeypatch.setenv("TELEGRAM_API_BASE", fake_api.base_url)

    async def prepare(db: Database) -> None:
        now = datetime.now(UTC)
        await create_live_campaign(db, now - timedelta(days=1))
        async with db.write() as conn:  # it ended a minute ago: the scheduler closes it
            await conn.execute(campaign.update().values(ends_at=now - timedelta(minutes=1)))
            await outbox.enqueue(conn, NewMessage("777", "notice", Outgoing(text="Xin chào").to_payload(), "n1"), now)

    in_db(env, prepare)
    result = cli("scheduler", "--once")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "closed 1 campaign(s); queued 0 invitation(s), 0 reminder(s), 0 digest(s); sent 1 message(s), 0 to retry, "
        "0 failed, 0 unreachable\n"
    )
    assert fake_api.last_message(777).plain_text == "Xin chào"

    async def closed(db: Database) -> str:
        async with db.read() as conn:
            return str((await conn.execute(sa.select(campaign.c.status))).scalar_one())

    assert in_db(env, closed) == "closed"

    async def hold() -> None:
        leader = FileLeader(tmp_path / "k.db.scheduler.lock")
        assert await leader.try_acquire()
        try:
            busy = await asyncio.to_thread(cli, "scheduler", "--once")
        finally:
            await leader.release()
        assert busy.exit_code == 1
        assert busy.stderr == (
            f"Error: another scheduler is active (it holds the lock file {tmp_path / 'k.db.scheduler.lock'})\n"
        )

    asyncio.run(hold())
