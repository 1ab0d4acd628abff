"""Oversight of how the survey is run, for the Fatherland Front's monitors (and operators): every campaign's
set-up, its questionnaire's versions, responses per ward and day, completions and abandonments, the audit
log and the methods. Never a result, an answer, a comment or an identity: counts only, under the small-cell
rule (below 10: "<10"), and no export of raw data. Every page a monitor opens is in the audit log (`Kit.page`).
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from aiohttp import web

from flows.i18n import Section
from reports import format as fmt
from storage.records import CampaignRecord
from web import figures
from web.dashboard.kit import Kit, Viewer, quality_lines
from web.params import whole_number

ROLES = ("operator", "monitor")
AUDIT_ROWS = 500
_D = Section("digest")
METHOD_NOTES = ("annual_note_share", "annual_note_score", "annual_note_total", "annual_note_rank", "annual_note_small")


class Oversight:
    """GET /dashboard/oversight[/campaigns/{code}[/responses.csv]], /dashboard/oversight/audit, /methodology."""

    def __init__(self, kit: Kit) -> None:
        self.kit = kit
        self.ctx = kit.ctx

    def routes(self, r: web.UrlDispatcher) -> None:
        page = self.kit.page
        r.add_get("/dashboard/oversight", page(self.campaigns, roles=ROLES))
        r.add_get("/dashboard/oversight/campaigns/{code}", page(self.campaign, roles=ROLES))
        r.add_get(
            "/dashboard/oversight/campaigns/{code}/responses.csv",
            page(self.responses_csv, roles=ROLES),
            allow_head=False,
        )
        r.add_get("/dashboard/oversight/audit", page(self.audit, roles=ROLES))
        r.add_get("/dashboard/oversight/methodology", page(self.methodology, roles=ROLES))

    async def campaigns(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        from storage.repo import campaigns, stats

        rows = []
        async with self.ctx.db.read() as conn:
            for c in await campaigns.list_all(conn):
                totals = await stats.response_totals(conn, c.id)
                vi, en = figures.STATUS.get(c.status, (c.status, c.status))
                rows.append(
                    {
                        "c": c,
                        "status": (vi, en),
                        "dates": f"{fmt.local(c.starts_at, c.timezone)} – {fmt.local(c.ends_at, c.timezone)}",
                        "started": fmt.count_cell(totals.started),
                        "completed": fmt.count_cell(totals.completed),
                        "abandoned": fmt.count_cell(totals.abandoned),
                    }
                )
        return self.kit.render(request, viewer, "oversight.html", rows=rows)

    async def campaign(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        from storage.repo import audit, quality, stats, surveys, timeline

        code = request.match_info["code"]
        c = await self.kit.find(code)
        if c is None:
            return self.kit.not_found(request, viewer, code)
        now = self.ctx.clock()
        async with self.ctx.db.read() as conn:
            progress = await stats.ward_progress(conn, c.id)
            totals = await stats.response_totals(conn, c.id)
            days = await timeline.per_ward_day(conn, c.id, c.timezone, at=now)
            versions = [r for r in await surveys.list_all(conn) if r.key == c.survey_key]
            questionnaires = [(r, await surveys.definition(conn, r.id, r.content_hash)) for r in versions]
            entries = await audit.list_since(conn, c.created_at - timedelta(minutes=1))
            flagged = await quality.flag_counts(conn, c.id)
        per_day: dict[Any, list[int]] = {}
        for (_, day), (started, completed) in days.items():
            counts = per_day.setdefault(day, [0, 0])
            counts[0] += started
            counts[1] += completed
        wards = [
            {
                "code": w.code,
                "name": w.name,
                "started": fmt.count_cell(w.started),
                "completed": fmt.count_cell(w.completed),
                "in_progress": fmt.count_cell(w.in_progress),
                "abandoned": fmt.count_cell(w.abandoned),
                "completion": fmt.rate_cell(w.completed, w.started),
            }
            for w in progress
        ]
        log = [e for e in entries if _about(e.arguments, c)][-AUDIT_ROWS:]
        return self.kit.render(
            request,
            viewer,
            "oversight_campaign.html",
            c=c,
            info=self.kit.info(c),
            setup=_setup(c),
            quality=quality_lines(flagged, exact=False),
            totals={
                "started": fmt.count_cell(totals.started),
                "completed": fmt.count_cell(totals.completed),
                "in_progress": fmt.count_cell(totals.in_progress),
                "abandoned": fmt.count_cell(totals.abandoned),
                "completion": fmt.rate_cell(totals.completed, totals.started),
            },
            wards=wards,
            days=_day_lines(per_day),
            questionnaires=[
                {
                    "record": r,
                    "current": r.version == c.survey_version,
                    "published": fmt.local(r.published_at, c.timezone),
                    "questions": [
                        (q.id, q.type, s.text(q.label, "vi"), s.text(q.label, "en"), q.show_if or "", q.required)
                        for q in s.questions
                    ],
                }
                for r, s in questionnaires
            ],
            log=[_entry(e, c.timezone) for e in log],
            csv_url=f"/dashboard/oversight/campaigns/{quote(c.code)}/responses.csv",
        )

    async def responses_csv(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """Responses started and completed per ward and day (counts under 10 as "<10")."""
        from storage.repo import timeline
        from storage.repo import wards as ward_repo

        code = request.match_info["code"]
        c = await self.kit.find(code)
        if c is None:
            return self.kit.not_found(request, viewer, code)
        async with self.ctx.db.read() as conn:
            days = await timeline.per_ward_day(conn, c.id, c.timezone, at=self.ctx.clock())
            names = {u.code: u.name for u in await ward_repo.get_many(conn, list(c.ward_codes))}
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["ward_code", "ward_name", "day", "started", "completed"])
        # the page shows each ward's totals and each day's: hidden cells are hidden along both (see fmt.grid)
        started = fmt.grid({key: s for key, (s, _) in days.items()}, "en")
        completed = fmt.grid({key: k for key, (_, k) in days.items()}, "en")
        for ward, day in sorted(days, key=lambda key: (key[0] or 0, key[1])):
            name = names.get(ward, "") if ward is not None else ""
            row = [started[ward, day].text, completed[ward, day].text]
            writer.writerow([ward or "", name, day.isoformat(), *row])
        return web.Response(
            body=("\ufeff" + out.getvalue()).encode(),
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="khaosat-{c.code}-responses-per-ward-day.csv"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def audit(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        from storage.repo import audit

        days = whole_number(request.query.get("days", "30"), 1, 3660)
        if days is None:
            return self.kit.error(request, viewer, 400, "Số ngày: 1-3660.", "Days: 1-3660.")
        since = self.ctx.clock() - timedelta(days=days)
        async with self.ctx.db.read() as conn:
            entries = await audit.list_since(conn, since, limit=AUDIT_ROWS)
        return self.kit.render(
            request,
            viewer,
            "oversight_audit.html",
            log=[_entry(e, self.ctx.tz) for e in reversed(entries)],
            days=days,
            limit=AUDIT_ROWS,
        )

    async def methodology(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        notes = [(_D(key, "vi"), _D(key, "en")) for key in (*METHOD_NOTES, "opt_in_note")]
        return self.kit.render(request, viewer, "oversight_methodology.html", notes=notes)


def _day_lines(per_day: dict[Any, list[int]]) -> list[tuple[str, fmt.Cell, fmt.Cell]]:
    """The per-day table: started and completed, each column as `fmt.series` shows it (the totals are on the
    page, so one day of 10 or more is hidden with the small ones and no hidden day is their difference)."""
    ordered = sorted(per_day.items())
    started = fmt.series([s for _, (s, _) in ordered])
    completed = fmt.series([k for _, (_, k) in ordered])
    return [(day.strftime("%d/%m/%Y"), s, k) for (day, _), s, k in zip(ordered, started, completed, strict=True)]


def _about(arguments: dict[str, Any], c: CampaignRecord) -> bool:
    """Whether an audit row is about this campaign (it names its code)."""
    return any(arguments.get(key) == c.code for key in ("code", "campaign"))


def _entry(e: Any, tz: str) -> dict[str, str]:
    shown = " ".join(f"{k}={v}" for k, v in e.arguments.items() if v is not None)
    return {
        "at": fmt.local(e.at, tz, "seconds"),
        "actor": e.actor,
        "action": e.action,
        "outcome": e.outcome,
        "arguments": shown,
    }


def _setup(c: CampaignRecord) -> list[tuple[str, str, str]]:
    """The campaign's set-up as (Vietnamese label, English label, value)."""
    policy = c.reminder_policy
    vi, en = figures.reminders(policy)
    return [
        ("Mã", "Code", c.code),
        ("Tên", "Title", c.title),
        ("Bảng hỏi", "Questionnaire", f"{c.survey_key} v{c.survey_version}"),
        ("Mã băm nội dung", "Content hash", c.survey_hash or "–"),
        ("Bắt đầu", "Starts", fmt.local(c.starts_at, c.timezone)),
        ("Kết thúc", "Ends", fmt.local(c.ends_at, c.timezone)),
        ("Múi giờ", "Time zone", c.timezone),
        ("Số phường, xã", "Wards", str(len(c.ward_codes))),
        ("Chỉ tiêu mỗi phường, xã", "Target per ward", str(c.target_per_ward) if c.target_per_ward else "–"),
        ("Nhắc nhở", "Reminders", f"{vi} / {en}"),
        ("Mời người đã đăng ký", "Invitations", "có / yes" if policy.invite else "không / no"),
        ("Tạo lúc", "Created", fmt.local(c.created_at, c.timezone)),
        ("Bắt đầu nhận trả lời", "Launched", fmt.local(c.launched_at, c.timezone) or "–"),
        ("Đóng lúc", "Closed", fmt.local(c.closed_at, c.timezone) or "–"),
        ("Dữ liệu mô phỏng", "Simulated", "có / yes" if c.simulated else "không / no"),
    ]
