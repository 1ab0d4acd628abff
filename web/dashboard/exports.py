"""Exports from the dashboard: the same CSV and XLSX files as `khaosat export` (operators only, audited)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from web.dashboard.kit import Kit, Viewer

log = logging.getLogger("web.dashboard")

EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class Exports:
    """GET /dashboard/campaigns/{code}/export.csv|xlsx (?status=completed)."""

    def __init__(self, kit: Kit) -> None:
        self.kit = kit
        self.ctx = kit.ctx

    def routes(self, r: web.UrlDispatcher) -> None:
        r.add_get(
            "/dashboard/campaigns/{code}/export.{fmt:csv|xlsx}",
            self.kit.page(self.export, operators=True, action="export"),
            allow_head=False,  # a HEAD request must not run (and audit) an export
        )

    async def export(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        from reports.export import export as write

        code, fmt = request.match_info["code"], request.match_info["fmt"]
        status = request.query.get("status", "all")
        if status not in ("all", "completed"):
            return self.kit.error(
                request, viewer, 400, "status phải là all hoặc completed.", "status must be all or completed."
            )
        c = await self.kit.find(code)
        if c is None:
            return self.kit.not_found(request, viewer, code)
        folder = Path(tempfile.mkdtemp(prefix="khaosat-export-"))
        try:
            out = folder / f"{c.code}.{fmt}"
            arguments: dict[str, Any] = {"code": c.code, "format": fmt, "status": status, "via": "dashboard"}
            try:
                result = await write(self.ctx.db, c, fmt, out, status=None if status == "all" else status)
            except OSError as e:
                log.exception("export of %s failed", c.code)
                await self.kit.record(viewer.actor, "export", {**arguments, "error": str(e)}, "error")
                return self.kit.error(request, viewer, 500, "Không xuất được dữ liệu.", "The export failed.")
            await self.kit.record(viewer.actor, "export", {**arguments, "rows": result.rows})
            marked = "-SIMULATED" if c.simulated else ""
            stamp = self.ctx.clock().astimezone(ZoneInfo(c.timezone)).strftime("%Y%m%d-%H%M")
            response = web.StreamResponse(
                headers={
                    "Content-Type": EXPORT_TYPES[fmt],
                    "Content-Disposition": f'attachment; filename="khaosat-{c.code}-{stamp}{marked}.{fmt}"',
                    "Content-Length": str(result.bytes),
                    "Cache-Control": "no-store",
                    "X-Content-Type-Options": "nosniff",
                }
            )
            await response.prepare(request)
            with out.open("rb") as f:
                while chunk := await asyncio.to_thread(f.read, 256 * 1024):
                    await response.write(chunk)
            await response.write_eof()
            return response
        finally:
            with contextlib.suppress(OSError):
                shutil.rmtree(folder)
