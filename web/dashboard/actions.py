"""Operators' actions on a campaign: launch and close (each audited, refusals said in both languages)."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from reports import format as fmt
from web.dashboard.kit import Kit, Viewer, local


class Actions:
    """POST /dashboard/campaigns/{code}/launch and /close (operators only)."""

    def __init__(self, kit: Kit) -> None:
        self.kit = kit
        self.ctx = kit.ctx

    def routes(self, r: web.UrlDispatcher) -> None:
        page = self.kit.page
        r.add_post("/dashboard/campaigns/{code}/launch", page(self.launch, operators=True, action="campaign.launch"))
        r.add_post("/dashboard/campaigns/{code}/close", page(self.close, operators=True, action="campaign.close"))
        r.add_post("/dashboard/campaigns/{code}/flagged", page(self.flagged, operators=True, action="campaign.edit"))

    async def flagged(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """Include responses with data-quality flags in the figures, or leave them out (the campaign's setting)."""
        from storage.repo import audit, campaigns

        code = request.match_info["code"]
        form = await request.post()
        include = form.get("include") == "yes"
        now = self.ctx.clock()
        try:
            async with self.ctx.db.write() as conn:
                await campaigns.update(conn, code, now, include_flagged=include)
                await audit.record(
                    conn, viewer.actor, "campaign.edit", {"code": code, "include_flagged": include}, now=now
                )
        except campaigns.CampaignNotFound:
            return self.kit.not_found(request, viewer, code)
        except campaigns.CampaignError as e:
            await self.kit.record(viewer.actor, "campaign.edit", {"code": code, "error": str(e)}, "error")
            return self.kit.back(
                code, "error", "Không đổi được (đợt đã kết thúc). / Could not change it (the campaign is closed)."
            )
        if include:
            return self.kit.back(
                code, "ok", "Các chỉ số nay tính cả phiếu bị gắn cờ. / The figures now include flagged responses."
            )
        return self.kit.back(
            code, "ok", "Các chỉ số nay không tính phiếu bị gắn cờ. / The figures now leave flagged responses out."
        )

    async def launch(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        from storage.repo import audit, campaigns

        code = request.match_info["code"]
        now = self.ctx.clock()
        try:
            async with self.ctx.db.write() as conn:
                c = await campaigns.launch(conn, code, now)
                await audit.record(conn, viewer.actor, "campaign.launch", {"code": code}, now=now)
        except campaigns.CampaignNotFound:
            await self.kit.record(viewer.actor, "campaign.launch", {"code": code, "error": "not found"}, "error")
            return self.kit.not_found(request, viewer, code)
        except campaigns.CampaignError as e:
            await self.kit.record(viewer.actor, "campaign.launch", {"code": code, "error": str(e)}, "error")
            vi, en = await self._refusal("launch", code, now)
            return self.kit.back(code, "error", f"{vi} / {en}")
        until = fmt.local(c.ends_at, c.timezone)
        return self.kit.back(
            code,
            "ok",
            f"Đã bắt đầu đợt {code} tại {len(c.ward_codes)} phường, xã, nhận trả lời đến {until}. / "
            f"Campaign {code} launched in {len(c.ward_codes)} wards, taking answers until {until}.",
        )

    async def close(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        from storage.repo import audit, campaigns, demo

        code = request.match_info["code"]
        form = await request.post()
        if form.get("confirm") != "yes":
            if await self.kit.find(code) is None:
                return self.kit.not_found(request, viewer, code)
            return self.kit.back(
                code,
                "error",
                "Hãy đánh dấu ô xác nhận để kết thúc đợt. / Tick the confirmation box to close the campaign.",
            )
        now = self.ctx.clock()
        try:
            async with self.ctx.db.write() as conn:
                c = await campaigns.get(conn, code)
                simulated = await demo.count(conn, c.id) if c.simulated else 0
                _, abandoned, addresses = await campaigns.close(conn, code, now)
                arguments = {"code": code, "abandoned": abandoned, "addresses_deleted": addresses}
                if simulated:
                    arguments["simulated_deleted"] = simulated
                await audit.record(conn, viewer.actor, "campaign.close", arguments, now=now)
        except campaigns.CampaignNotFound:
            await self.kit.record(viewer.actor, "campaign.close", {"code": code, "error": "not found"}, "error")
            return self.kit.not_found(request, viewer, code)
        except campaigns.CampaignError as e:
            await self.kit.record(viewer.actor, "campaign.close", {"code": code, "error": str(e)}, "error")
            vi, en = await self._refusal("close", code, now)
            return self.kit.back(code, "error", f"{vi} / {en}")
        deleted_vi = f" Đã xoá {simulated} phiếu mô phỏng." if simulated else ""
        deleted_en = f" {simulated} simulated responses deleted." if simulated else ""
        return self.kit.back(
            code,
            "ok",
            f"Đã kết thúc đợt {code}; {abandoned} phiếu dở dang được đánh dấu bỏ dở.{deleted_vi} / "
            f"Campaign {code} closed; {abandoned} unfinished responses marked abandoned.{deleted_en}",
        )

    async def _refusal(self, action: str, code: str, now: datetime) -> tuple[str, str]:
        """Why a campaign could not be launched or closed, in Vietnamese and in English.

        The repository's errors are English sentences for the CLI; the dashboard says each reason in both
        languages, reading the campaign again to tell which one it was."""
        from storage.repo import campaigns

        async with self.ctx.db.read() as conn:
            try:
                c = await campaigns.get(conn, code)
            except campaigns.CampaignNotFound:
                c = None
            overlaps = await campaigns.overlapping(conn, c) if c is not None and c.status == "draft" else []
        if action == "close":
            vi, en = f"Không kết thúc được đợt {code}", f"Could not close campaign {code}"
            if c is not None and c.status == "closed":
                return f"{vi}: đợt này đã kết thúc từ trước.", f"{en}: it is already closed."
            return f"{vi}.", f"{en}."
        vi, en = f"Không bắt đầu được đợt {code}", f"Could not launch campaign {code}"
        if c is None:
            return f"{vi}: không có đợt này.", f"{en}: there is no such campaign."
        if c.status == "active":
            return f"{vi}: đợt này đang diễn ra.", f"{en}: it is already active."
        if c.status == "closed":
            return (
                f"{vi}: đợt này đã kết thúc, không bắt đầu lại được.",
                f"{en}: it is closed and cannot be launched again.",
            )
        if c.ends_at <= now:
            ended = local(c.ends_at, c.timezone)
            return (
                f"{vi}: thời gian khảo sát đã hết lúc {ended}; hãy đổi ngày trước.",
                f"{en}: it ended at {ended}; change its dates first.",
            )
        if overlaps:
            other = overlaps[0]
            when = f"{local(other.starts_at, other.timezone)} – {local(other.ends_at, other.timezone)}"
            names = ", ".join(f"{name} ({ward})" for ward, name in other.wards[:3])
            more_vi = f" và {len(other.wards) - 3} phường, xã khác" if len(other.wards) > 3 else ""
            more_en = f" and {len(other.wards) - 3} more" if len(other.wards) > 3 else ""
            wards_en = f"{len(other.wards)} ward" + ("s" if len(other.wards) != 1 else "")
            return (
                f"{vi}: trùng thời gian với đợt đang diễn ra {other.code} ({when}) tại {len(other.wards)} "
                f"phường, xã: {names}{more_vi}. Hãy kết thúc đợt {other.code} trước, hoặc tạo lại đợt với "
                "phường, xã hoặc thời gian khác.",
                f"{en}: it overlaps active campaign {other.code} ({when}) in {wards_en}: {names}{more_en}. "
                f"Close {other.code} first, or create the campaign again with other wards or dates.",
            )
        return f"{vi}.", f"{en}."
