"""Digests in the dashboard (operators only): what a subscribed group, or the officials of any scope, will
receive (the period so far, as it would be sent), and a test digest sent to a subscribed group now."""

from __future__ import annotations

import html
import re
import secrets
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from web.dashboard.kit import Kit, Viewer, see_other
from web.params import whole_numbers

PREVIEW = "/dashboard/digests"


class Digests:
    """GET /dashboard/digests (?chat=ID or ?scope=70,235|all&lang=vi|en), POST /dashboard/digests/test."""

    def __init__(self, kit: Kit) -> None:
        self.kit = kit
        self.ctx = kit.ctx

    def routes(self, r: web.UrlDispatcher) -> None:
        r.add_get(PREVIEW, self.kit.page(self.page, operators=True))

    def post_routes(self, r: web.UrlDispatcher) -> None:
        r.add_post(PREVIEW + "/test", self.kit.page(self.test, operators=True, action="digest.test"))

    async def page(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        from reports import digests
        from storage.repo import chats

        async with self.ctx.db.read() as conn:
            subscribed = await chats.list_chats(conn, active_only=True)
        query = request.query
        chosen = None
        scope: list[int] | None = None
        dimensions: list[int] | None = None
        language = query.get("lang", "vi") if query.get("lang") in ("vi", "en") else "vi"
        schedule = "weekly mon 08:00"
        problem = None
        if "chat" in query:
            chosen = next((c for c in subscribed if c.label == query["chat"]), None)
            if chosen is None:
                return self.kit.error(request, viewer, 404, "Không có nhóm đăng ký này.", "No such subscribed group.")
            scope = None if chosen.scope is None else list(chosen.scope)
            dimensions = None if chosen.dimensions is None else list(chosen.dimensions)
            language, schedule = chosen.language, chosen.schedule
        elif "scope" in query:
            text = query["scope"].strip()
            codes = whole_numbers(text, 0, 999_999_999)
            if text.lower() != "all" and codes is None:
                problem = (
                    "Phạm vi: “all” hoặc mã phường, xã cách nhau bởi dấu phẩy (vd. 70,235). / "
                    "Scope: 'all' or ward codes separated by commas (e.g. 70,235)."
                )
            elif text.lower() != "all":
                scope = codes
        previews = []
        if (chosen is not None or "scope" in query) and problem is None:
            now = self.ctx.clock()
            found = await digests.preview(
                self.ctx.db,
                scope,
                schedule,
                language,
                now,
                ZoneInfo(self.ctx.tz),
                self.ctx.digest_alert_threshold,
                dimensions=dimensions,
                channel=chosen.channel if chosen is not None else "telegram",
            )
            if chosen is not None and chosen.channel in digests.PLAIN_CHANNELS:  # plain text: shown as typed
                found = [(c, [html.escape(m) for m in messages]) for c, messages in found]
            previews = [{"campaign": c, "messages": messages} for c, messages in found]
        return self.kit.render(
            request,
            viewer,
            "digests.html",
            status=400 if problem else 200,
            chats=subscribed,
            chosen=chosen,
            scope_text=query.get("scope", ""),
            language=language,
            previews=previews,
            asked=chosen is not None or "scope" in query,
            problem=problem,
        )

    async def test(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """Send the digest of the period so far to a subscribed group now (as its /digest would)."""
        from reports import digests

        form = await request.post()
        from storage.repo.chats import parse_chat_label

        chat = str(form.get("chat", ""))
        channel, address = parse_chat_label(chat)
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", address):
            return self.kit.error(request, viewer, 400, "Nhóm không hợp lệ.", "Not a group.")
        now = self.ctx.clock()
        response = see_other(f"{PREVIEW}?{urlencode({'chat': chat})}")
        try:
            queued = await digests.queue_digest_now(
                self.ctx.db,
                address,
                now,
                ZoneInfo(self.ctx.tz),
                self.ctx.digest_alert_threshold,
                request_id=f"test-{secrets.token_hex(4)}",
                channel=channel or "telegram",
            )
        except digests.DigestUnavailable as e:
            await self.kit.record(viewer.actor, "digest.test", {"chat": chat, "error": e.reason}, "error")
            reasons = {
                "not_subscribed": ("Nhóm này không còn đăng ký.", "This group is not subscribed any more."),
                "no_campaign": ("Không có đợt khảo sát nào trong phạm vi.", "No campaign in its scope."),
                "too_soon": ("Vừa gửi cách đây ít phút; thử lại sau.", "One was sent minutes ago; try later."),
            }
            vi, en = reasons[e.reason]
            self.kit.auth.flash(response, "error", f"{vi} / {en}")
            return response
        await self.kit.record(viewer.actor, "digest.test", {"chat": chat, "messages": queued})
        self.ctx.wake_outbox()
        self.kit.auth.flash(
            response, "ok", f"Đã xếp {queued} tin vào hàng gửi. / {queued} message(s) queued for the group."
        )
        return response
