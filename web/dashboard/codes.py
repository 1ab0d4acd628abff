"""Digest subscription codes: the list and the form that issues one (operators only)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from aiohttp import web

from reports import format as fmt
from web.dashboard.kit import Kit, Viewer, see_other
from web.params import whole_number, whole_numbers


class Codes:
    """GET and POST /dashboard/codes."""

    def __init__(self, kit: Kit) -> None:
        self.kit = kit
        self.ctx = kit.ctx

    def routes(self, r: web.UrlDispatcher) -> None:
        r.add_get("/dashboard/codes", self.kit.page(self.codes, operators=True))

    def post_routes(self, r: web.UrlDispatcher) -> None:
        r.add_post("/dashboard/codes", self.kit.page(self.issue_code, operators=True, action="chats.code"))

    async def codes(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        return await self._codes_page(request, viewer, 200, None, {})

    async def _codes_page(
        self, request: web.Request, viewer: Viewer, status: int, problem: str | None, values: dict[str, str]
    ) -> web.Response:
        from storage.repo import chats

        tz = ZoneInfo(self.ctx.tz)
        now = self.ctx.clock()
        async with self.ctx.db.read() as conn:
            found = list(reversed(await chats.list_codes(conn)))[:50]
        rows = []
        for code in found:
            if code.used_at is not None:
                state = ("Đã dùng", "Used")
            elif code.expires_at <= now:
                state = ("Hết hạn", "Expired")
            else:
                state = ("Chưa dùng", "Unused")
            rows.append(
                {
                    "code": code.display,
                    "state": state,
                    "scope": "tất cả / all" if code.scope is None else ", ".join(map(str, code.scope)),
                    "dimensions": "" if code.dimensions is None else ", ".join(map(str, code.dimensions)),
                    "schedule": code.schedule,
                    "language": code.language,
                    "expires": fmt.local(code.expires_at, tz),
                }
            )
        form = {
            "scope": values.get("scope", "all"),
            "dimensions": values.get("dimensions", ""),
            "schedule": values.get("schedule", "weekly mon 08:00"),
            "language": values.get("language", "vi"),
            "days": values.get("days", str(self.ctx.subscription_code_days)),
        }
        return self.kit.render(request, viewer, "codes.html", status=status, rows=rows, problem=problem, form=form)

    async def issue_code(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        from reports.schedule import ScheduleError, parse_schedule
        from storage.repo import audit, chats

        form = await request.post()
        values = {k: str(form.get(k, "")).strip() for k in ("scope", "schedule", "language", "days", "dimensions")}
        problem = None
        scope: list[int] | None = None
        text = values["scope"]
        if text.lower() == "all":
            scope = None
        else:
            codes = whole_numbers(text, 0, 999_999_999)
            if codes is None:
                problem = (
                    "Phạm vi: “all” hoặc mã phường, xã cách nhau bởi dấu phẩy (vd. 70,235). / "
                    "Scope: 'all' or ward codes separated by commas (e.g. 70,235)."
                )
            else:
                scope = codes
        dimensions: list[int] | None = None
        if values["dimensions"]:
            numbers = whole_numbers(values["dimensions"], 1, 8)
            if numbers is None:
                problem = problem or "Lĩnh vực: số 1-8, cách nhau bởi dấu phẩy (vd. 5,6). / Dimensions: 1-8, e.g. 5,6."
            else:
                dimensions = sorted(set(numbers))
        schedule = ""
        try:
            schedule = parse_schedule(values["schedule"]).text
        except ScheduleError as e:
            problem = problem or f"Lịch gửi / Schedule: {e}"
        if values["language"] not in ("vi", "en"):
            problem = problem or "Ngôn ngữ: vi hoặc en. / Language: vi or en."
        days = whole_number(values["days"], 1, 365)
        if days is None:
            problem = problem or "Số ngày hiệu lực: 1-365. / Days valid: 1-365."
        if problem is not None or days is None:
            return await self._codes_page(request, viewer, 400, problem or "", values)
        now = self.ctx.clock()
        arguments: dict[str, object] = {
            "scope": scope or "all",
            "schedule": schedule,
            "language": values["language"],
            "days": days,
        }
        if dimensions is not None:
            arguments["dimensions"] = dimensions
        try:
            async with self.ctx.db.write() as conn:
                record = await chats.issue_code(
                    conn,
                    scope=scope,
                    schedule=schedule,
                    language=values["language"],
                    now=now,
                    valid_for=timedelta(days=days),
                    dimensions=dimensions,
                )
                await audit.record(conn, viewer.actor, "chats.code", arguments, now=now)
        except chats.ChatError as e:
            await self.kit.record(viewer.actor, "chats.code", {**arguments, "error": str(e)}, "error")
            return await self._codes_page(request, viewer, 400, str(e), values)
        expires = fmt.local(record.expires_at, self.ctx.tz)
        response = see_other("/dashboard/codes")
        self.kit.auth.flash(
            response,
            "ok",
            f"Mã mới / New code: {record.display}. Dùng một lần, hết hạn {expires}: trong nhóm Telegram, gửi "
            f"/subscribe {record.display} / One-time, expires {expires}: in the Telegram group, send "
            f"/subscribe {record.display}",
        )
        return response
