"""Every command that changes the database writes an audit row, and output cut by a closed pipe ends the
command quietly with status 141 (as `cat` or `grep` killed by SIGPIPE), its audit row written all the same.

The commands are enumerated from the CLI itself: a new command fails `test_every_command_is_classified` until
it is listed below as changing the database (with arguments to run it) or as reading only.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import click
import pytest
import sqlalchemy as sa

from bot.cli import main
from storage.db import Database
from tests.operators.helpers import arun, audit_rows, cli, create, publish

SERVICES = {"run", "scheduler"}
"""Long-running services, not operator commands: what they change is audited by what does it (the first
start's 'system:first-run' row, dashboard actions as 'web:<name>', Telegram operators' commands)."""

CHANGES = [  # in this order, each changes the database
    ("db upgrade", []),
    ("wards import", ["--province", "79"]),
    ("survey publish", []),
    ("campaign create", ["--code", "hn-2026", "--survey", "hanoi-ward-satisfaction", "--wards", "70,235"]),
    ("campaign edit", ["hn-2026", "--title", "Khảo sát mới", "--ends", "2099-12-31"]),
    ("campaign launch", ["hn-2026"]),
    ("campaign codes", ["hn-2026", "--count", "3", "--out", "codes.csv"]),
    ("chats code", ["--scope", "70"]),
    ("operators add", ["123456789"]),
    ("operators remove", ["123456789"]),
    ("departments add", ["SNV", "--name", "Sở Nội vụ"]),
    ("departments assign", ["SNV", "--dimensions", "1,3"]),
    ("departments rename", ["SNV", "--name", "Sở Nội vụ (mới)"]),
    ("departments remove", ["SNV"]),
    ("users add", ["lan", "--role", "operator", "--password-stdin"]),
    ("users passwd", ["lan", "--password-stdin"]),
    ("users disable", ["lan"]),
    ("users remove", ["lan"]),
    ("campaign close", ["hn-2026", "--yes"]),
]
CHANGES_WITHOUT_A_CHANGE_HERE = {
    "chats remove": ["-1001234567890"],  # no such chat: refused, with its audit row
    "users unlock": ["nobody"],
    "demo": ["--reset", "--yes"],  # no demo here
}
"""Commands that change the database, run where they have nothing to change: their row is written anyway."""

READ_ONLY = {
    "audit": ["--since", "1d"],
    "campaign list": [],
    "campaign show": ["hn-2026"],
    "campaign links": ["hn-2026", "--channel", "web"],
    "chats list": [],
    "db status": [],
    "departments list": [],
    "export": ["hn-2026", "--out", "e.csv"],
    "operators list": [],
    "report annual": ["--year", "2026", "--out", "annual.html"],
    "stats": ["hn-2026"],
    "survey export": ["hanoi-ward-satisfaction", "--format", "xlsform", "--out", "s.xlsx"],
    "survey import": ["s.xlsx", "--out", "s.yaml"],  # with --publish it is 'survey publish'
    "survey list": [],
    "survey preview": ["--lang", "en"],
    "survey validate": ["s.yaml"],
    "users list": [],
    "wards list": ["--search", "hoan kiem"],
}


def leaf_commands(group: click.Group = main, prefix: str = "") -> list[str]:
    found = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}".strip()
        found += leaf_commands(command, path) if isinstance(command, click.Group) else [path]
    return found


def test_every_command_is_classified() -> None:
    listed = {name for name, _ in CHANGES} | set(CHANGES_WITHOUT_A_CHANGE_HERE) | set(READ_ONLY) | SERVICES
    assert set(leaf_commands()) == listed


def fingerprint(url: str) -> dict[str, str]:
    """Every table but the audit log: a digest of its rows."""

    async def go(db: Database) -> dict[str, str]:
        async with db.read() as conn:
            names = (await conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'table'"))).scalars()
            tables = sorted(n for n in names if n not in ("audit_log", "login_failure"))
            digests = {}
            for name in tables:
                rows = (await conn.execute(sa.text(f'SELECT * FROM "{name}"'))).all()
                digests[name] = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
            return digests

    return arun(url, go)


def audit_count(url: str) -> int:
    try:
        return len(audit_rows(url))
    except sa.exc.OperationalError:  # no schema yet
        return 0


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_command_that_changes_the_database_writes_an_audit_row(env: str) -> None:
    password = "a long password 42\n"
    for name, args in CHANGES:
        before, rows = fingerprint(env), audit_count(env)
        result = cli(*name.split(), *args, input=password)
        assert result.exit_code == 0, (name, result.output)
        assert fingerprint(env) != before, f"{name} changed nothing: the scenario is wrong"
        assert audit_count(env) > rows, f"{name} changed the database without an audit row"
        if name == "campaign close":  # the read-only ones below want a campaign with a survey
            create("hn-2027", "70")
    for name, args in CHANGES_WITHOUT_A_CHANGE_HERE.items():
        rows = audit_count(env)
        cli(*name.split(), *args, input="y\n")
        assert audit_count(env) > rows, f"{name} wrote no audit row"
    for name, args in READ_ONLY.items():
        before = fingerprint(env)
        result = cli(*name.split(), *[a.replace("hn-2026", "hn-2027") for a in args], input="1\n" * 5)
        assert result.exit_code in (0, 1), (name, result.output)
        assert fingerprint(env) == before, f"{name} changed the database: list it among CHANGES"


def run_into_a_closed_pipe(*args: str) -> tuple[int, str]:
    """Run `khaosat ARGS` with its stdout a pipe whose reader has already gone (`| head` after its line)."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        process = subprocess.run(
            [sys.executable, "-m", "bot", *args], stdout=writer, stderr=subprocess.PIPE, timeout=120, check=False
        )
    finally:
        os.close(writer)
    return process.returncode, process.stderr.decode()


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "args",
    [("campaign", "show", "hn-2026"), ("wards", "list"), ("campaign", "launch", "hn-2026"), ("--help",)],
    ids=" ".join,
)
def test_output_cut_by_a_closed_pipe_ends_quietly_with_status_141(env: str, args: tuple[str, ...]) -> None:
    publish()
    create("hn-2026", "all")
    rows = audit_count(env)
    status, errors = run_into_a_closed_pipe(*args)
    assert (status, errors) == (141, "")
    if args[0] == "campaign":  # the command's audit row is written though its output was cut
        assert audit_count(env) == rows + 1
        assert audit_rows(env)[-1][:2] == (f"campaign.{args[1]}", "ok")
