"""A lead department's digest: the PAPI dimensions its group follows, across every ward of its scope.

    view = await gather(conn, c, survey, scope, dimensions, window, previous, language, tz)
    texts = render(view)        # Telegram HTML messages of at most 4096 characters

For each dimension the campaign's questionnaire measures: its method, the lead department, its figure in the
period (▲/▼ against the previous period only when both show and their intervals do not overlap) and in total,
its sub-dimensions in total, and the wards that need attention (`reports.dimensions`). The small-cell rules
hold for every figure (`reports.format`). No comment and no answer of anyone is in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from flows.i18n import Section
from flows.schema import Survey
from reports import digest as content
from reports import format as fmt
from reports.dimensions import DimensionFigures, figures
from reports.plan import dimension_label, method_label, plan_of
from reports.stats import Estimate, Lang
from storage.records import CampaignRecord
from storage.repo import departments, stats
from storage.repo import wards as ward_repo

t = Section("digest")


@dataclass(frozen=True)
class DimensionLine:
    number: int
    label: str
    method: str
    lead: str
    period_text: str
    previous_text: str
    arrow: str
    total_text: str
    factors: tuple[tuple[str, str], ...]
    """(code and label, figure in total) of each sub-dimension."""
    attention: tuple[tuple[str, str], ...]
    """(ward name, figure in total) of the wards that need attention, lowest first."""
    rankable: int
    """Wards with the 30 answers or respondents needed to compare."""


@dataclass(frozen=True)
class DimensionDigestView:
    language: Lang
    campaign_title: str
    scope_label: str
    dimensions_text: str
    period_text: str
    on_demand: bool
    responses_period: str
    responses_total: str
    lines: tuple[DimensionLine, ...]
    not_measured: str
    """The chat's dimensions this campaign's questionnaire does not measure, in words ("" when none)."""
    scores: bool
    """Some figure is a 1-10 score (the digest explains them)."""


def measured(survey: Survey, dimensions: Sequence[int]) -> bool:
    """Whether the questionnaire measures one of these dimensions (else the campaign has nothing for them)."""
    return any(d.number in dimensions for d in plan_of(survey).dimensions)


def _arrow(previous: Estimate, current: Estimate, lang: Lang) -> str:
    return fmt.difference(previous, current, lang)[1]


@fmt.officials_view_async
async def gather(
    conn: AsyncConnection,
    c: CampaignRecord,
    survey: Survey,
    scope: Sequence[int] | None,
    dimensions: Sequence[int],
    window: content.Window,
    previous: content.Window,
    language: str,
    tz: ZoneInfo,
    on_demand: bool = False,
) -> DimensionDigestView:
    """The digest of `dimensions` for a campaign, a scope (ward codes; None = all) and a period: grouped SQL."""
    lang: Lang = "en" if language == "en" else "vi"
    plan = plan_of(survey)
    wards = None if scope is None else sorted(set(scope) & set(c.ward_codes))
    period = await figures(conn, c.id, plan, dimensions, wards, window.start, window.end)
    before = {f.number: f for f in await figures(conn, c.id, plan, dimensions, wards, previous.start, previous.end)}
    total = {f.number: f for f in await figures(conn, c.id, plan, dimensions, wards, None, window.end)}
    leads = await departments.lead_departments(conn)
    codes = list(c.ward_codes) if wards is None else wards
    names = {u.code: u.name for u in await ward_repo.get_many(conn, codes)}
    lines = []
    for now in period:
        whole: DimensionFigures = total[now.number]
        prior = before[now.number].overall
        lead = leads.get(now.number)
        lines.append(
            DimensionLine(
                number=now.number,
                label=dimension_label(now.number, lang),
                method=method_label(now.scoring, lang),
                lead=lead.label(lang) if lead else t("no_lead", lang),
                period_text=fmt.estimate(now.overall, lang),
                previous_text=fmt.estimate(prior, lang),
                arrow=_arrow(prior, now.overall, lang),
                total_text=fmt.estimate(whole.overall, lang),
                factors=tuple(
                    (f"{f.code or ''} {f.label(lang)}".strip(), fmt.estimate(e, lang)) for f, e in whole.factors
                ),
                attention=tuple((names.get(ward, str(ward)), fmt.estimate(e, lang)) for ward, e in whole.attention()),
                rankable=whole.rankable_wards,
            )
        )
    found = {line.number for line in lines}
    missing = [d for d in dimensions if d not in found]
    completed_period = await stats.completed_count(conn, c.id, wards, window.start, window.end)
    completed_total = await stats.completed_count(conn, c.id, wards, None, window.end)
    return DimensionDigestView(
        language=lang,
        campaign_title=c.title,
        scope_label=content.scope_label(None if scope is None else [names.get(w, str(w)) for w in wards or []], lang),
        dimensions_text=", ".join(f"{d}. {dimension_label(d, lang)}" for d in dimensions),
        period_text=f"{fmt.local(window.start, tz)} – {fmt.local(window.end, tz)}",
        on_demand=on_demand,
        responses_period=fmt.count(completed_period, lang),
        responses_total=fmt.count(completed_total, lang),
        lines=tuple(lines),
        not_measured=", ".join(f"{d}. {dimension_label(d, lang)}" for d in missing),
        scores=any(f.scoring == "score" for f in period),
    )


@fmt.officials_view
def render(view: DimensionDigestView, limit: int = content.MAX_MESSAGE) -> list[str]:
    """The digest as Telegram HTML messages of at most `limit` visible characters (sections kept whole)."""
    lang = view.language

    def translate(key: str, **params: Any) -> str:
        return t(key, lang, **params)

    text = content.environment().get_template("dimension_digest.html.j2").render(v=view, t=translate, lang=lang)
    sections = [s.strip("\n") for s in text.split(content.SECTION_BREAK)]
    return content.pack([s for s in sections if s.strip()], limit, continued=t("continued", lang))
