"""Pages for unknown addresses and wrong methods under the web survey (/s/) and the dashboard (/dashboard/).

aiohttp answers a URL that matches no route with a bare "404: Not Found" (and a path without the request's
method with "405: Method Not Allowed"). For people that is a dead end, so `middleware` turns those (and a
handler's own raised HTTPNotFound) into the part's bilingual page, with the same status (and the Allow header
for 405). Deliberately narrow:

* only GET and HEAD requests (what a browser sends when following a link or typing an address);
* only 404 and 405 (redirects, 401, 403, 429 with their headers and every other status pass through as raised);
* only paths under a registered prefix; /healthz, /metrics and the Telegram webhook are outside them, and
  the webhook returns its 401/400/503 responses rather than raising them, so nothing of theirs is touched.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

ErrorPage = Callable[[web.Request, int], Awaitable[web.StreamResponse]]
"""Renders the page for a status (404 or 405) of a request."""

PAGES = web.AppKey("error_pages", dict[str, ErrorPage])
"""Path prefix ("/s/") -> its error page."""

HANDLED = (web.HTTPNotFound, web.HTTPMethodNotAllowed)


def add_page(app: web.Application, prefix: str, page: ErrorPage) -> None:
    """Show `page` for 404 and 405 under `prefix` (which ends with "/"; the bare prefix counts too)."""
    if PAGES not in app:
        app[PAGES] = {}
        app.middlewares.append(middleware)
    app[PAGES][prefix] = page


def page_for(app: web.Application, path: str) -> ErrorPage | None:
    for prefix, page in app.get(PAGES, {}).items():
        if path.startswith(prefix) or path == prefix.rstrip("/"):
            return page
    return None


@web.middleware
async def middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except HANDLED as e:
        if request.method not in ("GET", "HEAD"):
            raise
        page = page_for(request.app, request.path)
        if page is None:
            raise
        try:
            response = await page(request, e.status)
        except Exception:
            log.exception("error page for %s %s failed", request.method, request.path)
            raise e from None
        if isinstance(e, web.HTTPMethodNotAllowed) and "Allow" in e.headers:
            response.headers["Allow"] = e.headers["Allow"]
        return response
