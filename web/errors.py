"""Pages for unknown addresses, wrong methods and unreadable requests; quiet logs for broken HTTP.

Unknown addresses and wrong methods under the web survey (/s/) and the dashboard (/dashboard/):

aiohttp answers a URL that matches no route with a bare "404: Not Found" (and a path without the request's
method with "405: Method Not Allowed"). For people that is a dead end, so `middleware` turns those (and a
handler's own raised HTTPNotFound) into the part's bilingual page, with the same status (and the Allow header
for 405). Deliberately narrow:

* only GET and HEAD requests (what a browser sends when following a link or typing an address);
* only 404 and 405 (redirects, 401, 403, 429 with their headers and every other status pass through as raised);
* only paths under a registered prefix; /healthz, /metrics and the Telegram webhook are outside them, and
  the webhook returns its 401/400/503 responses rather than raising them, so nothing of theirs is touched.

Unreadable requests, on every route: `middleware` also reads a POST's form before the handler runs (aiohttp keeps
it, so the handler's own `request.post()` returns the same) and answers a form that cannot be read (bytes
that are not in its charset, an unknown charset, a broken multipart body) with 400: the part's page for
400 where one is registered (in the visitor's language, then the other), else the catalog's bilingual text.
Cookies that are not UTF-8 are refused by `web.security.Signer` (a new visitor, no session), and numbers
are read by `web.params`; so a malformed request is the client's mistake, never a 500 or a traceback.

Broken HTTP (raw non-ASCII bytes in the request line, an invalid header) never reaches the application:
aiohttp answers 400 itself and logs it at ERROR with a traceback. `quiet_protocol_errors` makes that one
line at INFO, since it says nothing about the server.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from flows.i18n import Section

log = logging.getLogger(__name__)
texts = Section("web")

ErrorPage = Callable[[web.Request, int], Awaitable[web.StreamResponse]]
"""Renders the page for a status (404 or 405) of a request."""

PAGES = web.AppKey("error_pages", dict[str, ErrorPage])
"""Path prefix ("/s/") -> its error page."""

HANDLED = (web.HTTPNotFound, web.HTTPMethodNotAllowed)

FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
FORM_METHODS = frozenset({"POST", "PUT", "PATCH"})
UNREADABLE = (ValueError, LookupError, HttpProcessingError, RequestPayloadError)
"""What reading a request's body can raise for a body that is wrong (a charset, a multipart, a content encoding
that does not decode): a 400."""
GONE = (ConnectionResetError, ConnectionError)
"""The client went away in the middle of its body (a phone losing signal): nothing to answer, nothing to log."""
"""What reading a form raises for a body that is not what it says (UnicodeDecodeError is a ValueError, an
unknown charset a LookupError, a broken multipart part an aiohttp HttpProcessingError)."""


def add_page(app: web.Application, prefix: str, page: ErrorPage) -> None:
    """Show `page` for 404 and 405 under `prefix` (which ends with "/"; the bare prefix counts too)."""
    if PAGES not in app:
        app[PAGES] = {}
    if middleware not in app.middlewares:
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
    """Every route: an unreadable form is a 400 before any handler sees it; then, under a registered prefix,
    the part's page for 404 and 405 (one middleware for both: a webhook call is wrapped once)."""
    if request.method in FORM_METHODS and _maybe_form(request) and request.content_type in FORM_TYPES:
        try:
            await request.post()
        except UNREADABLE as e:
            log.info("unreadable form in %s %s: %s", request.method, request.path, _first_line(e))
            return await bad_request(request)
        except GONE as e:
            log.info("client left in the middle of %s %s: %s", request.method, request.path, _first_line(e))
            return web.Response(status=400, text="connection lost\n")
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


def _maybe_form(request: web.Request) -> bool:
    """A cheap first look (a webhook's JSON is most of the traffic): only a Content-Type naming a form can be one."""
    return "form" in request.headers.get("Content-Type", "").lower()


async def bad_request(request: web.Request) -> web.StreamResponse:
    """The 400 page of the request's part, or the catalog's text in both languages."""
    page = page_for(request.app, request.path)
    if page is not None:
        try:
            return await page(request, 400)
        except Exception:
            log.exception("error page 400 for %s %s failed", request.method, request.path)
    text = "\n\n".join(
        f"{texts('bad_request_title', language)}\n{texts('unreadable_request', language)}" for language in ("vi", "en")
    )
    return web.Response(status=400, text=text + "\n", headers={"Cache-Control": "no-store"})


def _first_line(e: BaseException) -> str:
    message = e.message if isinstance(e, HttpProcessingError) else str(e)
    return (str(message).strip().splitlines() or [type(e).__name__])[0][:200]


class QuietProtocolErrors(logging.Filter):
    """Turns aiohttp's report of a request it could not parse (a 4xx it answered itself) into one INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, RequestPayloadError) and isinstance(exc.__cause__, HttpProcessingError):
            exc = exc.__cause__  # an unread body that does not decode, drained after the reply (aiohttp's own)
        if isinstance(exc, HttpProcessingError) and 400 <= exc.code < 500:
            record.msg = f"{record.msg} (answered {exc.code}: %s)"
            record.args = (*(record.args if isinstance(record.args, tuple) else ()), _first_line(exc))
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info, record.exc_text = None, None
        return True


def quiet_protocol_errors() -> None:
    """Install `QuietProtocolErrors` on aiohttp's server logger (once)."""
    logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, QuietProtocolErrors) for f in logger.filters):
        logger.addFilter(QuietProtocolErrors())


def install(app: web.Application) -> None:
    """What every web application gets: `middleware` first (it wraps every route) and quiet protocol errors."""
    if middleware not in app.middlewares:
        app.middlewares.insert(0, middleware)
    quiet_protocol_errors()
