"""Logging in and out of the dashboard (throttled; see `web.auth`)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from aiohttp import web

from web.auth import SESSION_SECONDS, needs_rehash
from web.dashboard.kit import Kit, Viewer, safe_next, see_other


class Login:
    """GET/POST /dashboard/login, POST /dashboard/logout."""

    def __init__(self, kit: Kit) -> None:
        self.kit = kit
        self.ctx = kit.ctx

    def routes(self, r: web.UrlDispatcher) -> None:
        r.add_get("/dashboard/login", self.login_form)
        r.add_post("/dashboard/login", self.login)
        r.add_post("/dashboard/logout", self.kit.page(self.logout, roles=("operator", "official", "monitor")))

    def _login_page(
        self, request: web.Request, status: int, name: str, message: tuple[str, str] | None, next_path: str
    ) -> web.Response:
        form_id, new = self.kit.auth.login_form_id(request)
        response = self.kit.render(
            request,
            None,
            "login.html",
            status=status,
            login_csrf=self.kit.auth.login_csrf(form_id),
            login_name=name,
            message=message,
            next_path=next_path,
        )
        if new:
            self.kit.auth.set_login_form_id(response, form_id)
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
        if await self.kit.viewer(request) is not None:
            return see_other(safe_next(request.query.get("next")))
        return self._login_page(request, 200, "", None, safe_next(request.query.get("next")))

    async def login(self, request: web.Request) -> web.StreamResponse:
        from storage.repo import logins, users

        form = await request.post()
        name = str(form.get("name", "")).strip()[:64]
        password = str(form.get("password", ""))
        next_path = safe_next(str(form.get("next", "")))
        token = form.get("csrf")
        if not self.kit.auth.login_form_ok(request, token if isinstance(token, str) else None):
            message = (
                "Biểu mẫu đăng nhập đã hết hạn: hãy thử lại.",
                "The login form has expired: please try again.",
            )
            return self._login_page(request, 403, name, message, next_path)
        throttle = self.kit.auth.throttle
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
            await self.kit.record(f"web:{name}", "web.login", {"name": name, "throttled": seconds}, "denied")
            return self._throttled(request, name, next_path, seconds)
        known = user.password_hash if user is not None and not user.disabled else None
        ok = await self.kit.auth.check_password(known, password)
        if not ok or user is None:
            async with self.ctx.db.write() as conn:  # apart: beside the attempt's row lock it could deadlock
                await logins.forget_old_failures(conn, now, throttle.window)
            arguments: dict[str, Any] = {"name": name}
            if lock > 0:
                arguments["locked"] = int(lock) + 1
            await self.kit.record(f"web:{name}", "web.login", arguments, "denied")
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
        await self.kit.record(f"web:{user.name}", "web.login", {"name": user.name})
        response = see_other(next_path)
        self.kit.auth.start_session(response, user.id, password_hash)
        return response

    async def logout(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        from storage.repo import logins

        await self.kit.record(viewer.actor, "web.logout", {})
        now = self.kit.auth.throttle.now()
        async with self.ctx.db.write() as conn:
            await logins.end_session(conn, viewer.session.sid, now + timedelta(seconds=SESSION_SECONDS), now)
        response = see_other("/dashboard/login")
        self.kit.auth.end_session(response)
        return response
