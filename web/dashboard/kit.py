"""The dashboard's plumbing, shared by its parts: who is logged in, the login/CSRF/role checks of a route,
pages and error pages, the audit trail, and reading a campaign."""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web

from reports import format as fmt
from storage.records import CampaignRecord
from storage.repo.users import WebUserRecord
from web import errors, figures
from web.auth import COOKIE_PATH, FLASH_COOKIE, SESSION_COOKIE, Auth, Session
from web.context import WebContext
from web.templating import render

log = logging.getLogger("web.dashboard")

HOME = "/dashboard/campaigns"
OVERSIGHT = "/dashboard/oversight"
"""A monitor's home: how the survey is run (they see no results)."""
ROLES = {
    "operator": ("Điều hành", "Operator"),
    "official": ("Cán bộ", "Official"),
    "monitor": ("Giám sát", "Monitor"),
}

Handler = Callable[[web.Request, "Viewer"], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Viewer:
    """The logged-in user of a request."""

    user: WebUserRecord
    session: Session
    csrf: str

    @property
    def actor(self) -> str:
        return f"web:{self.user.name}"


def local(moment: datetime, timezone: str) -> str:
    """A stored time as the dashboard shows it ("31/12/2026 23:59"), in `timezone` (UTC if unknown)."""
    return fmt.local(moment, timezone)


def see_other(location: str) -> web.Response:
    """A 303 redirect (returned, not raised, so that cookies can be set on it)."""
    return web.Response(status=303, headers={"Location": location})


_NEXT = re.compile(r"/dashboard/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*", re.ASCII)
"""A dashboard path and query in the characters a URL may hold as they are (no spaces, controls or non-ASCII:
they would break the Location header)."""


def safe_next(value: str | None) -> str:
    """Where to go after logging in: only a dashboard path of this site."""
    if value and len(value) <= 2000 and _NEXT.fullmatch(value) and "//" not in value:
        return value
    return HOME


class Kit:
    """What every part of the dashboard uses: the context, the session signer, and the helpers below."""

    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx
        public = ctx.public_url or ""
        self.auth = Auth(ctx.secret, secure=public.startswith("https://"))
        ctx.auth = self.auth

    async def viewer(self, request: web.Request) -> Viewer | None:
        session = self.auth.session(request)
        if session is None:
            return None
        from storage.repo import logins, users

        async with self.ctx.db.read() as conn:
            user = await users.get_by_id(conn, session.user_id)
            if user is None or user.disabled or await logins.session_ended(conn, session.sid):
                return None
        if not hmac.compare_digest(self.auth.fingerprint(user.password_hash), session.fingerprint):
            return None  # the password changed since this session began
        return Viewer(user, session, self.auth.csrf(session))

    def page(
        self,
        handler: Handler,
        *,
        operators: bool = False,
        action: str | None = None,
        roles: tuple[str, ...] = ("operator", "official"),
    ) -> Any:
        """A route for logged-in users: login, CSRF (POST) and role checks, in that order. `roles` may open it
        (operators and officials by default; monitors only where named); every request of a monitor is in the
        audit log, refused ones too."""

        async def wrapped(request: web.Request) -> web.StreamResponse:
            viewer = await self.viewer(request)
            if viewer is None:
                if request.method == "GET":
                    response = see_other(f"/dashboard/login?next={quote(request.path_qs, safe='/')}")
                    if SESSION_COOKIE in request.cookies:
                        response.del_cookie(SESSION_COOKIE, path=COOKIE_PATH)
                    return response
                return self.error(request, None, 403, "Bạn cần đăng nhập.", "You need to log in.")
            if request.method == "POST":
                form = await request.post()
                token = form.get("csrf")
                if not self.auth.csrf_ok(viewer.session, token if isinstance(token, str) else None):
                    return self.error(
                        request,
                        viewer,
                        403,
                        "Biểu mẫu đã hết hạn hoặc không hợp lệ: hãy tải lại trang và thử lại.",
                        "The form has expired or is not valid: reload the page and try again.",
                    )
            if viewer.user.is_monitor:
                allowed = "monitor" in roles
                home = not allowed and request.method == "GET" and request.path == HOME
                arguments = {"path": request.path_qs, "method": request.method}
                if home:
                    arguments["redirect"] = OVERSIGHT
                await self.record(viewer.actor, "monitor.view", arguments, "ok" if allowed or home else "denied")
                if home:
                    return see_other(OVERSIGHT)
                if not allowed:
                    return self.error(
                        request,
                        viewer,
                        403,
                        "Tài khoản giám sát chỉ xem được cách tổ chức khảo sát, không xem kết quả hay câu trả lời.",
                        "A monitor's login shows how the survey is run, not its results or answers.",
                    )
            elif viewer.user.role not in roles:
                return self.error(request, viewer, 403, "Trang này không dành cho bạn.", "This page is not for you.")
            if operators and not viewer.user.is_operator:
                if action is not None:
                    await self.record(viewer.actor, action, {"path": request.path}, "denied")
                return self.error(
                    request, viewer, 403, "Chỉ người điều hành được làm việc này.", "Only operators may do this."
                )
            if viewer.user.is_operator:  # operators see exact counts (they can export the raw data anyway);
                with fmt.exact_figures():  # digests and the annual ranking keep officials' rules whoever asks
                    return await handler(request, viewer)
            return await handler(request, viewer)

        return wrapped

    def render(
        self, request: web.Request, viewer: Viewer | None, template: str, status: int = 200, **values: Any
    ) -> web.Response:
        flash = self.auth.read_flash(request)
        user = viewer.user if viewer else None
        response = render(
            f"dashboard/{template}",
            status=status,
            user=user,
            role=ROLES.get(user.role, (user.role, user.role)) if user else None,
            csrf=viewer.csrf if viewer else "",
            flash=flash,
            **values,
        )
        if flash is not None:
            response.del_cookie(FLASH_COOKIE, path=COOKIE_PATH)
        response.headers["Cache-Control"] = "no-store"
        return response

    def error(self, request: web.Request, viewer: Viewer | None, status: int, vi: str, en: str) -> web.Response:
        titles = {
            400: ("Yêu cầu không hợp lệ", "Bad request"),
            403: ("Không được phép", "Forbidden"),
            404: ("Không tìm thấy", "Not found"),
            405: ("Không mở được trang", "Method not allowed"),
            500: ("Lỗi", "Error"),
        }
        title = titles.get(status, ("Lỗi", "Error"))
        return self.render(request, viewer, "error.html", status=status, title=title, message=(vi, en))

    async def error_page(self, request: web.Request, status: int) -> web.StreamResponse:
        """404, 405 or 400 under /dashboard/ (see `web.errors`), with the menu for someone logged in."""
        try:
            viewer = await self.viewer(request)
        except Exception:  # the database is away: the page without the menu
            log.exception("dashboard: no viewer for the %s page", status)
            viewer = None
        if viewer is not None and viewer.user.is_monitor:
            await self.record(viewer.actor, "monitor.view", {"path": request.path_qs, "status": status}, "denied")
        if status == 400:
            return self.error(
                request, viewer, 400, errors.texts("unreadable_request", "vi"), errors.texts("unreadable_request", "en")
            )
        if status == 405:
            return self.error(
                request,
                viewer,
                405,
                "Trang này không mở được trực tiếp từ trình duyệt (ví dụ: hãy đăng xuất bằng nút “Đăng xuất”).",
                "This address cannot be opened directly in the browser (to log out, for example, use the "
                "“Log out” button).",
            )
        return self.error(
            request,
            viewer,
            404,
            "Không có trang này trong bảng điều khiển. Hãy kiểm tra lại đường dẫn.",
            "There is no such page in the dashboard. Check the address.",
        )

    def not_found(self, request: web.Request, viewer: Viewer, code: str) -> web.Response:
        return self.error(request, viewer, 404, f"Không có đợt khảo sát “{code}”.", f"There is no campaign “{code}”.")

    def forbidden(self, request: web.Request, viewer: Viewer) -> web.Response:
        return self.error(
            request,
            viewer,
            403,
            "Trang này nằm ngoài phạm vi phường, xã của bạn.",
            "This page is outside the wards you may see.",
        )

    async def record(self, actor: str, action: str, arguments: dict[str, Any], outcome: str = "ok") -> None:
        from storage.repo import audit

        async with self.ctx.db.write() as conn:
            await audit.record(conn, actor, action, arguments, outcome, now=self.ctx.clock())

    async def find(self, code: str) -> CampaignRecord | None:
        from storage.repo import campaigns

        async with self.ctx.db.read() as conn:
            try:
                return await campaigns.get(conn, code)
            except campaigns.CampaignNotFound:
                return None

    def back(self, code: str, kind: str, text: str) -> web.StreamResponse:
        response = see_other(f"/dashboard/campaigns/{quote(code)}")
        self.auth.flash(response, kind, text)
        return response

    def info(self, c: CampaignRecord) -> dict[str, str]:
        """A campaign's status, dates and reminder policy, as its pages show them."""
        tz = ZoneInfo(c.timezone)
        vi, en = figures.STATUS.get(c.status, (c.status, c.status))
        reminders_vi, reminders_en = figures.reminders(c.reminder_policy)
        return {
            "reminders_vi": reminders_vi,
            "reminders_en": reminders_en,
            "status_vi": vi,
            "status_en": en,
            "starts": fmt.local(c.starts_at, tz),
            "ends": fmt.local(c.ends_at, tz),
            "timezone": c.timezone,
        }

    def survey_link(self, c: CampaignRecord, ward: int | None = None) -> str | None:
        from reports.links import web_link

        if c.status == "closed":
            return None
        return web_link(self.ctx.public_url or self.ctx.local_url, c.code, ward)


FLAG_LABELS: dict[str, tuple[str, str]] = {
    "too_fast": ("Trả lời quá nhanh", "Too fast to have read the questions"),
    "straightlining": ("Cùng một mức cho mọi câu", "The same answer everywhere"),
    "many_from_address": ("Nhiều phiếu từ một địa chỉ mạng", "Many completions from one address"),
}
"""The data-quality flags (`flows.quality.Flag`) as the dashboard names them, Vietnamese and English."""


def quality_lines(counts: Mapping[str, int], *, exact: bool) -> dict[str, Any]:
    """A campaign's flagged responses for a page: the total and one line per flag, under the small-cell rules."""
    return {
        "any": fmt.count_cell(counts.get("any", 0), exact=exact),
        "flags": [
            {"name": name, "vi": vi, "en": en, "n": fmt.count_cell(counts.get(name, 0), exact=exact)}
            for name, (vi, en) in FLAG_LABELS.items()
        ],
    }
