"""The dashboard's pages: the campaigns, a campaign (its wards by province, filtered, in pages), a ward (with its
trends), the factor chart, and the trends CSV."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from aiohttp import web

from web import figures
from web.dashboard.kit import Kit, Viewer, quality_lines
from web.params import whole_number

WARD_MAX = 999_999_999


class Pages:
    """Campaign list, campaign and ward pages, the chart (every figure limited to what the viewer may see)."""

    def __init__(self, kit: Kit) -> None:
        self.kit = kit
        self.ctx = kit.ctx

    def routes(self, r: web.UrlDispatcher) -> None:
        page = self.kit.page
        r.add_get("/dashboard/campaigns", page(self.campaigns))
        r.add_get("/dashboard/campaigns/{code}", page(self.campaign))
        r.add_get("/dashboard/campaigns/{code}/chart.png", page(self.chart))
        r.add_get(r"/dashboard/campaigns/{code}/wards/{ward:[0-9]{1,9}}", page(self.ward))
        r.add_get("/dashboard/campaigns/{code}/trends.csv", page(self.trends_csv), allow_head=False)
        r.add_get(
            r"/dashboard/campaigns/{code}/wards/{ward:[0-9]{1,9}}/trends.csv", page(self.trends_csv), allow_head=False
        )

    async def campaigns(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        from storage.repo import campaigns
        from storage.repo import wards as ward_repo

        async with self.ctx.db.read() as conn:
            found = [c for c in await campaigns.list_all(conn) if figures.may_see(viewer.user, c)]
            rows = [await figures.campaign_row(conn, viewer.user, c) for c in found]
            scope = None
            if viewer.user.scope is not None:
                scope = [u.name for u in await ward_repo.get_many(conn, list(viewer.user.scope))]
        return self.kit.render(request, viewer, "campaigns.html", rows=rows, scope=scope)

    async def campaign(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        code = request.match_info["code"]
        c = await self.kit.find(code)
        if c is None:
            return self.kit.not_found(request, viewer, code)
        if not figures.may_see(viewer.user, c):
            return self.kit.forbidden(request, viewer)
        wards = figures.visible_wards(viewer.user, c)
        view = self._view(request)
        if isinstance(view, tuple):
            return self.kit.error(request, viewer, 400, *view)
        report = await figures.report(
            self.ctx, c, wards, self.ctx.clock(), view=view, dimensions=viewer.user.dimensions
        )
        from storage.repo import quality

        async with self.ctx.db.read() as conn:
            flagged = await quality.flag_counts(conn, c.id, wards)
        return self.kit.render(
            request,
            viewer,
            "campaign.html",
            c=c,
            quality=quality_lines(flagged, exact=viewer.user.is_operator),
            info=self.kit.info(c),
            report=report,
            dimensions=await figures.dimension_lines(self.ctx, c, wards, viewer.user),
            survey_link=self.kit.survey_link(c),
            chart_url=f"/dashboard/campaigns/{quote(c.code)}/chart.png",
            base_url=f"/dashboard/campaigns/{quote(c.code)}",
        )

    @staticmethod
    def _view(request: web.Request) -> figures.WardView | tuple[str, str]:
        """The ward table's province, search and page from the query string, or why they cannot be read."""
        province_text = request.query.get("province", "")
        province = whole_number(province_text, 0, 999) if province_text else None
        if province_text and province is None:
            return "Mã tỉnh, thành phải là số (ví dụ 1).", "The province must be given by its code (e.g. 1)."
        page = whole_number(request.query.get("page", "1"), 1, 999_999)
        if page is None:
            return "Số trang phải là số từ 1 trở lên.", "The page must be a number from 1."
        query = request.query.get("q", "").strip()[:100]
        return figures.WardView(province, query, page)

    async def ward(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        code, ward = request.match_info["code"], whole_number(request.match_info["ward"], 0, WARD_MAX)
        c = await self.kit.find(code)
        if c is None:
            return self.kit.not_found(request, viewer, code)
        if ward is None or ward not in c.ward_codes:
            return self.kit.error(
                request,
                viewer,
                404,
                f"Phường, xã {ward} không thuộc đợt khảo sát này.",
                f"Ward {ward} is not part of this campaign.",
            )
        if not figures.may_see(viewer.user, c) or not viewer.user.sees(ward):
            return self.kit.forbidden(request, viewer)
        from storage.repo import wards as ward_repo
        from web import trends

        report = await figures.report(
            self.ctx, c, [ward], self.ctx.clock(), by_ward=False, dimensions=viewer.user.dimensions
        )
        table = await trends.ward_trends(self.ctx, c, ward, viewer.user)
        async with self.ctx.db.read() as conn:
            unit = (await ward_repo.get_many(conn, [ward]))[0]
        return self.kit.render(
            request,
            viewer,
            "ward.html",
            c=c,
            info=self.kit.info(c),
            unit=unit,
            report=report,
            dimensions=await figures.dimension_lines(self.ctx, c, [ward], viewer.user),
            survey_link=self.kit.survey_link(c, ward),
            chart_url=f"/dashboard/campaigns/{quote(c.code)}/chart.png?ward={ward}",
            trends=table,
            trends_url=f"/dashboard/campaigns/{quote(c.code)}/wards/{ward}/trends.csv",
        )

    async def chart(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        code = request.match_info["code"]
        c = await self.kit.find(code)
        if c is None:
            return self.kit.not_found(request, viewer, code)
        if not figures.may_see(viewer.user, c):
            return self.kit.forbidden(request, viewer)
        wards = figures.visible_wards(viewer.user, c)
        by_ward = True  # the campaign page's scope: its counts, when kept, serve the chart too
        if "ward" in request.query:
            chosen = whole_number(request.query["ward"], 0, WARD_MAX)
            if chosen is None or chosen not in c.ward_codes:
                return self.kit.error(request, viewer, 404, "Không có phường, xã này.", "No such ward.")
            if not viewer.user.sees(chosen):
                return self.kit.forbidden(request, viewer)
            wards, by_ward = [chosen], False
        data = await figures.chart_input(
            self.ctx, c, wards, self.ctx.clock(), by_ward=by_ward, dimensions=viewer.user.dimensions
        )
        png = await asyncio.to_thread(figures.chart_png, data)
        if png is None:
            return self.kit.error(
                request,
                viewer,
                404,
                "Chưa có yếu tố nào đủ 30 câu trả lời để vẽ.",
                "No factor has the 30 answers needed to be drawn yet.",
            )
        return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "private, max-age=60"})

    async def trends_csv(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """Every factor's index over the campaigns of this one's survey, per ward, as CSV: for one ward (from its
        page) or every ward the viewer may see (from the campaign page)."""
        from web import trends

        code = request.match_info["code"]
        c = await self.kit.find(code)
        if c is None:
            return self.kit.not_found(request, viewer, code)
        if not figures.may_see(viewer.user, c):
            return self.kit.forbidden(request, viewer)
        if "ward" in request.match_info:
            ward = whole_number(request.match_info["ward"], 0, WARD_MAX)
            if ward is None or ward not in c.ward_codes:
                return self.kit.error(request, viewer, 404, "Không có phường, xã này.", "No such ward.")
            if not viewer.user.sees(ward):
                return self.kit.forbidden(request, viewer)
            wards: list[int] | None = [ward]
            name = f"khaosat-{c.code}-{ward}-trends"
        else:
            wards, name = figures.visible_wards(viewer.user, c), f"khaosat-{c.code}-trends"
        text = await trends.trends_csv(self.ctx, c, wards, viewer.user)
        marked = "-SIMULATED" if c.simulated else ""
        return web.Response(
            body=("\ufeff" + text).encode(),  # a BOM: spreadsheet programs then read Vietnamese right
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="{name}{marked}.csv"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )
