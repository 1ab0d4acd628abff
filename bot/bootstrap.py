"""The first start of `khaosat run` on a new database: something to look at without any set-up.

On a database with no published survey, no campaign and no dashboard login (and only then), in one
transaction:

* publish the bundled questionnaire (flows/data/hanoi.yaml);
* create and launch the campaign "demo" over every ward and commune of PROVINCE, open for the next 30 days,
  with two weeks of simulated responses behind it (`flows.simulate`: a few hundred, made by the questionnaire's
  own rules from a fixed seed), so that the dashboard, `khaosat stats` and the exports show figures at once.
  The campaign is marked simulated: every page, export and statistic of it says so, it is never compared with
  real campaigns nor stands in the way of their launch, and `khaosat campaign close demo` deletes the
  simulated responses (`khaosat demo --reset` removes the demo entirely);
* add the dashboard operator "admin" with a random password, stored as an argon2 hash only;

then log (at WARNING, so that it shows) the web survey link, the dashboard address and the password, once:
later starts find the database no longer new and do nothing. The check and the set-up hold a lock (SQLite's
single writer, a PostgreSQL advisory lock), so two processes starting together on one new database set it
up once. To start without the demo, add a dashboard user first (`khaosat users add`) or publish a survey.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from bot.context import AppContext

log = logging.getLogger(__name__)

DEMO_CODE = "demo"
DEMO_DAYS = 30
"""How long the demo stays open from the first start."""
DEMO_HISTORY_DAYS = 14
"""How far back its simulated responses go (the campaign starts then)."""
DEMO_RESPONSES = 420
ADMIN = "admin"


@dataclass(frozen=True)
class FirstRun:
    campaign_code: str
    wards: int
    survey_key: str
    survey_version: int
    simulated: int
    """Simulated responses stored in the demo."""
    admin: str
    password: str
    """The admin's one-time password: known here, never stored in clear and never shown again."""


async def first_run(ctx: AppContext) -> FirstRun | None:
    """Set up a new database (see the module docstring); None when the database is not new."""
    from flows.loader import bundled_survey_path, load_survey
    from flows.questions import Context, WardOption
    from flows.simulate import demo_responses
    from storage.admin_units import province_name
    from storage.repo import audit, campaigns, demo, firstrun, surveys, users
    from storage.repo import wards as ward_repo
    from web.auth import hash_password, new_password

    province = ctx.settings.province
    async with ctx.db.read() as conn:
        if not await firstrun.is_new(conn):
            return None
        units = await ward_repo.search(conn, province_code=province)
    survey = load_survey(bundled_survey_path())
    password = new_password()
    now = ctx.clock()
    starts = now - timedelta(days=DEMO_HISTORY_DAYS)
    context = Context("vi", tuple(WardOption(u.code, u.name) for u in units))
    password_hash, made = await asyncio.gather(  # side by side: argon2 lets go of the GIL while it hashes
        asyncio.to_thread(hash_password, password),
        asyncio.to_thread(
            demo_responses,
            survey,
            context,
            [u.code for u in units],
            starts,
            now,
            ctx.settings.tz,
            total=DEMO_RESPONSES,
            seed=province,
        ),
    )
    async with ctx.db.write() as conn:
        await firstrun.lock(conn)
        if not await firstrun.is_new(conn):  # another process set it up meanwhile
            return None
        record, _ = await surveys.publish(conn, survey, now)
        title = f"Khảo sát thử – {province_name(province)} (demo)"
        created = await campaigns.create(
            conn,
            code=DEMO_CODE,
            survey_id=record.id,
            title=title,
            wards=[u.code for u in units],
            starts_at=starts,
            ends_at=now + timedelta(days=DEMO_DAYS),
            now=now,
            timezone=ctx.settings.tz,
            simulated=True,
        )
        launched = await campaigns.launch(conn, DEMO_CODE, now)
        simulated = await demo.add(conn, created.id, DEMO_CODE, made)
        await users.add(conn, ADMIN, password_hash, "operator", None, now)
        arguments = {
            "survey": f"{record.key} v{record.version}",
            "campaign": DEMO_CODE,
            "simulated_responses": simulated,
            "user": ADMIN,
        }
        await audit.record(conn, "system:first-run", "bootstrap", arguments, now=now)
    return FirstRun(DEMO_CODE, len(launched.ward_codes), record.key, record.version, simulated, ADMIN, password)


def announce(ctx: AppContext, done: FirstRun, port: int | None) -> None:
    """Log the links and the one-time password (WARNING: shown with the default LOG_LEVEL)."""
    from reports.links import deep_link, own_address, web_link

    cfg = ctx.settings
    base = cfg.public_url or own_address(cfg.web_host, port or cfg.web_port)
    lines = [
        f"first run: published survey {done.survey_key} v{done.survey_version} and launched the demo campaign "
        f"{done.campaign_code!r} in {done.wards} wards and communes (open {DEMO_DAYS} days), with {done.simulated} "
        f"SIMULATED responses so that the dashboard has figures to show; 'khaosat campaign close "
        f"{done.campaign_code}' deletes them",
        f"web survey: {web_link(base, done.campaign_code)}",
    ]
    if ctx.bot_username:
        lines.append(f"Telegram: {deep_link(ctx.bot_username, done.campaign_code)}")
    lines += [
        f"dashboard: {base}/dashboard/  user: {done.admin}  password: {done.password}",
        "this password is shown only once: note it now (change it with 'khaosat users passwd admin')",
    ]
    for line in lines:
        log.warning("%s", line)
