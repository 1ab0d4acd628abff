"""`khaosat departments`, department groups' codes (`chats code --dimensions`) and the logins of the city's
workflow (`users add --dimensions`, `--role monitor`), on SQLite and PostgreSQL: each checked, audited, and
clear about what it did."""

from __future__ import annotations

from typing import Any

from storage.db import Database
from storage.repo import chats, departments, users
from tests.operators.helpers import arun, audit_rows, cli

PASSWORD = "a long enough password\n"


def state(url: str) -> dict[str, tuple[int, ...]]:
    async def go(db: Database) -> dict[str, tuple[int, ...]]:
        async with db.read() as conn:
            return {d.code: d.dimensions for d in await departments.list_all(conn)}

    return arun(url, go)


def test_departments_are_added_assigned_moved_renamed_and_removed(env: str) -> None:
    r = cli("departments", "add", "snv", "--name", "Sở Nội vụ", "--name-en", "Department of Home Affairs")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[0] == "added department SNV (Sở Nội vụ); give it dimensions with:"
    assert cli("departments", "add", "SYT", "--name", "Sở Y tế").exit_code == 0
    r = cli("departments", "add", "SNV", "--name", "again")
    assert r.exit_code == 1 and "a department 'SNV' already exists" in r.stderr

    r = cli("departments", "assign", "SNV", "--dimensions", "1,3,5,6")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("SNV (Sở Nội vụ) leads: 1 Participation at local levels, 3 Vertical accountability")
    r = cli("departments", "assign", "syt", "--dimensions", "6")
    assert r.exit_code == 0, r.output
    assert "dimension 6 moved from SNV" in r.stdout
    assert state(env) == {"SNV": (1, 3, 5), "SYT": (6,)}

    r = cli("departments", "assign", "SNV", "--dimensions", "1,5")
    assert "now without a lead department: 3 Vertical accountability" in r.stdout
    r = cli("departments", "list")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert any(
        line.startswith("SNV") and "1 Participation at local levels, 5 Public administrative" in line for line in lines
    ), r.stdout
    assert lines[-1] == (
        "without a lead department: 2 Transparency, 3 Vertical accountability, 4 Control of corruption in the "
        "public sector, 7 Environmental governance, 8 E-governance"
    )

    r = cli("departments", "rename", "SYT", "--code", "SYTE", "--name", "Sở Y tế (mới)")
    assert r.exit_code == 0 and r.stdout == "department SYTE: Sở Y tế (mới)\n"
    assert state(env) == {"SNV": (1, 5), "SYTE": (6,)}
    r = cli("departments", "remove", "SNV")
    assert r.exit_code == 0
    assert r.stdout.splitlines()[-1] == (
        "now without a lead department: 1 Participation at local levels, 5 Public administrative procedures"
    )
    assert state(env) == {"SYTE": (6,)}
    actions = [(a, o) for a, o, _ in audit_rows(env) if a.startswith("departments.")]
    assert ("departments.assign", "ok") in actions and ("departments.add", "error") in actions


def test_department_mistakes_are_said_without_a_traceback(env: str) -> None:
    r = cli("departments", "assign", "NONE", "--dimensions", "1")
    assert r.exit_code == 1 and r.stderr == "Error: no department 'NONE'; see 'khaosat departments list'\n"
    r = cli("departments", "assign", "SNV", "--dimensions", "5,9")
    assert r.exit_code == 2 and "'9' is not one of PAPI's eight dimensions" in r.stderr
    r = cli("departments", "add", "bad code!", "--name", "x")
    assert r.exit_code == 1 and "invalid department code 'bad code!'" in r.stderr
    assert cli("departments", "add", "SNV", "--name", "Sở Nội vụ").exit_code == 0
    r = cli("departments", "rename", "SNV")
    assert r.exit_code == 1 and "give the new --name, --name-en or --code" in r.stderr
    assert "Traceback" not in r.output


def test_a_department_groups_code_carries_its_dimensions_for_all_wards(env: str) -> None:
    assert cli("departments", "add", "SNV", "--name", "Sở Nội vụ").exit_code == 0
    assert cli("departments", "assign", "SNV", "--dimensions", "5").exit_code == 0
    r = cli("chats", "code", "--dimensions", "5,6", "--schedule", "weekly mon 08:00")
    assert r.exit_code == 0, r.output
    assert "scope: all wards" in r.stdout
    assert "dimensions: 5 Public administrative procedures, 6 Public service delivery" in r.stdout
    assert "lead department: SNV" in r.stdout
    r = cli("chats", "list", "--codes")
    assert r.stdout.rstrip().endswith("all dimensions 5,6")
    r = cli("chats", "code", "--schedule", "daily 08:00")
    assert r.exit_code == 2 and "give the wards" in r.stderr

    async def codes(db: Database) -> list[Any]:
        async with db.read() as conn:
            return await chats.list_codes(conn)

    found = arun(env, codes)
    assert [(c.scope, c.dimensions) for c in found] == [(None, (5, 6))]


def test_officials_by_dimension_and_monitors(env: str) -> None:
    r = cli("users", "add", "snv", "--role", "official", "--dimensions", "5,6", "--password-stdin", input=PASSWORD)
    assert r.exit_code == 0, r.output
    assert r.stdout == "added official 'snv' (every ward; dimensions 5, 6)\n"
    r = cli("users", "add", "mttq", "--role", "monitor", "--password-stdin", input=PASSWORD)
    assert r.exit_code == 0, r.output
    assert "oversight" in r.stdout and "no results" in r.stdout
    r = cli("users", "add", "m2", "--role", "monitor", "--scope", "70", "--password-stdin", input=PASSWORD)
    assert r.exit_code == 2 and "monitors see every ward" in r.stderr
    r = cli("users", "add", "m3", "--role", "monitor", "--dimensions", "5", "--password-stdin", input=PASSWORD)
    assert r.exit_code == 2 and "monitors are not limited to dimensions" in r.stderr
    r = cli("users", "list")
    line = next(x for x in r.stdout.splitlines() if x.startswith("snv"))
    assert "5,6" in line

    async def found(db: Database) -> list[Any]:
        async with db.read() as conn:
            return [(u.name, u.role, u.scope, u.dimensions) for u in await users.list_all(conn)]

    assert arun(env, found) == [("mttq", "monitor", None, None), ("snv", "official", None, (5, 6))]
    added = [a for a in audit_rows(env) if a[0] == "users.add" and a[1] == "ok"]
    assert added[0][2]["dimensions"] == [5, 6]
