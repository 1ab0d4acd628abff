"""Dashboard logins (`web_user`): operators, who see and run everything; officials, who see their wards (and,
when given, only some PAPI dimensions); monitors (the Fatherland Front), who see how the survey is run and
never a result, an answer or an identity.

Passwords arrive here already hashed (argon2, see `web.auth`); this module never sees a password.
Names are stored in lower case and compared that way, so "Lan.Nguyen" and "lan.nguyen" are one login.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.repo.sql import admin_unit, web_user

ROLES = ("operator", "official", "monitor")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")


class UserError(ValueError):
    """A login change that cannot be done, with a message for the operator."""


class UserNotFound(UserError, LookupError):
    pass


@dataclass(frozen=True)
class WebUserRecord:
    id: int
    name: str
    role: str
    """"operator", "official" or "monitor"."""
    scope: tuple[int, ...] | None
    """Ward codes an official sees; None: every ward (always None for operators and monitors)."""
    disabled: bool
    created_at: datetime
    password_hash: str = field(repr=False, default="")
    dimensions: tuple[int, ...] | None = None
    """PAPI dimensions an official sees; None: all (always None for operators and monitors)."""

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"

    @property
    def is_monitor(self) -> bool:
        """Oversight only (the Fatherland Front): set-up, versions, audit, counts, methods; no result."""
        return self.role == "monitor"

    def sees(self, ward_code: int) -> bool:
        return not self.is_monitor and (self.scope is None or ward_code in self.scope)

    def sees_dimension(self, dimension: int) -> bool:
        return not self.is_monitor and (self.dimensions is None or dimension in self.dimensions)


def normalise_name(name: str) -> str:
    return name.strip().lower()


def check_name(name: str) -> str:
    value = normalise_name(name)
    if not NAME_PATTERN.match(value):
        raise UserError(
            f"invalid name {name!r}: use 2-64 letters, digits and . _ @ - (starting with a letter or digit), "
            "e.g. lan.nguyen"
        )
    return value


def _record(row: Any) -> WebUserRecord:
    return WebUserRecord(
        id=row.id,
        name=row.name,
        role=row.role,
        scope=None if row.scope is None else tuple(int(w) for w in row.scope),
        disabled=bool(row.disabled),
        created_at=row.created_at,
        password_hash=row.password_hash,
        dimensions=None if row.dimensions is None else tuple(int(d) for d in row.dimensions),
    )


def _check_dimensions(role: str, dimensions: Sequence[int] | None) -> list[int] | None:
    if dimensions is None:
        return None
    if role != "official":
        raise UserError(f"{role}s are not limited to dimensions; --dimensions is only for officials")
    wrong = [d for d in dimensions if not 1 <= d <= 8]
    if wrong or not dimensions:
        raise UserError("PAPI's dimensions are 1-8: give one or more, e.g. --dimensions 5,6")
    return sorted(set(dimensions))


async def _check_scope(conn: AsyncConnection, role: str, scope: Sequence[int] | None) -> list[int] | None:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: use operator, official or monitor")
    if scope is None:
        return None
    if role == "operator":
        raise UserError("operators see every ward; a scope is only for officials")
    if role == "monitor":
        raise UserError("monitors see how every ward's survey is run; a scope is only for officials")
    wards = sorted(set(scope))
    if not wards:
        raise UserError("the scope needs at least one ward (or 'all')")
    known = set((await conn.execute(sa.select(admin_unit.c.code).where(admin_unit.c.code.in_(wards)))).scalars())
    unknown = [w for w in wards if w not in known]
    if unknown:
        raise UserError(f"unknown ward code(s): {', '.join(map(str, unknown[:10]))}; see 'khaosat wards list'")
    return wards


async def add(
    conn: AsyncConnection,
    name: str,
    password_hash: str,
    role: str,
    scope: Sequence[int] | None,
    now: datetime,
    dimensions: Sequence[int] | None = None,
) -> WebUserRecord:
    """A new login. Raises UserError for a bad name, role, scope or dimensions, or a name already taken."""
    value = check_name(name)
    wards = await _check_scope(conn, role, scope)
    led = _check_dimensions(role, dimensions)
    if await get(conn, value) is not None:
        raise UserError(f"a user named {value!r} already exists; see 'khaosat users list'")
    await conn.execute(
        web_user.insert().values(
            name=value,
            password_hash=password_hash,
            role=role,
            scope=wards,
            disabled=False,
            created_at=now,
            dimensions=led,
        )
    )
    found = await get(conn, value)
    assert found is not None
    return found


async def get(conn: AsyncConnection, name: str) -> WebUserRecord | None:
    row = (await conn.execute(sa.select(web_user).where(web_user.c.name == normalise_name(name)))).first()
    return None if row is None else _record(row)


async def get_by_id(conn: AsyncConnection, user_id: int) -> WebUserRecord | None:
    row = (await conn.execute(sa.select(web_user).where(web_user.c.id == user_id))).first()
    return None if row is None else _record(row)


async def list_all(conn: AsyncConnection) -> list[WebUserRecord]:
    rows = (await conn.execute(sa.select(web_user).order_by(web_user.c.name))).all()
    return [_record(r) for r in rows]


async def count(conn: AsyncConnection) -> int:
    return int((await conn.execute(sa.select(sa.func.count()).select_from(web_user))).scalar_one())


async def remove(conn: AsyncConnection, name: str) -> WebUserRecord:
    found = await get(conn, name)
    if found is None:
        raise UserNotFound(f"no user named {normalise_name(name)!r}; see 'khaosat users list'")
    await conn.execute(web_user.delete().where(web_user.c.id == found.id))
    return found


async def set_password(conn: AsyncConnection, name: str, password_hash: str) -> WebUserRecord:
    """Replace a login's password hash (its open sessions stop working: see `web.auth`)."""
    found = await get(conn, name)
    if found is None:
        raise UserNotFound(f"no user named {normalise_name(name)!r}; see 'khaosat users list'")
    await conn.execute(web_user.update().where(web_user.c.id == found.id).values(password_hash=password_hash))
    updated = await get_by_id(conn, found.id)
    assert updated is not None
    return updated


async def set_disabled(conn: AsyncConnection, name: str, disabled: bool) -> WebUserRecord:
    found = await get(conn, name)
    if found is None:
        raise UserNotFound(f"no user named {normalise_name(name)!r}; see 'khaosat users list'")
    await conn.execute(web_user.update().where(web_user.c.id == found.id).values(disabled=disabled))
    updated = await get_by_id(conn, found.id)
    assert updated is not None
    return updated
