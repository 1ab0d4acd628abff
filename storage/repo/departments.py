"""City departments and the PAPI dimensions each leads (one department per dimension).

Departments are data: Hanoi's were merged and renamed in 2025, and will be again, so operators keep the list
(`khaosat departments ...`). A department's code is what operators type ("SNV"); it is stored in upper case.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.repo.sql import department, department_dimension

DIMENSIONS = range(1, 9)
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")


class DepartmentError(ValueError):
    """A department change that cannot be done, with a message for the operator."""


@dataclass(frozen=True)
class DepartmentRecord:
    id: int
    code: str
    name: str
    name_en: str
    dimensions: tuple[int, ...]
    """The PAPI dimensions it leads, in order."""
    created_at: datetime

    def label(self, language: str) -> str:
        """Its name in a language (the Vietnamese name when it has no English one)."""
        return self.name_en if language == "en" and self.name_en else self.name


@dataclass(frozen=True)
class Assignment:
    """What `assign` changed: the department as it is now, dimensions taken from other departments (dimension
    -> that department's code) and dimensions it no longer leads."""

    department: DepartmentRecord
    moved: dict[int, str]
    released: tuple[int, ...]


def normalise_code(code: str) -> str:
    return code.strip().upper()


def check_code(code: str) -> str:
    value = normalise_code(code)
    if not CODE_PATTERN.match(value):
        raise DepartmentError(
            f"invalid department code {code!r}: use 1-32 letters, digits, '-' and '_' (e.g. SNV for Sở Nội vụ)"
        )
    return value


def check_dimensions(dimensions: Sequence[int]) -> list[int]:
    """The dimensions sorted and without repeats; DepartmentError for one outside 1-8."""
    wrong = [d for d in dimensions if d not in DIMENSIONS]
    if wrong:
        raise DepartmentError(
            f"PAPI has eight dimensions, 1-8; not {', '.join(map(str, wrong))} (see 'khaosat departments list')"
        )
    return sorted(set(dimensions))


def _check_name(name: str) -> str:
    value = " ".join(name.split())
    if not value or len(value) > 200:
        raise DepartmentError('a department needs a name of 1-200 characters, e.g. "Sở Nội vụ"')
    return value


async def _records(conn: AsyncConnection, where: Any = None) -> list[DepartmentRecord]:
    q = sa.select(department).order_by(department.c.code)
    if where is not None:
        q = q.where(where)
    rows = (await conn.execute(q)).all()
    if not rows:
        return []
    led: dict[int, list[int]] = {}
    found = await conn.execute(
        sa.select(department_dimension.c.department_id, department_dimension.c.dimension).where(
            department_dimension.c.department_id.in_([r.id for r in rows])
        )
    )
    for department_id, dimension in found.all():
        led.setdefault(department_id, []).append(int(dimension))
    return [
        DepartmentRecord(r.id, r.code, r.name, r.name_en, tuple(sorted(led.get(r.id, []))), r.created_at) for r in rows
    ]


async def list_all(conn: AsyncConnection) -> list[DepartmentRecord]:
    """Every department, by code."""
    return await _records(conn)


async def get(conn: AsyncConnection, code: str) -> DepartmentRecord | None:
    found = await _records(conn, department.c.code == normalise_code(code))
    return found[0] if found else None


async def _get_or_fail(conn: AsyncConnection, code: str) -> DepartmentRecord:
    found = await get(conn, code)
    if found is None:
        raise DepartmentError(f"no department {normalise_code(code)!r}; see 'khaosat departments list'")
    return found


async def add(conn: AsyncConnection, code: str, name: str, name_en: str, now: datetime) -> DepartmentRecord:
    """A new department (leading no dimension yet)."""
    value = check_code(code)
    if await get(conn, value) is not None:
        raise DepartmentError(f"a department {value!r} already exists; see 'khaosat departments list'")
    await conn.execute(
        department.insert().values(
            code=value, name=_check_name(name), name_en=" ".join(name_en.split()), created_at=now
        )
    )
    return await _get_or_fail(conn, value)


async def rename(
    conn: AsyncConnection, code: str, *, new_code: str | None, name: str | None, name_en: str | None
) -> DepartmentRecord:
    """Change a department's code and names (what is not given stays); it keeps its dimensions."""
    found = await _get_or_fail(conn, code)
    values: dict[str, str] = {}
    if new_code is not None:
        target = check_code(new_code)
        if target != found.code and await get(conn, target) is not None:
            raise DepartmentError(f"a department {target!r} already exists; see 'khaosat departments list'")
        values["code"] = target
    if name is not None:
        values["name"] = _check_name(name)
    if name_en is not None:
        values["name_en"] = " ".join(name_en.split())
    if not values:
        raise DepartmentError("give the new --name, --name-en or --code")
    await conn.execute(department.update().where(department.c.id == found.id).values(**values))
    return await _get_or_fail(conn, values.get("code", found.code))


async def remove(conn: AsyncConnection, code: str) -> DepartmentRecord:
    """Delete a department; the dimensions it led are left without a lead department."""
    found = await _get_or_fail(conn, code)
    await conn.execute(department_dimension.delete().where(department_dimension.c.department_id == found.id))
    await conn.execute(department.delete().where(department.c.id == found.id))
    return found


async def assign(conn: AsyncConnection, code: str, dimensions: Sequence[int], now: datetime) -> Assignment:
    """Make `dimensions` exactly the ones this department leads: they are taken from the departments that led
    them, and the department's other dimensions are left without a lead."""
    found = await _get_or_fail(conn, code)
    wanted = check_dimensions(dimensions)
    leads = await lead_departments(conn)
    moved = {d: leads[d].code for d in wanted if d in leads and leads[d].id != found.id}
    released = tuple(d for d in found.dimensions if d not in wanted)
    if released:
        await conn.execute(department_dimension.delete().where(department_dimension.c.dimension.in_(released)))
    new = [d for d in wanted if d not in found.dimensions]
    if new:
        await conn.execute(department_dimension.delete().where(department_dimension.c.dimension.in_(new)))
        await conn.execute(
            department_dimension.insert(),
            [{"dimension": d, "department_id": found.id, "assigned_at": now} for d in new],
        )
    return Assignment(await _get_or_fail(conn, found.code), moved, released)


async def lead_departments(conn: AsyncConnection) -> dict[int, DepartmentRecord]:
    """Dimension -> the department that leads it (dimensions without one are absent)."""
    return {d: record for record in await list_all(conn) for d in record.dimensions}
