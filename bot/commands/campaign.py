"""`khaosat campaign ...`: create, list, show, launch, close campaigns and print their links and posters.

Exit codes: 2 when what was typed is wrong (a malformed value, or a campaign, survey or ward that does not
exist); 1 when the request is understood but cannot be done now (already active, overlapping another
campaign, closed, a file that cannot be written, the database unreachable).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from bot.commands import reminding
from bot.commands.ops import DATE_ONLY, audited, local, parse_when, percent, print_table, utc_now

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from bot.commands.ops import Audit
    from bot.settings import Settings
    from storage.db import Database
    from storage.records import CampaignRecord

DEFAULT_DAYS = 30
DEFAULT_WEB_LIMIT = 30
_CODE = re.compile(r"^[a-z0-9-]{3,32}$")


@click.group()
def campaign() -> None:
    """Campaigns: a published survey asked in chosen wards between two dates."""


async def get_campaign(conn: AsyncConnection, code: str) -> CampaignRecord:
    """The campaign, or a usage error naming the unknown code (exit 2)."""
    from storage.repo import campaigns

    if not code.isprintable() or not code.isascii():  # no code has such characters (and a database refuses some)
        raise click.BadParameter(f"no campaign with code {code!r}; see 'khaosat campaign list'", param_hint="'CODE'")
    try:
        return await campaigns.get(conn, code)
    except campaigns.CampaignNotFound as e:
        raise click.BadParameter(str(e), param_hint="'CODE'") from None


def _dates(c: CampaignRecord) -> str:
    return f"{local(c.starts_at, c.timezone)} to {local(c.ends_at, c.timezone)} ({c.timezone})"


def _status(c: CampaignRecord, now: datetime) -> str:
    if c.status == "active" and now < c.starts_at:
        return "active (opens later)"
    if c.status == "active" and now >= c.ends_at:
        return "active (ended)"
    return c.status


def parse_survey_ref(text: str, param_hint: str = "'--survey'") -> tuple[str, int | None]:
    """ID[@VERSION] -> (id, version or None), or a usage error naming `param_hint`."""
    key, sep, version = text.strip().partition("@")
    if not key:
        raise click.BadParameter(
            "give the survey's id, e.g. hanoi-ward-satisfaction or hanoi-ward-satisfaction@1", param_hint=param_hint
        )
    if not sep:
        return key, None
    if not version.isdigit() or int(version) < 1:
        raise click.BadParameter(f"{version!r} is not a version number (e.g. {key}@1)", param_hint=param_hint)
    return key, int(version)


def _parse_wards(text: str) -> list[int] | None:
    """None for "all", else the codes (at least one)."""
    value = text.strip()
    if value.lower() == "all":
        return None
    codes: list[int] = []
    for part in value.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise click.BadParameter(
                f"{part!r} is not a ward code: give numbers from 'khaosat wards list', comma-separated, or 'all'",
                param_hint="'--wards'",
            )
        codes.append(int(part))
    if not codes:
        raise click.BadParameter(
            "give 'all' or ward codes, comma-separated (see 'khaosat wards list')", param_hint="'--wards'"
        )
    return sorted(set(codes))


def _web_policy_options(default: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--web-limit, --web-code/--no-web-code and --include-flagged/--exclude-flagged (defaults when creating;
    unchanged when editing)."""

    def wrap(f: Callable[..., Any]) -> Callable[..., Any]:
        f = click.option(
            "--include-flagged/--exclude-flagged",
            default=False if default else None,
            help="Count responses with data-quality flags in the figures (default: leave them out).",
        )(f)
        f = click.option(
            "--web-code/--no-web-code",
            default=False if default else None,
            help="The web survey asks new respondents for a one-time invitation code ('khaosat campaign codes').",
        )(f)
        return click.option(
            "--web-limit",
            type=click.IntRange(0, 1_000_000),
            default=DEFAULT_WEB_LIMIT if default else None,
            metavar="N",
            help=f"New web respondents allowed per client address and hour (0: no limit; default {DEFAULT_WEB_LIMIT}).",
        )(f)

    return wrap


def _describe_web(c: CampaignRecord) -> str:
    limit = f"{c.web_limit} new respondents per address and hour" if c.web_limit else "no limit per address"
    return limit + ("; an invitation code is required" if c.web_requires_code else "")


def _describe_flagged(c: CampaignRecord) -> str:
    return "included in the figures" if c.include_flagged else "left out of the figures"


@campaign.command()
@click.option("--code", required=True, help="Short name used in links: 3-32 lower-case letters, digits and '-'.")
@click.option(
    "--survey",
    "survey_ref",
    required=True,
    metavar="ID[@VERSION]",
    help="A published survey (latest version unless @VERSION).",
)
@click.option(
    "--wards",
    "wards_text",
    required=True,
    metavar="all|CODE,CODE...",
    help="'all' wards of the province, or ward codes.",
)
@click.option("--starts", metavar="ISO", help="When it opens (default: now).")
@click.option("--ends", metavar="ISO", help=f"When it closes (default: {DEFAULT_DAYS} days after it opens).")
@click.option("--target", type=click.IntRange(min=1), metavar="N", help="Completed responses wanted per ward.")
@click.option("--title", default=None, help="Title shown to citizens and on posters (default: the survey's title).")
@click.option(
    "--invite/--no-invite",
    default=False,
    help="When it opens, invite the people who asked to hear about new surveys (default: no).",
)
@reminding.options
@_web_policy_options(default=True)
def create(
    code: str,
    survey_ref: str,
    wards_text: str,
    starts: str | None,
    ends: str | None,
    target: int | None,
    title: str | None,
    invite: bool,
    remind: str | None,
    no_remind: bool,
    quiet_hours: str | None,
    web_limit: int,
    web_code: bool,
    include_flagged: bool,
) -> None:
    """Create a campaign as a draft (launch it with 'khaosat campaign launch CODE').

    Dates are ISO: 2026-12-01 or 2026-12-01T08:00; without an offset they are times in the TZ setting
    (default Asia/Ho_Chi_Minh). A date alone means the start of that day for --starts and the end of that
    day (23:59) for --ends.

    Reminders (Telegram, to people who stopped part-way): by default 24 and 72 hours after their last
    answer, never during the quiet hours 21:00-07:00. Change them with --remind, --no-remind and
    --quiet-hours, here or later with 'khaosat campaign edit'.

    \b
    Examples:
      khaosat campaign create --code hn-2026 --survey hanoi-ward-satisfaction --wards all \\
          --starts 2026-12-01 --ends 2026-12-31 --target 100
      khaosat campaign create --code hk-thu-nghiem --survey hanoi-ward-satisfaction@2 --wards 70,235 \\
          --remind 12h,48h --quiet-hours 20:00-08:00
    """
    from bot.commands.common import settings

    cfg = settings()
    if not _CODE.match(code):
        raise click.BadParameter(
            f"{code!r}: use 3-32 lower-case letters, digits and '-' (e.g. hn-2026)", param_hint="'--code'"
        )
    survey_key, survey_version = parse_survey_ref(survey_ref)
    ward_codes = _parse_wards(wards_text)
    now = utc_now()
    try:
        starts_at = parse_when(starts, cfg.tz) if starts else now.replace(microsecond=0).astimezone(ZoneInfo(cfg.tz))
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="'--starts'") from None
    try:
        ends_at = parse_when(ends, cfg.tz, end_of_day=True) if ends else starts_at + timedelta(days=DEFAULT_DAYS)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="'--ends'") from None
    if ends_at <= starts_at:
        said = f"the end of {ends.strip()}" if ends and DATE_ONLY.match(ends.strip()) else local(ends_at, cfg.tz)
        raise click.BadParameter(
            f"the campaign must end after it starts (starts {local(starts_at, cfg.tz)}, ends {said})",
            param_hint="'--ends'",
        )
    if ends_at <= now:
        raise click.BadParameter(f"{local(ends_at, cfg.tz)} is in the past", param_hint="'--ends'")
    from storage.records import ReminderPolicy

    policy = reminding.policy(ReminderPolicy(), remind, no_remind, quiet_hours, invite) or ReminderPolicy()

    arguments = {
        "code": code,
        "survey": survey_ref,
        "wards": wards_text,
        "starts": starts_at,
        "ends": ends_at,
        "target": target,
        "title": title,
        "invite": invite,
        "reminders": policy.to_json(),
        "web_limit": web_limit,
        "web_code": web_code,
        "include_flagged": include_flagged,
    }

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        from storage.repo import campaigns, surveys, wards

        async with db.write() as conn:
            try:
                found = await surveys.find(conn, survey_key, survey_version)
            except surveys.SurveyNotFound as e:
                raise click.BadParameter(str(e), param_hint="'--survey'") from None
            if ward_codes is None:
                units = await wards.search(conn, None, cfg.province)
            else:
                units = await wards.get_many(conn, ward_codes)
                unknown = sorted(set(ward_codes) - {u.code for u in units})
                if unknown:
                    shown = ", ".join(str(w) for w in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
                    raise click.BadParameter(
                        f"unknown ward code(s): {shown}; see 'khaosat wards list'", param_hint="'--wards'"
                    )
            try:
                c = await campaigns.create(
                    conn,
                    code=code,
                    survey_id=found.id,
                    title=(title or found.title).strip(),
                    wards=[u.code for u in units],
                    starts_at=starts_at,
                    ends_at=ends_at,
                    now=log.now,
                    timezone=cfg.tz,
                    target_per_ward=target,
                    reminder_policy=policy,
                    web_limit=web_limit,
                    web_requires_code=web_code,
                    include_flagged=include_flagged,
                )
            except campaigns.CampaignError as e:
                raise click.ClickException(str(e)) from None
            log.arguments["ward_count"] = len(c.ward_codes)
            await log.record(conn)
        names = [f"{u.name} ({u.code})" for u in sorted(units, key=lambda u: u.code)]
        click.echo(f"created campaign {c.code} (draft): {c.title}")
        click.echo(f"  survey:  {c.survey_key} v{c.survey_version}")
        click.echo(
            f"  wards:   {len(names)}: "
            + ", ".join(names[:5])
            + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        )
        click.echo(f"  dates:   {_dates(c)}")
        click.echo(f"  target:  {f'{target} completed responses per ward' if target else 'none'}")
        click.echo(f"  reminders: {reminding.describe(c.reminder_policy, c.timezone)}")
        click.echo(f"  web:     {_describe_web(c)}")
        click.echo(f"  flagged: responses with quality flags {_describe_flagged(c)}")
        click.echo(f"next: check it with 'khaosat campaign show {c.code}', then 'khaosat campaign launch {c.code}'")

    audited("campaign.create", arguments, body)


@campaign.command()
@click.argument("code")
@click.option("--title", default=None, help="A new title (shown to citizens and on posters).")
@click.option("--starts", metavar="ISO", help="A new start (draft campaigns only).")
@click.option("--ends", metavar="ISO", help="A new end: a date alone means the end of that day (23:59).")
@click.option("--target", type=click.IntRange(min=1), metavar="N", help="Completed responses wanted per ward.")
@click.option("--invite/--no-invite", default=None, help="Invite people who asked to hear about new surveys.")
@reminding.options
@_web_policy_options(default=False)
def edit(
    code: str,
    title: str | None,
    starts: str | None,
    ends: str | None,
    target: int | None,
    invite: bool | None,
    remind: str | None,
    no_remind: bool,
    quiet_hours: str | None,
    web_limit: int | None,
    web_code: bool | None,
    include_flagged: bool | None,
) -> None:
    """Change a campaign that is not closed: its title, dates, target, reminders or invitations.

    An active campaign keeps its start; a later end must not run into another active campaign in the same
    wards. Reminder delays count from the person's last answer: m (minutes), h (hours), d (days).

    \b
    Examples:
      khaosat campaign edit hn-2026 --remind 24h,72h --quiet-hours 21:00-07:00
      khaosat campaign edit hn-2026 --no-remind
      khaosat campaign edit hn-2026 --ends 2027-01-15 --target 150
      khaosat campaign edit hn-2026 --web-limit 60 --web-code --include-flagged
    """
    from bot.commands.common import settings

    cfg = settings()
    try:
        starts_at = parse_when(starts, cfg.tz) if starts else None
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="'--starts'") from None
    try:
        ends_at = parse_when(ends, cfg.tz, end_of_day=True) if ends else None
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="'--ends'") from None
    if ends_at is not None and ends_at <= utc_now():
        raise click.BadParameter(f"{local(ends_at, cfg.tz)} is in the past", param_hint="'--ends'")
    from storage.records import ReminderPolicy

    reminding.policy(ReminderPolicy(), remind, no_remind, quiet_hours, invite)  # bad values: said before any work
    given = [title, starts, ends, target, invite, remind, quiet_hours, web_limit, web_code, include_flagged]
    if all(v is None for v in given) and not no_remind:
        raise click.UsageError(
            "nothing to change: give at least one of --title, --starts, --ends, --target, --invite/--no-invite, "
            "--remind, --no-remind, --quiet-hours, --web-limit, --web-code/--no-web-code, "
            "--include-flagged/--exclude-flagged"
        )
    arguments: dict[str, Any] = {"code": code}
    for name, value in (
        ("title", title),
        ("starts", starts_at),
        ("ends", ends_at),
        ("target", target),
        ("web_limit", web_limit),
        ("web_code", web_code),
        ("include_flagged", include_flagged),
    ):
        if value is not None:
            arguments[name] = value

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        from storage.repo import campaigns

        async with db.write() as conn:
            before = await get_campaign(conn, code)
            policy = reminding.policy(before.reminder_policy, remind, no_remind, quiet_hours, invite)
            if policy is not None:
                log.arguments["reminders"] = policy.to_json()
            try:
                c = await campaigns.update(
                    conn,
                    code,
                    log.now,
                    title=title,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    target_per_ward=target,
                    reminder_policy=policy,
                    web_limit=web_limit,
                    web_requires_code=web_code,
                    include_flagged=include_flagged,
                )
            except campaigns.CampaignError as e:
                raise click.ClickException(str(e)) from None
            await log.record(conn)
        click.echo(f"updated campaign {c.code} ({c.status}): {c.title}")
        click.echo(f"  dates:       {_dates(c)}")
        click.echo(
            f"  target:      {f'{c.target_per_ward} completed responses per ward' if c.target_per_ward else 'none'}"
        )
        click.echo(f"  reminders:   {reminding.describe(c.reminder_policy, c.timezone)}")
        click.echo(f"  invitations: {'yes, when it opens' if c.reminder_policy.invite else 'no'}")
        click.echo(f"  web:         {_describe_web(c)}")
        click.echo(f"  flagged:     {_describe_flagged(c)}")

    audited("campaign.edit", arguments, body)


@campaign.command(name="list")
def list_() -> None:
    """List the campaigns, newest first: status, dates, wards and responses.

    \b
    Examples:
      khaosat campaign list
    """

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        from storage.repo import campaigns, stats

        async with db.read() as conn:
            found = await campaigns.list_all(conn)
            totals = {c.id: await stats.response_totals(conn, c.id) for c in found}
        if not found:
            click.echo("no campaign yet; create one with 'khaosat campaign create --help'")
            return
        now = utc_now()
        print_table(
            ["Code", "Status", "Survey", "Starts", "Ends", "Wards", "Completed", "Started", "Title"],
            [
                (
                    c.code,
                    _status(c, now) + (", simulated" if c.simulated else ""),
                    f"{c.survey_key}@{c.survey_version}",
                    local(c.starts_at, c.timezone),
                    local(c.ends_at, c.timezone),
                    len(c.ward_codes),
                    totals[c.id].completed,
                    totals[c.id].started,
                    c.title,
                )
                for c in found
            ],
            right=(5, 6, 7),
        )

    audited("campaign.list", {}, body)


@campaign.command()
@click.argument("code")
def show(code: str) -> None:
    """Show a campaign: status, dates, and responses per ward against the target, with completion rates.

    Completion rate: completed responses among those started. "Of target": completed responses as a share
    of the target per ward.

    \b
    Examples:
      khaosat campaign show hn-2026
    """

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        from storage.repo import quality, stats, webpolicy

        async with db.read() as conn:
            c = await get_campaign(conn, code)
            progress = await stats.ward_progress(conn, c.id)
            totals = await stats.response_totals(conn, c.id)
            flags = await quality.flag_counts(conn, c.id)
            issued, used = await webpolicy.code_counts(conn, c.id)
        now = utc_now()
        click.echo(f"Campaign {c.code}: {c.title}")
        if c.simulated:
            click.echo("  data:        SIMULATED (the first-start demo: made-up responses, no one's opinion)")
        click.echo(f"  status:      {_status(c, now)}")
        click.echo(f"  survey:      {c.survey_key} v{c.survey_version}")
        click.echo(f"  dates:       {_dates(c)}")
        if c.launched_at:
            click.echo(f"  launched:    {local(c.launched_at, c.timezone)}")
        if c.closed_at:
            click.echo(f"  closed:      {local(c.closed_at, c.timezone)}")
        click.echo(
            f"  target:      {f'{c.target_per_ward} completed responses per ward' if c.target_per_ward else 'none'}"
        )
        click.echo(f"  reminders:   {reminding.describe(c.reminder_policy, c.timezone)}")
        click.echo(f"  invitations: {'yes, when it opens' if c.reminder_policy.invite else 'no'}")
        click.echo(f"  web:         {_describe_web(c)}" + (f" ({used} of {issued} codes used)" if issued else ""))
        per_flag = ", ".join(f"{name} {flags[name]}" for name in flags if name != "any")
        click.echo(f"  flagged:     {flags['any']} completed responses ({per_flag}); {_describe_flagged(c)}")
        click.echo(
            f"  responses:   {totals.started} started, {totals.completed} completed, {totals.in_progress} in progress, "
            f"{totals.abandoned} abandoned; completion rate {percent(totals.completion_rate)}"
        )
        if totals.without_ward:
            click.echo(f"               ({totals.without_ward} in progress have not chosen their ward yet)")
        reached = sum(1 for p in progress if c.target_per_ward and p.completed >= c.target_per_ward)
        if c.target_per_ward:
            click.echo(f"  target met:  {reached} of {len(progress)} wards")
        print_table(
            [
                "Code",
                "Ward",
                "Started",
                "Completed",
                "Target",
                "Of target",
                "Completion rate",
                "In progress",
                "Abandoned",
            ],
            [
                (
                    p.code,
                    p.name,
                    p.started,
                    p.completed,
                    p.target or "-",
                    percent(p.of_target),
                    percent(p.completion_rate),
                    p.in_progress,
                    p.abandoned,
                )
                for p in progress
            ],
            right=(0, 2, 3, 4, 5, 6, 7, 8),
        )

    audited("campaign.show", {"code": code}, body)


@campaign.command()
@click.argument("code")
@click.option(
    "--allow-overlap",
    is_flag=True,
    help="Launch even if another active campaign covers some of its wards at the same time.",
)
def launch(code: str, allow_overlap: bool) -> None:
    """Launch a draft campaign: from its start date citizens can answer through its links.

    Refused when another active campaign covers one of its wards during overlapping dates (a citizen there
    would be asked twice), unless --allow-overlap. The first-start demo never stands in the way: it is
    simulated, and 'khaosat campaign close demo' removes it when you no longer need it.

    \b
    Examples:
      khaosat campaign launch hn-2026
      khaosat campaign launch hn-2026-bo-sung --allow-overlap
    """

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        from storage.repo import campaigns

        async with db.write() as conn:
            await get_campaign(conn, code)
            try:
                c = await campaigns.launch(conn, code, log.now, allow_overlap=allow_overlap)
            except campaigns.CampaignOverlap as e:
                remedy = "launch it anyway with --allow-overlap, or create the campaign again with other wards or dates"
                raise click.ClickException(
                    campaigns.overlap_message(code, e.overlaps, remedy=remedy, command=True)
                ) from None
            except campaigns.CampaignError as e:
                raise click.ClickException(str(e)) from None
            demos = [] if c.simulated else await campaigns.overlapping(conn, replace(c, simulated=True))
            await log.record(conn)
        tz = c.timezone
        if log.now < c.starts_at:
            when = f"it opens {local(c.starts_at, tz)} and takes answers until {local(c.ends_at, tz)} ({tz})"
        else:
            when = f"taking answers until {local(c.ends_at, tz)} ({tz})"
        click.echo(f"launched {c.code} in {len(c.ward_codes)} wards: {when}")
        for demo in demos:
            click.echo(
                f"note: the demo campaign {demo.code!r} (simulated responses) is still open in {len(demo.wards)} of "
                f"these wards; citizens who send /start may be offered both. Close it when you no longer need it: "
                f"khaosat campaign close {demo.code}"
            )
        web = "" if cfg.telegram_bot_username or cfg.telegram_bot_token else " --channel web"  # no Telegram bot yet
        click.echo(f"links and posters: khaosat campaign links {c.code}{web} --qr posters-{c.code}")

    audited("campaign.launch", {"code": code, **({"allow_overlap": True} if allow_overlap else {})}, body)


@campaign.command()
@click.argument("code")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def close(code: str, yes: bool) -> None:
    """Close a campaign: it stops taking answers, responses still in progress become abandoned, and the chat
    addresses of its respondents are deleted (they were kept only to send reminders). Cannot be undone.

    Closing the first-start demo also deletes its simulated responses ('khaosat demo --reset' removes the
    demo campaign entirely).

    \b
    Examples:
      khaosat campaign close demo
      khaosat campaign close hn-2026
      khaosat campaign close hn-2026 --yes
    """

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        from storage.repo import campaigns, demo, stats

        async with db.read() as conn:
            c = await get_campaign(conn, code)
            totals = await stats.response_totals(conn, c.id)
        if c.status == "closed":
            raise click.ClickException(f"campaign {code!r} is already closed")
        if not yes and c.simulated:
            click.confirm(
                f"Close the demo campaign {c.code} ({c.title})? Its simulated responses will be deleted. This cannot "
                "be undone.",
                abort=True,
            )
        elif not yes:
            click.confirm(
                f"Close campaign {c.code} ({c.title})? {totals.in_progress} response(s) in progress will become "
                "abandoned and its respondents' chat addresses will be deleted. This cannot be undone.",
                abort=True,
            )
        async with db.write() as conn:
            simulated = await demo.count(conn, c.id) if c.simulated else 0
            try:
                closed, abandoned, addresses = await campaigns.close(conn, code, log.now)
            except campaigns.CampaignError as e:
                raise click.ClickException(str(e)) from None
            log.arguments.update(abandoned=abandoned, addresses_deleted=addresses)
            if simulated:
                log.arguments["simulated_deleted"] = simulated
            await log.record(conn)
        click.echo(
            f"closed {closed.code}: {abandoned} in-progress response(s) marked abandoned, "
            f"{addresses} chat address(es) deleted"
            + (f", {simulated} simulated response(s) deleted" if simulated else "")
        )

    audited("campaign.close", {"code": code}, body)


async def bot_username(cfg: Settings, code: str = "CODE") -> str:
    """TELEGRAM_BOT_USERNAME, or the username Telegram gives for TELEGRAM_BOT_TOKEN (getMe)."""
    if cfg.telegram_bot_username:
        return str(cfg.telegram_bot_username)
    token = cfg.telegram_bot_token.get_secret_value() if cfg.telegram_bot_token else ""
    if not token:
        raise click.ClickException(
            "Telegram links need the bot's username, and none is set: put TELEGRAM_BOT_USERNAME=<the username "
            "BotFather gave your bot, e.g. khaosat_hanoi_bot> in .env, or the bot's TELEGRAM_BOT_TOKEN (the "
            "username is then asked from Telegram, as the running bot does). Without a Telegram bot, print web "
            f"links instead: khaosat campaign links {code} --channel web"
        )
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError
    from aiogram.utils.token import TokenValidationError

    session = AiohttpSession(api=TelegramAPIServer.from_base(cfg.telegram_api_base))
    try:
        me = await Bot(token=token, session=session).get_me()
    except (TokenValidationError, TelegramUnauthorizedError):
        raise click.ClickException(
            "Telegram refused TELEGRAM_BOT_TOKEN: check the token, or set TELEGRAM_BOT_USERNAME"
        ) from None
    except (TelegramAPIError, OSError) as e:
        raise click.ClickException(
            f"cannot ask Telegram for the bot's username ({e}); set TELEGRAM_BOT_USERNAME in .env instead"
        ) from None
    finally:
        await session.close()
    if not me.username:
        raise click.ClickException("Telegram gave no username for this bot; set TELEGRAM_BOT_USERNAME in .env")
    return me.username


async def _answers(host: str, port: int) -> bool:
    """Whether something accepts connections at this server's address (a running 'khaosat run')."""
    import asyncio

    address = host if host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(address, port), 0.5)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


@campaign.command()
@click.argument("code")
@click.option(
    "--qr",
    "qr_dir",
    type=click.Path(file_okay=False, path_type=str),
    metavar="DIR",
    help="Also draw a printable QR poster (PNG) per ward into DIR, with index.html to print them all.",
)
@click.option(
    "--channel",
    type=click.Choice(["telegram", "web", "zalo"]),
    default="telegram",
    show_default=True,
    help="Where the links open the survey: the Telegram bot, the web survey at PUBLIC_URL, or the Zalo bot "
    "(ZALO_BOT_LINK, with the code to send it).",
)
def links(code: str, qr_dir: str | None, channel: str) -> None:
    """Print one line per ward: ward code, ward name and the link that opens the survey for that ward
    (tab-separated; on Zalo: ward code, ward name, the code to send the bot, the bot's address). With --qr,
    also draw a poster per ward for the ward office's notice board.

    Telegram links (the default) need the bot's username: TELEGRAM_BOT_USERNAME, or it is asked from Telegram
    with TELEGRAM_BOT_TOKEN. Web links (--channel web, for people without Telegram) use PUBLIC_URL, the
    address citizens reach this server at (e.g. https://khaosat.example.gov.vn/s/hn-2026/70); without it,
    this server's own address (WEB_HOST:WEB_PORT), with a warning, which is enough to try them out.

    Zalo (--channel zalo) has no links that carry a ward: each line gives the code the citizen sends the bot
    first (e.g. hn-2026_70, campaign and ward) and then the bot's address (ZALO_BOT_LINK); its posters show the
    QR code that opens the bot and the code to send in large letters.

    \b
    Examples:
      khaosat campaign links hn-2026
      khaosat campaign links hn-2026 > links.tsv
      khaosat campaign links hn-2026 --qr posters-hn-2026
      khaosat campaign links hn-2026 --channel web --qr posters-web-hn-2026
      khaosat campaign links hn-2026 --channel zalo --qr posters-zalo-hn-2026
    """

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        from reports.links import deep_link, own_address, web_link, zalo_entry
        from reports.posters import PosterItem
        from storage.repo import wards

        async with db.read() as conn:
            c = await get_campaign(conn, code)
            units = await wards.get_many(conn, list(c.ward_codes))
        items: list[tuple[int, str, str]] = []
        zalo_items: list[PosterItem] = []
        if c.status == "closed":
            raise click.ClickException(f"campaign {code!r} is closed: its links no longer open the survey")
        if channel == "web":
            base = cfg.public_url
            if not base:
                base = own_address(cfg.web_host, cfg.web_port)
                running = await _answers(cfg.web_host, cfg.web_port)
                click.echo(
                    f"warning: PUBLIC_URL is not set, so the links use this server's own address {base}, which "
                    "opens only on this computer"
                    + ("" if running else " (and no server answers there now: start it with 'khaosat run')")
                    + ". Before printing posters for citizens, set PUBLIC_URL in .env to the address they reach "
                    "it at (e.g. https://khaosat.example.gov.vn).",
                    err=True,
                )
            items = [(u.code, u.name, web_link(base, c.code, u.code)) for u in units]
        elif channel == "zalo":
            if not cfg.zalo_bot_link:
                raise click.ClickException(
                    "Zalo links need the address that opens the bot, and none is set: put ZALO_BOT_LINK=<the link "
                    "Zalo Bot Manager shows when you share your bot, e.g. https://zalo.me/...> in .env. Without a "
                    f"Zalo bot, print web links instead: khaosat campaign links {code} --channel web"
                )
            entries = [(u, *zalo_entry(cfg.zalo_bot_link, c.code, u.code)) for u in units]
            zalo_items = [PosterItem(u.code, u.name, link, typed) for u, typed, link in entries]
        else:
            username = await bot_username(cfg, code)
            items = [(u.code, u.name, deep_link(username, c.code, u.code)) for u in units]
        if qr_dir is not None:
            from pathlib import Path

            from reports.posters import progress_bar, write_posters

            posters = zalo_items if channel == "zalo" else [PosterItem(*i) for i in items]
            try:
                with progress_bar(len(posters), sys.stderr.isatty()) as bar:
                    task = bar.add_task("posters", total=len(posters))
                    written = write_posters(
                        Path(qr_dir),
                        c.code,
                        c.title,
                        posters,
                        drawn=lambda n: bar.update(task, completed=n),
                    )
            except OSError as e:
                raise click.ClickException(f"cannot write the posters to {qr_dir}: {e.strerror or e}") from None
            log.arguments["posters"] = len(written) - 1
        if channel == "zalo":
            for item in zalo_items:
                click.echo(f"{item.ward_code}\t{item.ward_name}\t{item.code_to_type}\t{item.link}")
        for ward_code, name, link in items:
            click.echo(f"{ward_code}\t{name}\t{link}")
        if qr_dir is not None:
            click.echo(f"{len(posters)} posters and index.html written to {qr_dir}", err=True)

    audited("campaign.links", {"code": code, "qr": qr_dir, "channel": channel}, body)


@campaign.command()
@click.argument("code")
@click.option("--count", type=click.IntRange(1, 100_000), required=True, metavar="N", help="How many codes to make.")
@click.option(
    "--out", "out", type=click.Path(dir_okay=False, writable=True), required=True, help="The CSV file to write."
)
def codes(code: str, count: int, out: str) -> None:
    """Make one-time invitation codes for a campaign's web survey, into a CSV file (code, link).

    Each code lets one new respondent in, once; a used code is refused with a clear message (the person who
    used it goes on with their browser's cookie). The web survey asks for a code only when the campaign
    requires one: 'khaosat campaign edit CODE --web-code'.

    \b
    Examples:
      khaosat campaign codes hn-2026 --count 500 --out codes-hn-2026.csv
    """
    import csv
    from pathlib import Path

    async def body(db: Database, cfg: Settings, log: Audit) -> None:
        import os

        from storage.repo import webpolicy

        # the file first, new and readable by its owner only (the codes are ballots): a path that cannot be
        # written, or a file of earlier codes, stops here, before any code is issued
        try:
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise click.ClickException(f"{out} exists (its codes would be lost): choose another file name") from None
        except OSError as e:
            raise click.ClickException(f"cannot write {out}: {e.strerror or e}") from None
        try:
            async with db.write() as conn:
                c = await get_campaign(conn, code)
                if c.status == "closed":
                    raise click.ClickException(f"campaign {code!r} is closed")
                made = await webpolicy.issue_codes(conn, c.id, count, log.now)
                issued, used = await webpolicy.code_counts(conn, c.id)
                await log.record(conn)
        except BaseException:
            os.close(fd)
            Path(out).unlink(missing_ok=True)
            raise
        base = (cfg.public_url or f"http://{cfg.web_host}:{cfg.web_port}") + f"/s/{c.code}"
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["code", "link"])
            writer.writerows([made_code, base] for made_code in made)
        click.echo(f"wrote {len(made)} invitation codes for {c.code} to {out} ({issued} issued, {used} used)")
        if not c.web_requires_code:
            click.echo(f"note: the web survey does not ask for them yet: 'khaosat campaign edit {c.code} --web-code'")

    audited("campaign.codes", {"code": code, "count": count, "out": out}, body)
