"""`khaosat chats list` shows each group's channel; `chats list --codes` names the chat a code subscribed;
`chats remove` takes a Zalo group as "zalo:<id>" (or its bare id when no other channel has it)."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.db import Database
from storage.repo import chats
from tests.scheduler.test_cli import cli, env, in_db  # noqa: F401  (env: the CLI's database, a fixture)


async def subscribe(db: Database, chat_id: str, channel: str) -> str:
    now = datetime.now(UTC)
    async with db.write() as conn:
        code = await chats.issue_code(conn, scope=[70], schedule="daily 08:00", language="vi", now=now)
        await chats.redeem(conn, code=code.code, chat_id=chat_id, title="UBND", user_id="u1", now=now, channel=channel)
    return code.display


def test_chats_list_shows_the_channel_and_remove_takes_a_zalo_group(env: str) -> None:  # noqa: F811
    code = in_db(env, lambda db: subscribe(db, "5f1c2a9b", "zalo"))
    in_db(env, lambda db: subscribe(db, "-1001", "telegram"))
    listed = cli("chats", "list").stdout.splitlines()
    assert listed == [
        "5f1c2a9b\tzalo\tactive\tdaily 08:00\tvi\t70\tUBND",
        "-1001\ttelegram\tactive\tdaily 08:00\tvi\t70\tUBND",
    ]
    codes = cli("chats", "list", "--codes").stdout
    assert f"{code}\tused by zalo:5f1c2a9b " in codes and "\tused by -1001 " in codes

    in_db(env, lambda db: subscribe(db, "-1001", "zalo"))  # the same id on both channels
    ambiguous = cli("chats", "remove", "-1001")
    assert ambiguous.exit_code == 1
    assert (
        ambiguous.stderr == "Error: -1001 is a chat on more than one channel: say which, telegram:-1001 or zalo:-1001\n"
    )
    removed = cli("chats", "remove", "zalo:-1001")
    assert removed.exit_code == 0 and removed.stdout.startswith("removed group chat zalo:-1001 (UBND)")
    assert cli("chats", "remove", "5f1c2a9b").stdout.startswith("removed group chat zalo:5f1c2a9b (UBND)")
    assert cli("chats", "list").stdout == "-1001\ttelegram\tactive\tdaily 08:00\tvi\t70\tUBND\n"
