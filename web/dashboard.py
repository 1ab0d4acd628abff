"""The dashboard for operators and officials, under /dashboard/.

Routes (every page needs a login; a GET without one is sent to the login page, a POST without one gets 403):

    GET  /dashboard/                                  -> /dashboard/campaigns
    GET  /dashboard/login, POST /dashboard/login      log in (throttled: 429), POST /dashboard/logout
    GET  /dashboard/campaigns                         campaigns the user may see, with progress
    GET  /dashboard/campaigns/{code}                  a campaign: timeline, indices, wards, issues, comments
    GET  /dashboard/campaigns/{code}/chart.png        factor indices with interval bars (?ward=CODE)
    GET  /dashboard/campaigns/{code}/wards/{ward}     one ward of a campaign
    POST /dashboard/campaigns/{code}/launch|close     operators only
    GET  /dashboard/campaigns/{code}/export.csv|xlsx  operators only (?status=completed), the CLI's export
    GET  /dashboard/codes, POST /dashboard/codes      operators only: digest subscription codes
    GET  /dashboard/static/dashboard.css

Who sees what: operators everything; officials the launched campaigns that cover one of their wards, with
every figure limited to their wards (403 for anything else). Unknown campaigns and wards not in a campaign
are 404. Every POST needs the form's CSRF token (403 without). Every operator action (and every login)
writes an audit row, actor "web:<name>". Sessions, CSRF and throttling: see `web.auth`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web

from storage.records import CampaignRecord
from storage.repo.users import WebUserRecord
from web import errors, figures
from web.auth import COOKIE_PATH, FLASH_COOKIE, SESSION_COOKIE, SESSION_SECONDS, Auth, Session, needs_rehash
from web.context import WebContext
from web.templating import render

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static" / "dashboard.css"
HOME = "/dashboard/campaigns"
ROLES = {"operator": ("Điều hành", "Operator"), "official": ("Cán bộ", "Official")}
EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
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


def setup(app: web.Application, ctx: WebContext) -> None:
    Dashboard(ctx).routes(app)


def _local(moment: datetime, timezone: str) -> str:
    try:
        zone = ZoneInfo(timezone)
    except (ValueError, KeyError):  # an unknown zone in old data: UTC
        zone = ZoneInfo("UTC")
    return moment.astimezone(zone).strftime("%d/%m/%Y %H:%M")


def see_other(location: str) -> web.Response:
    """A 303 redirect (returned, not raised, so that cookies can be set on it)."""
    return web.Response(status=303, headers={"Location": location})


def safe_next(value: str | None) -> str:
    """Where to go after logging in: only a dashboard path of this site."""
    if value and value.startswith("/dashboard/") and "//" not in value and "\\" not in value:
        return value
    return HOME


class Dashboard:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx
        public = ctx.public_url or ""
        self.auth = Auth(ctx.secret, secure=public.startswith("https://"))
        ctx.auth = self.auth

    def routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/dashboard", self.home)
        r.add_get("/dashboard/", self.home)
        r.add_get("/dashboard/static/dashboard.css", self.css)
        r.add_get("/dashboard/login", self.login_form)
        r.add_post("/dashboard/login", self.login)
        r.add_post("/dashboard/logout", self.page(self.logout))
        r.add_get("/dashboard/campaigns", self.page(self.campaigns))
        r.add_get("/dashboard/campaigns/{code}", self.page(self.campaign))
        r.add_get("/dashboard/campaigns/{code}/chart.png", self.page(self.chart))
        r.add_get(r"/dashboard/campaigns/{code}/wards/{ward:\d{1,9}}", self.page(self.ward))
        r.add_post(
            "/dashboard/campaigns/{code}/launch", self.page(self.launch, operators=True, action="campaign.launch")
        )
        r.add_post("/dashboard/campaigns/{code}/close", self.page(self.close, operators=True, action="campaign.close"))
        r.add_get(
            "/dashboard/campaigns/{code}/export.{fmt:csv|xlsx}",
            self.page(self.export, operators=True, action="export"),
            allow_head=False,  # a HEAD request must not run (and audit) an export
        )
        r.add_get("/dashboard/codes", self.page(self.codes, operators=True))
        errors.add_page(app, "/dashboard/", self.error_page)
        r.add_post("/dashboard/codes", self.page(self.issue_code, operators=True, action="chats.code"))

    # --- plumbing ------------------------------------------------------------------------------------------

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

    def page(self, handler: Handler, *, operators: bool = False, action: str | None = None) -> Any:
        """A route for logged-in users: login, CSRF (POST) and role checks, in that order."""

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
            if operators and not viewer.user.is_operator:
                if action is not None:
                    await self.record(viewer.actor, action, {"path": request.path}, "denied")
                return self.error(
                    request, viewer, 403, "Chỉ người điều hành được làm việc này.", "Only operators may do this."
                )
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
        """404 or 405 under /dashboard/ (see `web.errors`), with the menu for someone logged in."""
        try:
            viewer = await self.viewer(request)
        except Exception:  # the database is away: the page without the menu
            log.exception("dashboard: no viewer for the %s page", status)
            viewer = None
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

    # --- static, home, login -------------------------------------------------------------------------------

    async def css(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC, headers={"Content-Type": "text/css", "Cache-Control": "public, max-age=3600"})

    async def home(self, request: web.Request) -> web.StreamResponse:
        return see_other(HOME)

    def _login_page(
        self, request: web.Request, status: int, name: str, message: tuple[str, str] | None, next_path: str
    ) -> web.Response:
        form_id, new = self.auth.login_form_id(request)
        response = self.render(
            request,
            None,
            "login.html",
            status=status,
            login_csrf=self.auth.login_csrf(form_id),
            login_name=name,
            message=message,
            next_path=next_path,
        )
        if new:
            self.auth.set_login_form_id(response, form_id)
        return response

    def _throttled(self, request: web.Request, name: str, next_path: str, seconds: int) -> web.Response:
        """429 with Retry-After: too many failed logins for this name from this address."""
        message = (
            f"Đăng nhập sai quá nhiều lần. Hãy thử lại sau {seconds} giây.",
            f"Too many failed logins. Try again in {seconds} seconds.",
        )
        response = self._login_page(request, 429, name, message, next_path)
        response.headers["Retry-After"] = str(seconds)
        return response

    async def login_form(self, request: web.Request) -> web.StreamResponse:
        if await self.viewer(request) is not None:
            return see_other(safe_next(request.query.get("next")))
        return self._login_page(request, 200, "", None, safe_next(request.query.get("next")))

    async def login(self, request: web.Request) -> web.StreamResponse:
        from storage.repo import logins, users

        form = await request.post()
        name = str(form.get("name", "")).strip()[:64]
        password = str(form.get("password", ""))
        next_path = safe_next(str(form.get("next", "")))
        token = form.get("csrf")
        if not self.auth.login_form_ok(request, token if isinstance(token, str) else None):
            message = (
                "Biểu mẫu đăng nhập đã hết hạn: hãy thử lại.",
                "The login form has expired: please try again.",
            )
            return self._login_page(request, 403, name, message, next_path)
        throttle = self.auth.throttle
        key, address = users.normalise_name(name), request.remote or ""
        now = throttle.now()
        lock = 0.0  # the lock-out this attempt starts if its password is wrong
        async with self.ctx.db.write() as conn:  # counted before the password is checked (see web.auth)
            counted = await logins.attempt(conn, key, address, now, throttle.window)
            wait = throttle.retry_after(counted, now)
            if wait <= 0:
                lock = throttle.lock_for(counted.failures)
                if lock > 0:
                    await logins.lock(conn, key, address, now + timedelta(seconds=lock))
            user = await users.get(conn, name) if name and wait <= 0 else None
        if wait > 0:  # locked: the password is not even checked
            seconds = int(wait) + 1
            await self.record(f"web:{name}", "web.login", {"name": name, "throttled": seconds}, "denied")
            return self._throttled(request, name, next_path, seconds)
        known = user.password_hash if user is not None and not user.disabled else None
        ok = await self.auth.check_password(known, password)
        if not ok or user is None:
            async with self.ctx.db.write() as conn:  # apart: beside the attempt's row lock it could deadlock
                await logins.forget_old_failures(conn, now, throttle.window)
            arguments: dict[str, Any] = {"name": name}
            if lock > 0:
                arguments["locked"] = int(lock) + 1
            await self.record(f"web:{name}", "web.login", arguments, "denied")
            if lock > 0:  # this failure starts a lock-out: say so now, not at the next try
                return self._throttled(request, name, next_path, int(lock) + 1)
            message = ("Sai tên đăng nhập hoặc mật khẩu.", "Wrong name or password.")
            return self._login_page(request, 401, name, message, next_path)
        async with self.ctx.db.write() as conn:
            await logins.clear_failures(conn, key, address)
        password_hash = user.password_hash
        if needs_rehash(password_hash):
            from web.auth import hash_password

            password_hash = await asyncio.to_thread(hash_password, password)
            async with self.ctx.db.write() as conn:
                await users.set_password(conn, user.name, password_hash)
        await self.record(f"web:{user.name}", "web.login", {"name": user.name})
        response = see_other(next_path)
        self.auth.start_session(response, user.id, password_hash)
        return response

    async def logout(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        from storage.repo import logins

        await self.record(viewer.actor, "web.logout", {})
        now = self.auth.throttle.now()
        async with self.ctx.db.write() as conn:
            await logins.end_session(conn, viewer.session.sid, now + timedelta(seconds=SESSION_SECONDS), now)
        response = see_other("/dashboard/login")
        self.auth.end_session(response)
        return response

    # --- pages ---------------------------------------------------------------------------------------------

    async def campaigns(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        from storage.repo import campaigns
        from storage.repo import wards as ward_repo

        async with self.ctx.db.read() as conn:
            found = [c for c in await campaigns.list_all(conn) if figures.may_see(viewer.user, c)]
            rows = [await figures.campaign_row(conn, viewer.user, c) for c in found]
            scope = None
            if viewer.user.scope is not None:
                scope = [u.name for u in await ward_repo.get_many(conn, list(viewer.user.scope))]
        return self.render(request, viewer, "campaigns.html", rows=rows, scope=scope)

    async def campaign(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        code = request.match_info["code"]
        c = await self.find(code)
        if c is None:
            return self.not_found(request, viewer, code)
        if not figures.may_see(viewer.user, c):
            return self.forbidden(request, viewer)
        wards = figures.visible_wards(viewer.user, c)
        async with self.ctx.db.read() as conn:
            report = await figures.report(conn, c, wards, self.ctx.clock())
        return self.render(
            request,
            viewer,
            "campaign.html",
            c=c,
            info=self._info(c),
            report=report,
            survey_link=self._survey_link(c),
            chart_url=f"/dashboard/campaigns/{quote(c.code)}/chart.png",
        )

    async def ward(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        code, ward = request.match_info["code"], int(request.match_info["ward"])
        c = await self.find(code)
        if c is None:
            return self.not_found(request, viewer, code)
        if ward not in c.ward_codes:
            return self.error(
                request,
                viewer,
                404,
                f"Phường, xã {ward} không thuộc đợt khảo sát này.",
                f"Ward {ward} is not part of this campaign.",
            )
        if not figures.may_see(viewer.user, c) or not viewer.user.sees(ward):
            return self.forbidden(request, viewer)
        from storage.repo import wards as ward_repo

        async with self.ctx.db.read() as conn:
            report = await figures.report(conn, c, [ward], self.ctx.clock(), by_ward=False)
            unit = (await ward_repo.get_many(conn, [ward]))[0]
        return self.render(
            request,
            viewer,
            "ward.html",
            c=c,
            info=self._info(c),
            unit=unit,
            report=report,
            survey_link=self._survey_link(c, ward),
            chart_url=f"/dashboard/campaigns/{quote(c.code)}/chart.png?ward={ward}",
        )

    async def chart(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        code = request.match_info["code"]
        c = await self.find(code)
        if c is None:
            return self.not_found(request, viewer, code)
        if not figures.may_see(viewer.user, c):
            return self.forbidden(request, viewer)
        wards = figures.visible_wards(viewer.user, c)
        if "ward" in request.query:
            text = request.query["ward"]
            if not text.isdigit() or int(text) not in c.ward_codes:
                return self.error(request, viewer, 404, "Không có phường, xã này.", "No such ward.")
            if not viewer.user.sees(int(text)):
                return self.forbidden(request, viewer)
            wards = [int(text)]
        async with self.ctx.db.read() as conn:
            data = await figures.chart_input(conn, c, wards, self.ctx.clock())
        png = await asyncio.to_thread(figures.chart_png, data)
        if png is None:
            return self.error(
                request,
                viewer,
                404,
                "Chưa có yếu tố nào đủ 30 câu trả lời để vẽ.",
                "No factor has the 30 answers needed to be drawn yet.",
            )
        return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "private, max-age=60"})

    def _info(self, c: CampaignRecord) -> dict[str, str]:
        tz = ZoneInfo(c.timezone)
        vi, en = figures.STATUS.get(c.status, (c.status, c.status))
        return {
            "status_vi": vi,
            "status_en": en,
            "starts": c.starts_at.astimezone(tz).strftime("%d/%m/%Y %H:%M"),
            "ends": c.ends_at.astimezone(tz).strftime("%d/%m/%Y %H:%M"),
            "timezone": c.timezone,
        }

    def _survey_link(self, c: CampaignRecord, ward: int | None = None) -> str | None:
        from reports.links import web_link

        if c.status == "closed":
            return None
        return web_link(self.ctx.public_url or self.ctx.local_url, c.code, ward)

    # --- operator actions ----------------------------------------------------------------------------------

    async def launch(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        from storage.repo import audit, campaigns

        code = request.match_info["code"]
        now = self.ctx.clock()
        try:
            async with self.ctx.db.write() as conn:
                c = await campaigns.launch(conn, code, now)
                await audit.record(conn, viewer.actor, "campaign.launch", {"code": code}, now=now)
        except campaigns.CampaignNotFound:
            await self.record(viewer.actor, "campaign.launch", {"code": code, "error": "not found"}, "error")
            return self.not_found(request, viewer, code)
        except campaigns.CampaignError as e:
            await self.record(viewer.actor, "campaign.launch", {"code": code, "error": str(e)}, "error")
            vi, en = await self._refusal("launch", code, now)
            return self.back(code, "error", f"{vi} / {en}")
        until = c.ends_at.astimezone(ZoneInfo(c.timezone)).strftime("%d/%m/%Y %H:%M")
        return self.back(
            code,
            "ok",
            f"Đã bắt đầu đợt {code} tại {len(c.ward_codes)} phường, xã, nhận trả lời đến {until}. / "
            f"Campaign {code} launched in {len(c.ward_codes)} wards, taking answers until {until}.",
        )

    async def close(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        from storage.repo import audit, campaigns

        code = request.match_info["code"]
        form = await request.post()
        if form.get("confirm") != "yes":
            if await self.find(code) is None:
                return self.not_found(request, viewer, code)
            return self.back(
                code,
                "error",
                "Hãy đánh dấu ô xác nhận để kết thúc đợt. / Tick the confirmation box to close the campaign.",
            )
        now = self.ctx.clock()
        try:
            async with self.ctx.db.write() as conn:
                _, abandoned, addresses = await campaigns.close(conn, code, now)
                arguments = {"code": code, "abandoned": abandoned, "addresses_deleted": addresses}
                await audit.record(conn, viewer.actor, "campaign.close", arguments, now=now)
        except campaigns.CampaignNotFound:
            await self.record(viewer.actor, "campaign.close", {"code": code, "error": "not found"}, "error")
            return self.not_found(request, viewer, code)
        except campaigns.CampaignError as e:
            await self.record(viewer.actor, "campaign.close", {"code": code, "error": str(e)}, "error")
            vi, en = await self._refusal("close", code, now)
            return self.back(code, "error", f"{vi} / {en}")
        return self.back(
            code,
            "ok",
            f"Đã kết thúc đợt {code}; {abandoned} phiếu dở dang được đánh dấu bỏ dở. / "
            f"Campaign {code} closed; {abandoned} unfinished responses marked abandoned.",
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
            ended = _local(c.ends_at, c.timezone)
            return (
                f"{vi}: thời gian khảo sát đã hết lúc {ended}; hãy đổi ngày trước.",
                f"{en}: it ended at {ended}; change its dates first.",
            )
        if overlaps:
            other = overlaps[0]
            when = f"{_local(other.starts_at, other.timezone)} – {_local(other.ends_at, other.timezone)}"
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

    async def export(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        from reports.export import export as write

        code, fmt = request.match_info["code"], request.match_info["fmt"]
        status = request.query.get("status", "all")
        if status not in ("all", "completed"):
            return self.error(
                request, viewer, 400, "status phải là all hoặc completed.", "status must be all or completed."
            )
        c = await self.find(code)
        if c is None:
            return self.not_found(request, viewer, code)
        folder = Path(tempfile.mkdtemp(prefix="khaosat-export-"))
        try:
            out = folder / f"{c.code}.{fmt}"
            arguments: dict[str, Any] = {"code": c.code, "format": fmt, "status": status, "via": "dashboard"}
            try:
                result = await write(self.ctx.db, c, fmt, out, status=None if status == "all" else status)
            except OSError as e:
                log.exception("export of %s failed", c.code)
                await self.record(viewer.actor, "export", {**arguments, "error": str(e)}, "error")
                return self.error(request, viewer, 500, "Không xuất được dữ liệu.", "The export failed.")
            await self.record(viewer.actor, "export", {**arguments, "rows": result.rows})
            stamp = self.ctx.clock().astimezone(ZoneInfo(c.timezone)).strftime("%Y%m%d-%H%M")
            response = web.StreamResponse(
                headers={
                    "Content-Type": EXPORT_TYPES[fmt],
                    "Content-Disposition": f'attachment; filename="khaosat-{c.code}-{stamp}.{fmt}"',
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
                    "schedule": code.schedule,
                    "language": code.language,
                    "expires": code.expires_at.astimezone(tz).strftime("%d/%m/%Y %H:%M"),
                }
            )
        form = {
            "scope": values.get("scope", "all"),
            "schedule": values.get("schedule", "weekly mon 08:00"),
            "language": values.get("language", "vi"),
            "days": values.get("days", str(self.ctx.subscription_code_days)),
        }
        return self.render(request, viewer, "codes.html", status=status, rows=rows, problem=problem, form=form)

    async def issue_code(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        from reports.schedule import ScheduleError, parse_schedule
        from storage.repo import audit, chats

        form = await request.post()
        values = {k: str(form.get(k, "")).strip() for k in ("scope", "schedule", "language", "days")}
        problem = None
        scope: list[int] | None = None
        text = values["scope"]
        if text.lower() == "all":
            scope = None
        else:
            parts = [p.strip() for p in text.split(",") if p.strip()]
            if not parts or not all(p.isdigit() and len(p) <= 9 for p in parts):
                problem = (
                    "Phạm vi: “all” hoặc mã phường, xã cách nhau bởi dấu phẩy (vd. 70,235). / "
                    "Scope: 'all' or ward codes separated by commas (e.g. 70,235)."
                )
            else:
                scope = [int(p) for p in parts]
        schedule = ""
        try:
            schedule = parse_schedule(values["schedule"]).text
        except ScheduleError as e:
            problem = problem or f"Lịch gửi / Schedule: {e}"
        if values["language"] not in ("vi", "en"):
            problem = problem or "Ngôn ngữ: vi hoặc en. / Language: vi or en."
        days = int(values["days"]) if values["days"].isdigit() else 0
        if not 1 <= days <= 365:
            problem = problem or "Số ngày hiệu lực: 1-365. / Days valid: 1-365."
        if problem is not None:
            return await self._codes_page(request, viewer, 400, problem, values)
        now = self.ctx.clock()
        arguments = {"scope": scope or "all", "schedule": schedule, "language": values["language"], "days": days}
        try:
            async with self.ctx.db.write() as conn:
                record = await chats.issue_code(
                    conn,
                    scope=scope,
                    schedule=schedule,
                    language=values["language"],
                    now=now,
                    valid_for=timedelta(days=days),
                )
                await audit.record(conn, viewer.actor, "chats.code", arguments, now=now)
        except chats.ChatError as e:
            await self.record(viewer.actor, "chats.code", {**arguments, "error": str(e)}, "error")
            return await self._codes_page(request, viewer, 400, str(e), values)
        expires = record.expires_at.astimezone(ZoneInfo(self.ctx.tz)).strftime("%d/%m/%Y %H:%M")
        response = see_other("/dashboard/codes")
        self.auth.flash(
            response,
            "ok",
            f"Mã mới / New code: {record.display}. Dùng một lần, hết hạn {expires}: trong nhóm Telegram, gửi "
            f"/subscribe {record.display} / One-time, expires {expires}: in the Telegram group, send "
            f"/subscribe {record.display}",
        )
        return response
