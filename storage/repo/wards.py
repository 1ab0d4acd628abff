"""Administrative units: imported from `vietnam-provinces`, searched with diacritics folded."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from flows.text import fold
from storage.admin_units import units_of_province
from storage.records import UnitRecord
from storage.repo.sql import admin_unit, insert


async def import_province(conn: AsyncConnection, province_code: int) -> int:
    """Insert or update the province's units; returns how many units the province has."""
    units = units_of_province(province_code)
    if not units:
        return 0
    rows = [
        {"code": u.code, "name": u.name, "kind": u.kind, "province_code": u.province_code, "search_key": u.search_key}
        for u in units
    ]
    stmt = insert(conn, admin_unit)
    stmt = stmt.on_conflict_do_update(
        index_elements=["code"],
        set_={c: stmt.excluded[c] for c in ("name", "kind", "province_code", "search_key")},
    )
    await conn.execute(stmt, rows)
    return len(rows)


async def count(conn: AsyncConnection, province_code: int | None = None) -> int:
    q = sa.select(sa.func.count()).select_from(admin_unit)
    if province_code is not None:
        q = q.where(admin_unit.c.province_code == province_code)
    return int((await conn.execute(q)).scalar_one())


def _record(row: sa.Row[int, str, str, int]) -> UnitRecord:
    return UnitRecord(code=row[0], name=row[1], kind=row[2], province_code=row[3])


_COLUMNS = (admin_unit.c.code, admin_unit.c.name, admin_unit.c.kind, admin_unit.c.province_code)


async def search(
    conn: AsyncConnection, text: str | None = None, province_code: int | None = None, limit: int | None = None
) -> list[UnitRecord]:
    """Units whose folded name contains the folded text ("dong da" finds "Phường Đống Đa")."""
    q = sa.select(*_COLUMNS)
    if province_code is not None:
        q = q.where(admin_unit.c.province_code == province_code)
    if text is not None:
        key = fold(text)
        if not key:
            return []  # only punctuation or spaces: matches nothing rather than everything
        q = q.where(admin_unit.c.search_key.contains(key, autoescape=True))
    q = q.order_by(admin_unit.c.search_key, admin_unit.c.code)
    if limit:
        q = q.limit(limit)
    return [_record(r) for r in (await conn.execute(q)).all()]


async def get_many(conn: AsyncConnection, codes: list[int]) -> list[UnitRecord]:
    if not codes:
        return []
    q = sa.select(*_COLUMNS).where(admin_unit.c.code.in_(codes)).order_by(admin_unit.c.code)
    return [_record(r) for r in (await conn.execute(q)).all()]
