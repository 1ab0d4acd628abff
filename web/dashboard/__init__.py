"""The dashboard for operators and officials, under /dashboard/.

Routes (every page needs a login; a GET without one is sent to the login page, a POST without one gets 403):

    GET  /dashboard/                                  -> /dashboard/campaigns
    GET  /dashboard/login, POST /dashboard/login      log in (throttled: 429), POST /dashboard/logout
    GET  /dashboard/campaigns                         campaigns the user may see, with progress
    GET  /dashboard/campaigns/{code}                  a campaign: timeline, indices, wards (?province= &q= &page=),
                                                      issues, comments
    GET  /dashboard/campaigns/{code}/chart.png        factor indices with interval bars (?ward=CODE)
    GET  /dashboard/campaigns/{code}/wards/{ward}     one ward of a campaign, with its trends
    GET  /dashboard/campaigns/{code}[/wards/{ward}]/trends.csv   factors over the survey's campaigns, per ward
    POST /dashboard/campaigns/{code}/launch|close     operators only
    GET  /dashboard/campaigns/{code}/export.csv|xlsx  operators only (?status=completed), the CLI's export
    GET  /dashboard/codes, POST /dashboard/codes      operators only: digest subscription codes
    GET  /dashboard/digests (?chat=ID | ?scope=...)   operators only: what a group (or a scope) will receive
    POST /dashboard/digests/test                      operators only: send a test digest to a subscribed group
    GET  /dashboard/oversight[/campaigns/{code}[/responses.csv]], /dashboard/oversight/audit|methodology
                                                      monitors and operators: how the survey is run
    GET  /dashboard/departments[/{code}]              lead departments: their dimensions across the wards
                                                      (?campaign=CODE)
    GET  /dashboard/annual[.xlsx|.html]               the annual ranking (?year=, ?dimension=; files: ?lang=)
    GET  /dashboard/static/dashboard.css

Who sees what: operators everything; officials the launched campaigns that cover one of their wards, with
every figure limited to their wards (and dimensions, when their login names some; 403 for anything else);
monitors only the oversight pages, never a figure, an answer or a comment (every page they open is audited).
Unknown campaigns and wards not in a campaign are 404. Every POST needs the form's CSRF token (403 without).
Every operator action (and every login) writes an audit row, actor "web:<name>". Sessions, CSRF and
throttling: see `web.auth`.

Parts (each a class with its routes): `kit` (plumbing: viewer, checks, pages, errors, audit), `login`,
`pages` (what people read), `actions` (launch, close), `exports`, `codes`, `digests`, `oversight` (monitors),
`departments` (lead departments' dimensions and the annual ranking).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from web import errors
from web.context import WebContext
from web.dashboard.actions import Actions
from web.dashboard.codes import Codes
from web.dashboard.departments import Departments
from web.dashboard.digests import Digests
from web.dashboard.exports import Exports
from web.dashboard.kit import HOME, Kit, Viewer, safe_next, see_other
from web.dashboard.login import Login
from web.dashboard.oversight import Oversight
from web.dashboard.pages import Pages

__all__ = ["Kit", "Viewer", "safe_next", "see_other", "setup"]

STATIC = Path(__file__).resolve().parents[1] / "static" / "dashboard.css"


async def css(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC, headers={"Content-Type": "text/css", "Cache-Control": "public, max-age=3600"})


async def home(request: web.Request) -> web.StreamResponse:
    return see_other(HOME)


def setup(app: web.Application, ctx: WebContext) -> None:
    """Mount the dashboard's routes (and its 404/405 pages) on the application."""
    kit = Kit(ctx)
    r = app.router
    r.add_get("/dashboard", home)
    r.add_get("/dashboard/", home)
    r.add_get("/dashboard/static/dashboard.css", css)
    Login(kit).routes(r)
    Pages(kit).routes(r)
    Actions(kit).routes(r)
    Exports(kit).routes(r)
    Oversight(kit).routes(r)
    Departments(kit).routes(r)
    codes = Codes(kit)
    codes.routes(r)
    digests = Digests(kit)
    digests.routes(r)
    errors.add_page(app, "/dashboard/", kit.error_page)
    codes.post_routes(r)
    digests.post_routes(r)
