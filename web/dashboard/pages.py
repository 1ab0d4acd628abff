"""The dashboard's pages: the campaigns, a campaign, a ward, and the factor chart."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from aiohttp import web

from web import figures
from web.dashboard.kit import Kit, Viewer


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
        r.add_get(r"/dashboard/campaigns/{code}/wards/{ward:\d{1,9}}", page(self.ward))

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
        async with self.ctx.db.read() as conn:
            report = await figures.report(conn, c, wards, self.ctx.clock())
        return self.kit.render(
            request,
            viewer,
            "campaign.html",
            c=c,
            info=self.kit.info(c),
            report=report,
            survey_link=self.kit.survey_link(c),
            chart_url=f"/dashboard/campaigns/{quote(c.code)}/chart.png",
        )

    async def ward(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        code, ward = request.match_info["code"], int(request.match_info["ward"])
        c = await self.kit.find(code)
        if c is None:
            return self.kit.not_found(request, viewer, code)
        if ward not in c.ward_codes:
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

        async with self.ctx.db.read() as conn:
            report = await figures.report(conn, c, [ward], self.ctx.clock(), by_ward=False)
            unit = (await ward_repo.get_many(conn, [ward]))[0]
        return self.kit.render(
            request,
            viewer,
            "ward.html",
            c=c,
            info=self.kit.info(c),
            unit=unit,
            report=report,
            survey_link=self.kit.survey_link(c, ward),
            chart_url=f"/dashboard/campaigns/{quote(c.code)}/chart.png?ward={ward}",
        )

    async def chart(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        code = request.match_info["code"]
        c = await self.kit.find(code)
        if c is None:
            return self.kit.not_found(request, viewer, code)
        if not figures.may_see(viewer.user, c):
            return self.kit.forbidden(request, viewer)
        wards = figures.visible_wards(viewer.user, c)
        if "ward" in request.query:
            text = request.query["ward"]
            if not text.isdigit() or int(text) not in c.ward_codes:
                return self.kit.error(request, viewer, 404, "Không có phường, xã này.", "No such ward.")
            if not viewer.user.sees(int(text)):
                return self.kit.forbidden(request, viewer)
            wards = [int(text)]
        async with self.ctx.db.read() as conn:
            data = await figures.chart_input(conn, c, wards, self.ctx.clock())
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
