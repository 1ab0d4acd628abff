"""The city's workflow on the dashboard: each lead department's dimensions across the wards (figures with their
intervals and honest ranks, sub-dimensions, the wards that need attention), and the annual ranking (the same
table as `khaosat report annual`). Officials see their wards and their dimensions only; monitors none of it."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web

from reports import format as fmt
from reports.annual import AnnualError, AnnualTable
from reports.dimensions import DimensionFigures
from reports.plan import dimension_label, method_label
from storage.records import CampaignRecord
from storage.repo.departments import DepartmentRecord
from storage.repo.users import WebUserRecord
from web import figures
from web.dashboard.kit import Kit, Viewer
from web.params import whole_number

Cell = fmt.Cell


@dataclass(frozen=True)
class WardFigure:
    code: int
    name: str
    figure: Cell
    rank: str


@dataclass(frozen=True)
class DimensionView:
    number: int
    label_vi: str
    label_en: str
    method_vi: str
    method_en: str
    overall: Cell
    factors: list[tuple[str, str, str, Cell]]
    """(code, label vi, label en, figure) of each sub-dimension."""
    attention: list[WardFigure]
    wards: list[WardFigure]
    rankable: int


def visible_dimensions(user: WebUserRecord, numbers: list[int] | tuple[int, ...]) -> list[int]:
    return [d for d in numbers if user.sees_dimension(d)]


def dimension_view(found: DimensionFigures, names: dict[int, str]) -> DimensionView:
    ranks = found.ranks()

    def ward(code: int) -> WardFigure:
        rank = ranks.get(code)
        shown = "–" if rank is None else (f"={rank.position}" if rank.tied else str(rank.position))
        return WardFigure(code, names.get(code, str(code)), fmt.estimate_cell(found.by_ward[code]), shown)

    order = sorted(found.by_ward, key=lambda w: (ranks[w].position if w in ranks else 10**6, names.get(w, "")))
    return DimensionView(
        number=found.number,
        label_vi=dimension_label(found.number, "vi"),
        label_en=dimension_label(found.number, "en"),
        method_vi=method_label(found.scoring, "vi"),
        method_en=method_label(found.scoring, "en"),
        overall=fmt.estimate_cell(found.overall),
        factors=[(f.code or "", f.label("vi"), f.label("en"), fmt.estimate_cell(e)) for f, e in found.factors],
        attention=[ward(w) for w, _ in found.attention()],
        wards=[ward(w) for w in order],
        rankable=found.rankable_wards,
    )


class Departments:
    """GET /dashboard/departments[/{code}], /dashboard/annual (+ .xlsx, .html)."""

    def __init__(self, kit: Kit) -> None:
        self.kit = kit
        self.ctx = kit.ctx

    def routes(self, r: web.UrlDispatcher) -> None:
        page = self.kit.page
        r.add_get("/dashboard/departments", page(self.departments))
        r.add_get("/dashboard/departments/{code}", page(self.department))
        r.add_get("/dashboard/annual", page(self.annual))
        r.add_get("/dashboard/annual.{fmt:xlsx|html}", page(self.annual_file), allow_head=False)

    async def departments(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        from storage.repo import departments

        async with self.ctx.db.read() as conn:
            found = await departments.list_all(conn)
        led = {d for record in found for d in record.dimensions}
        rows = [
            {
                "record": record,
                "dimensions": [(d, dimension_label(d, "vi"), dimension_label(d, "en")) for d in record.dimensions],
                "visible": bool(visible_dimensions(viewer.user, record.dimensions)),
            }
            for record in found
        ]
        free = [(d, dimension_label(d, "vi"), dimension_label(d, "en")) for d in range(1, 9) if d not in led]
        return self.kit.render(request, viewer, "departments.html", rows=rows, free=free)

    async def department(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        from reports.dimensions import figures as dimension_figures
        from storage.repo import campaigns, departments, surveys
        from storage.repo import wards as ward_repo

        async with self.ctx.db.read() as conn:
            record = await departments.get(conn, request.match_info["code"])
            if record is None:
                return self.kit.error(
                    request,
                    viewer,
                    404,
                    f"Không có sở, ngành “{request.match_info['code']}”.",
                    f"There is no department “{request.match_info['code']}”.",
                )
            numbers = visible_dimensions(viewer.user, record.dimensions)
            if record.dimensions and not numbers:
                return self.kit.error(
                    request,
                    viewer,
                    403,
                    "Các lĩnh vực của sở, ngành này nằm ngoài phạm vi của bạn.",
                    "This department's dimensions are outside those you may see.",
                )
            measuring: list[CampaignRecord] = []
            plans: dict[int, Any] = {}
            for c in await campaigns.list_all(conn):
                if not figures.may_see(viewer.user, c) or c.status == "draft":
                    continue
                plan = figures.plan(await surveys.definition(conn, c.survey_id, c.survey_hash))
                if any(d.number in numbers for d in plan.dimensions):
                    measuring.append(c)
                    plans[c.id] = plan
            measuring.sort(key=lambda c: (c.starts_at, c.id), reverse=True)
            chosen = measuring[0] if measuring else None
            wanted = request.query.get("campaign")
            if wanted is not None:
                chosen = next((c for c in measuring if c.code == wanted), None)
                if chosen is None:
                    return self.kit.error(
                        request,
                        viewer,
                        404,
                        f"Đợt “{wanted}” không đo lĩnh vực nào của sở, ngành này (hoặc bạn không được xem).",
                        f"Campaign “{wanted}” measures none of this department's dimensions (or is not yours).",
                    )
            views: list[DimensionView] = []
            if chosen is not None:
                wards = figures.visible_wards(viewer.user, chosen)
                found = await dimension_figures(conn, chosen.id, plans[chosen.id], numbers, wards)
                codes = list(chosen.ward_codes) if wards is None else wards
                names = {u.code: u.name for u in await ward_repo.get_many(conn, codes)}
                views = [dimension_view(f, names) for f in found]
        return self.kit.render(
            request,
            viewer,
            "department.html",
            record=record,
            numbers=[(d, dimension_label(d, "vi"), dimension_label(d, "en")) for d in numbers],
            campaigns=measuring,
            chosen=chosen,
            views=views,
            scope_note=viewer.user.scope is not None and not viewer.user.is_operator,
            base_url=f"/dashboard/departments/{quote(record.code)}",
        )

    def _year(self, request: web.Request) -> int | None:
        text = request.query.get("year", "")
        if not text:
            return self.ctx.clock().astimezone(ZoneInfo(self.ctx.tz)).year
        return whole_number(text, 2000, 2100)

    async def _table(self, viewer: Viewer, year: int, lang: str = "vi") -> AnnualTable:
        """The year's table, limited to the wards and dimensions the viewer may see (ranks among all wards)."""
        from reports import annual
        from storage.repo import departments

        async with self.ctx.db.read() as conn:
            leads: dict[int, DepartmentRecord] = await departments.lead_departments(conn)
            table = await annual.build(conn, year, self.ctx.tz, leads, "en" if lang == "en" else "vi")
        user = viewer.user
        columns = tuple(c for c in table.columns if user.sees_dimension(c.number))
        rows = tuple(row for row in table.rows if user.is_operator or user.scope is None or row.code in user.scope)
        has_total = table.has_total and len(columns) == len(table.columns)
        return replace(table, columns=columns, rows=rows, has_total=has_total)

    async def annual(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        year = self._year(request)
        if year is None:
            return self.kit.error(request, viewer, 400, "Năm phải từ 2000 đến 2100.", "The year must be 2000-2100.")
        try:
            table: AnnualTable | None = await self._table(viewer, year)
            problem = None
        except AnnualError:
            table, problem = None, year
        detail = None
        if table is not None and table.columns:
            text = request.query.get("dimension", "")
            numbers = [c.number for c in table.columns]
            chosen = whole_number(text, 1, 8)
            detail = chosen if chosen in numbers else numbers[0]
        return self.kit.render(
            request,
            viewer,
            "annual.html",
            year=year,
            table=table,
            problem=problem,
            detail=detail,
            notes=list(zip(table.notes_in("vi"), table.notes_in("en"), strict=True)) if table else [],
            labels_en={d: dimension_label(d, "en") for d in range(1, 9)},
        )

    async def annual_file(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """The annual ranking as the CLI writes it (the viewer's wards and dimensions), in ?lang= (vi)."""
        from reports import annual

        year = self._year(request)
        lang = request.query.get("lang", "vi")
        if year is None or lang not in ("vi", "en"):
            return self.kit.error(request, viewer, 400, "Năm hoặc ngôn ngữ không hợp lệ.", "Bad year or language.")
        try:
            table = await self._table(viewer, year, lang)
        except AnnualError as e:
            return self.kit.error(request, viewer, 404, f"Không có số liệu năm {year}.", str(e))
        kind = request.match_info["fmt"]
        folder = Path(tempfile.mkdtemp(prefix="khaosat-annual-"))
        try:
            out = folder / f"annual.{kind}"
            (annual.write_xlsx if kind == "xlsx" else annual.write_html)(table, out)
            body = out.read_bytes()
        finally:
            with contextlib.suppress(OSError):
                shutil.rmtree(folder)
        await self.kit.record(viewer.actor, "report.annual", {"year": year, "format": kind, "via": "dashboard"})
        types = {
            "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "html": "text/html; charset=utf-8",
        }
        return web.Response(
            body=body,
            headers={
                "Content-Type": types[kind],
                "Content-Disposition": f'attachment; filename="khaosat-annual-{year}.{kind}"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )
