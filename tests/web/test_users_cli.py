"""`khaosat users add|list|passwd|disable|remove|unlock` (click's CliRunner, SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.db import Database
from storage.repo import logins, users
from tests.conftest import clean_database
from tests.operators.helpers import arun, audit_rows, cli
from web.auth import verify_password


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("DATABASE_URL", db_url)
    for name in ("OPERATOR_IDS", "PROVINCE", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    if db_url.startswith("postgresql"):
        arun(db_url, clean_database)
    return db_url


def user(url: str, name: str) -> users.WebUserRecord | None:
    async def go(db: Database) -> users.WebUserRecord | None:
        async with db.read() as conn:
            return await users.get(conn, name)

    return arun(url, go)


def test_add_asks_for_the_password_twice_and_stores_only_its_hash(env: str) -> None:
    result = cli("users", "add", "Lan.Nguyen", "--role", "operator", input="a good password\na good password\n")
    assert result.exit_code == 0, result.output
    assert "added operator 'lan.nguyen' (every ward)" in result.output
    assert "a good password" not in result.output
    found = user(env, "lan.nguyen")
    assert found is not None and found.role == "operator" and found.scope is None
    assert found.password_hash.startswith("$argon2id$") and verify_password(found.password_hash, "a good password")
    assert "a good password" not in str(audit_rows(env))
    assert audit_rows(env)[-1][:2] == ("users.add", "ok")

    again = cli("users", "add", "lan.nguyen", "--role", "operator", input="another password\nanother password\n")
    assert again.exit_code == 1 and "already exists" in again.output


def test_add_an_official_with_a_scope_from_stdin(env: str) -> None:
    result = cli(
        "users",
        "add",
        "hoankiem",
        "--role",
        "official",
        "--scope",
        "70,235",
        "--password-stdin",
        input="pass word 123\n",
    )
    assert result.exit_code == 0, result.output
    assert "added official 'hoankiem' (wards 70, 235)" in result.output
    found = user(env, "hoankiem")
    assert found is not None and found.scope == (70, 235) and verify_password(found.password_hash, "pass word 123")


@pytest.mark.parametrize(
    ("args", "text", "message"),
    [
        (["x", "--role", "operator"], "long enough pw\nlong enough pw\n", "invalid name"),
        (["dd", "--role", "official"], "long enough pw\nlong enough pw\n", "an official needs --scope"),
        (["dd", "--role", "official", "--scope", "70,abc"], "long enough pw\n" * 2, "'abc' is not a ward code"),
        (["dd", "--role", "official", "--scope", "99999999"], "long enough pw\n" * 2, "unknown ward code(s): 99999999"),
        (["op2", "--role", "operator", "--scope", "70"], "long enough pw\n" * 2, "operators see every ward"),
        (["op2", "--role", "admin"], "long enough pw\n" * 2, "Invalid value for '--role'"),
        (["op2", "--role", "operator"], "short\nshort\n", "at least 10 characters"),
        (["op2", "--role", "operator"], "long enough pw\nsomething else\n", "do not match"),
        (["op2", "--role", "operator", "--password-stdin"], "", "at least 10 characters"),
    ],
)
def test_add_refuses_bad_input(env: str, args: list[str], text: str, message: str) -> None:
    result = cli("users", "add", *args, input=text)
    assert result.exit_code != 0
    assert message in result.output, result.output
    assert cli("users", "list").output.startswith("no dashboard users yet")


def test_list_passwd_disable_and_remove(env: str) -> None:
    assert cli("users", "list").output.startswith("no dashboard users yet")
    cli("users", "add", "op", "--role", "operator", "--password-stdin", input="first password\n")
    cli("users", "add", "dongda", "--role", "official", "--scope", "235", "--password-stdin", input="first password\n")
    listed = cli("users", "list").output
    assert "op " in listed and "operator" in listed and "dongda" in listed and "235" in listed

    result = cli("users", "passwd", "dongda", input="second password\nsecond password\n")
    assert result.exit_code == 0 and "password of 'dongda' changed" in result.output
    found = user(env, "dongda")
    assert found is not None and verify_password(found.password_hash, "second password")
    assert not verify_password(found.password_hash, "first password")
    assert cli("users", "passwd", "nobody", "--password-stdin", input="second password\n").exit_code == 1

    assert cli("users", "disable", "dongda").exit_code == 0
    assert user(env, "dongda").disabled  # type: ignore[union-attr]
    assert "disabled" in cli("users", "list").output
    assert cli("users", "disable", "dongda", "--enable").exit_code == 0
    assert not user(env, "dongda").disabled  # type: ignore[union-attr]

    result = cli("users", "remove", "dongda")
    assert result.exit_code == 0 and "removed official 'dongda'" in result.output
    assert user(env, "dongda") is None
    missing = cli("users", "remove", "dongda")
    assert missing.exit_code == 1 and "no user named 'dongda'" in missing.output
    actions = [(action, outcome) for action, outcome, _ in audit_rows(env)]
    assert ("users.passwd", "ok") in actions and ("users.remove", "ok") in actions
    assert ("users.remove", "error") in actions and ("users.disable", "ok") in actions


@pytest.mark.parametrize("command", ["add", "list", "passwd", "disable", "remove", "unlock"])
def test_help_has_examples(command: str) -> None:
    result = cli("users", command, "--help")
    assert result.exit_code == 0
    assert f"khaosat users {command}" in result.stdout.split("Examples:", 1)[1]


def test_unlock_ends_the_lock_outs_of_a_name_from_every_address(env: str) -> None:
    cli("users", "add", "op", "--role", "operator", "--password-stdin", input="first password\n")
    now = datetime.now(UTC)

    async def lock_out(db: Database) -> None:
        async with db.write() as conn:
            for address in ("10.0.0.1", "10.0.0.2"):
                await logins.attempt(conn, "op", address, now, timedelta(minutes=15))
                await logins.lock(conn, "op", address, now + timedelta(minutes=15))
            await logins.attempt(conn, "other", "10.0.0.1", now, timedelta(minutes=15))

    async def counted(db: Database) -> list[tuple[str, str]]:
        async with db.read() as conn:
            found = [(n, a) for n in ("op", "other") for a in ("10.0.0.1", "10.0.0.2")]
            return [(n, a) for n, a in found if await logins.failures(conn, n, a) is not None]

    arun(env, lock_out)
    result = cli("users", "unlock", "OP")
    assert result.exit_code == 0 and "'op' unlocked" in result.output and "2 address(es)" in result.output
    assert arun(env, counted) == [("other", "10.0.0.1")]  # another name's count is kept
    assert "'op' had no failed logins" in cli("users", "unlock", "op").output
    missing = cli("users", "unlock", "nobody")
    assert missing.exit_code == 1 and "no user named 'nobody'" in missing.output
    assert [(a, o) for a, o, _ in audit_rows(env)][-3:] == [
        ("users.unlock", "ok"),
        ("users.unlock", "ok"),
        ("users.unlock", "error"),
    ]
