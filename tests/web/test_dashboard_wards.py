"""The dashboard's ward table for a campaign over several provinces (grouped, filtered, paginated), the trends of
a ward over the campaigns of the same survey (page and CSV), the per-day chart's suppressed days, and the
counts a large campaign keeps a minute. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.app import Application
from flows.loader import bundled_survey_path, load_survey
from storage.repo import campaigns, surveys, wards
from tests.operators.helpers import add_response
from tests.web.dashboard_support import Client, add_accounts, add_responses, answers
from web import counting, figures
from web.timeline import MARKER, DayLine, svg

HCMC = 79


async def national(app: Application, code: str = "vn-2026") -> Any:
    """A live campaign over every ward of Hà Nội and Hồ Chí Minh City, a few responses in each city."""
    now = datetime.now(UTC)
    async with app.db.write() as conn:
        await wards.import_province(conn, HCMC)
        record, _ = await surveys.publish(conn, load_survey(bundled_survey_path()), now)
        hanoi, city = await wards.search(conn, None, 1), await wards.search(conn, None, HCMC)
        codes = [u.code for u in hanoi] + [u.code for u in city]
        await campaigns.create(
            conn,
            code=code,
            survey_id=record.id,
            title="Hai thành phố",
            wards=codes,
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=30),
            now=now,
        )
        c = await campaigns.launch(conn, code, now, allow_overlap=True)
        for ward, n in ((70, 12), (city[0].code, 31)):
            for i in range(n):
                await add_response(conn, c.id, ward, answers(ward, 4, i), started_at=now - timedelta(minutes=30))
    return c


async def test_wards_of_several_provinces_are_grouped_filtered_and_paginated(web_app: Application) -> None:
    await add_accounts(web_app.db)
    c = await national(web_app)
    total = len(c.ward_codes)
    assert total > figures.PAGE_SIZE
    async with Client(web_app) as client:
        await client.login("op")
        page = await client.get("/dashboard/campaigns/vn-2026")
        assert page.status == 200
        provinces = re.findall(r'<tr data-province="(\d+)">', page.text)
        assert sorted(map(int, provinces)) == [1, HCMC]
        hanoi = page.text.split('data-province="1"')[1].split("</tr>")[0]
        assert "Thành phố Hà Nội" in hanoi and ">126<" in hanoi and ">12<" in hanoi  # 12 responses in Hà Nội
        first = re.findall(r'<tr data-ward="(\d+)">', page.text)
        assert len(first) == figures.PAGE_SIZE
        assert f"{total} / {total} phường, xã · trang 1/2" in page.text
        second = await client.get("/dashboard/campaigns/vn-2026?page=2")
        rest = re.findall(r'<tr data-ward="(\d+)">', second.text)
        assert len(rest) == total - figures.PAGE_SIZE and not set(rest) & set(first)
        beyond = await client.get("/dashboard/campaigns/vn-2026?page=99")  # past the end: the last page
        assert re.findall(r'<tr data-ward="(\d+)">', beyond.text) == rest

        city = await client.get(f"/dashboard/campaigns/vn-2026?province={HCMC}")
        shown = [int(w) for w in re.findall(r'<tr data-ward="(\d+)">', city.text)]
        assert shown and 70 not in shown and len(shown) == min(figures.PAGE_SIZE, total - 126)
        assert f"{total - 126} / {total} phường, xã" in city.text
        city_2 = await client.get(f"/dashboard/campaigns/vn-2026?province={HCMC}&page=2")  # the filter is kept
        assert len(re.findall(r'<tr data-ward="(\d+)">', city_2.text)) == total - 126 - figures.PAGE_SIZE
        assert f'href="/dashboard/campaigns/vn-2026?page=1&amp;province={HCMC}#wards"' in city_2.text
        found = await client.get("/dashboard/campaigns/vn-2026?q=hoan+kiem")
        assert re.findall(r'<tr data-ward="(\d+)">', found.text) == ["70"]
        assert "1 / " in found.text and "#wards" in found.text
        nothing = await client.get("/dashboard/campaigns/vn-2026?q=zzz")
        assert "Không có phường, xã nào khớp với bộ lọc." in nothing.text

        for bad in ("page=abc", "page=0", "province=x"):
            refused = await client.get(f"/dashboard/campaigns/vn-2026?{bad}")
            assert refused.status == 400, bad
            assert "phải là số" in refused.text


async def previous_year(app: Application, satisfied: int, n: int, ward: int = 70, code: str = "hn-2025") -> Any:
    """Last year's campaign of the same survey (closed), with `n` completed responses in `ward`."""
    now = datetime.now(UTC)
    year_ago = now - timedelta(days=365)
    async with app.db.write() as conn:
        record, _ = await surveys.publish(conn, load_survey(bundled_survey_path()), now)
        await campaigns.create(
            conn,
            code=code,
            survey_id=record.id,
            title="Khảo sát Hà Nội 2025",
            wards=[70, 235],
            starts_at=year_ago,
            ends_at=year_ago + timedelta(days=30),
            now=year_ago,
        )
        c = await campaigns.launch(conn, code, year_ago)
        for i in range(n):
            values = answers(ward, 5 if i < satisfied else 2, i)
            await add_response(conn, c.id, ward, values, started_at=year_ago + timedelta(days=1))
        await campaigns.close(conn, code, year_ago + timedelta(days=30))
    return c


async def test_a_ward_page_shows_its_factors_over_the_campaigns_of_the_same_survey(web_app: Application) -> None:
    await add_accounts(web_app.db)
    await add_responses(web_app.db)  # this year: ward 70 has 35 answers, 28 satisfied (80%, 64–90%)
    await previous_year(web_app, satisfied=20, n=60)  # last year: 20 of 60 (33%, 22–46%)
    now = datetime.now(UTC)
    async with web_app.db.write() as conn:  # neither a draft nor the demo is compared with real campaigns
        draft = await campaigns.create(
            conn, code="hn-draft", survey_id=(await campaigns.get(conn, "hn-2026")).survey_id, title="Nháp",
            wards=[70], starts_at=now, ends_at=now + timedelta(days=3), now=now,
        )  # fmt: skip
        await campaigns.create(
            conn, code="demo", survey_id=draft.survey_id, title="Demo", wards=[70], starts_at=now,
            ends_at=now + timedelta(days=3), now=now, simulated=True,
        )  # fmt: skip
        await campaigns.launch(conn, "demo", now)
    async with Client(web_app) as client:
        await client.login("hoankiem")  # the official of ward 70
        page = await client.get("/dashboard/campaigns/hn-2026/wards/70")
        assert page.status == 200
        table = page.text.split('data-testid="trends-table"')[1].split("</table>")[0]
        assert re.findall(r"<th class=\"num[^\"]*\">([\w-]+) ", table) == ["hn-2025", "hn-2026"]
        overall = table.split("Hài lòng chung")[1].split("</tr>")[0]
        assert "33% (23–46%)" in overall and "80% (64–90%) ⚠ ít phản hồi (n=35)" in overall
        assert '<span class="change"' in overall and "▲" in overall  # the intervals do not overlap
        assert "current" in overall.split("80%")[0].rsplit("<td", 1)[1]  # this campaign's column is marked

        ward_csv = await client.get("/dashboard/campaigns/hn-2026/wards/70/trends.csv")
        assert ward_csv.status == 200 and ward_csv.headers["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(ward_csv.text.lstrip("\ufeff"))))
        overall_rows = [r for r in rows if r["factor"] == "overall"]
        assert [(r["campaign"], r["valid_answers"], r["satisfied"], r["change"]) for r in overall_rows] == [
            ("hn-2025", "60", "20", ""),
            ("hn-2026", "35", "28", "up"),
        ]
        assert overall_rows[1]["shown_as"] == "80% (64–90%) ⚠ few responses (n=35)"
        everyone = await client.get("/dashboard/campaigns/hn-2026/trends.csv")  # the official's wards only
        assert {r["ward_code"] for r in csv.DictReader(io.StringIO(everyone.text.lstrip("\ufeff")))} == {"70"}
        assert (await client.get("/dashboard/campaigns/hn-2026/wards/235/trends.csv")).status == 403

        small = await client.get("/dashboard/campaigns/hn-2026/wards/70")
        assert "demo" not in small.text.split('data-testid="trends-table"')[1].split("</table>")[0]

    async with Client(web_app) as client:
        await client.login("op")
        ward_235 = list(csv.DictReader(io.StringIO((await client.get(
            "/dashboard/campaigns/hn-2026/wards/235/trends.csv")).text.lstrip("\ufeff"))))  # fmt: skip
        hidden = [r for r in ward_235 if r["factor"] == "overall" and r["campaign"] == "hn-2025"]
        assert hidden == [] or hidden[0]["valid_answers"] == ""  # under 10 answers: nothing but "<10"
        counts_only = next(r for r in ward_235 if r["factor"] == "overall" and r["campaign"] == "hn-2026")
        # 12 answers: counts only; 9 satisfied, exact for an operator (an official's CSV leaves it out, below)
        assert (counts_only["valid_answers"], counts_only["satisfied"], counts_only["index"]) == ("12", "9", "")

    async with Client(web_app) as client:
        await client.login("dongda")
        ward_235 = list(csv.DictReader(io.StringIO((await client.get(
            "/dashboard/campaigns/hn-2026/wards/235/trends.csv")).text.lstrip("\ufeff"))))  # fmt: skip
        counts_only = next(r for r in ward_235 if r["factor"] == "overall" and r["campaign"] == "hn-2026")
        assert (counts_only["valid_answers"], counts_only["satisfied"], counts_only["index"]) == ("12", "", "")


def test_a_day_under_ten_is_drawn_as_suppressed_never_as_a_bar() -> None:
    lines = [
        DayLine(date(2026, 12, d), str(n) if n >= 10 else "<10", "-", n < 10) for d, n in ((1, 3), (2, 40), (3, 0))
    ]
    drawn = str(svg(lines, {date(2026, 12, 1): 3, date(2026, 12, 2): 40}))
    suppressed = re.findall(r'<rect [^>]*class="bar suppressed"[^>]*>', drawn)
    assert len(suppressed) == 3  # two days and the legend's swatch
    assert all(f'height="{MARKER:.1f}"' in r or f'height="{MARKER:.0f}"' in r for r in suppressed)
    assert all('fill="url(#timeline-hatch)"' in r for r in suppressed)
    [bar] = re.findall(r'<rect [^>]*height="([\d.]+)" class="bar">', drawn)
    assert float(bar) > 100  # the peak: the 40 of 40
    assert "01/12: &lt;10" in drawn and "01/12: 3" not in drawn  # the count is never in the chart
    assert 'data-testid="timeline-legend"' in drawn and "fewer than 10: not shown" in drawn
    plain = str(svg(lines[1:2], {date(2026, 12, 2): 40}))
    assert "timeline-legend" not in plain


def test_the_per_day_table_is_exact_for_operators_and_safe_for_others() -> None:
    """3 then 27: an operator reads both and the running totals; anyone else "<10", "≥10" and no running total."""
    from reports import format as fmt
    from storage.records import CampaignRecord, ReminderPolicy
    from web.timeline import days

    start = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # 1 December in Hanoi
    c = CampaignRecord(1, "c", "C", 1, "k", 1, start, start + timedelta(days=30), "Asia/Ho_Chi_Minh", "active",
                       None, ReminderPolicy(), start)  # fmt: skip
    per_day = [(date(2026, 12, 1), 3), (date(2026, 12, 2), 27)]
    now = start + timedelta(days=1, hours=12)
    exact = days(c, per_day, now, exact=True)
    assert [(d.completed, d.cumulative, d.suppressed) for d in exact] == [("3", "3", True), ("27", "30", False)]
    with fmt.exact_figures():  # an operator's page
        assert days(c, per_day, now) == exact
    safe = days(c, per_day, now)
    assert [(d.completed, d.cumulative, d.suppressed) for d in safe] == [("<10", None, True), ("≥10", None, True)]
    drawn = str(svg(safe, dict(per_day)))
    assert "02/12: ≥10" in drawn and "02/12: 27" not in drawn and "one ≥10 with them" in drawn


async def test_a_large_campaigns_counts_are_kept_a_minute_then_counted_again(
    web_app: Application, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_accounts(web_app.db)
    await add_responses(web_app.db)  # 50 completed
    monkeypatch.setattr(counting, "LARGE", 40)
    async with Client(web_app) as client:
        await client.login("op")
        first = await client.get("/dashboard/campaigns/hn-2026")
        assert 'data-testid="completed">50<' in first.text and 'data-testid="as-of"' not in first.text
        c = await campaign(web_app)
        async with web_app.db.write() as conn:
            await add_response(conn, c.id, 70, answers(70, 5, 99), started_at=datetime.now(UTC))
        kept = await client.get("/dashboard/campaigns/hn-2026")
        assert 'data-testid="completed">50<' in kept.text and 'data-testid="as-of"' in kept.text
        chart = await client.get("/dashboard/campaigns/hn-2026/chart.png")  # from the same kept counts
        assert chart.status == 200
        monkeypatch.setattr(counting, "KEEP_SECONDS", 0.0)
        stale = await client.get("/dashboard/campaigns/hn-2026")  # shown at once, counted again meanwhile
        assert 'data-testid="completed">50<' in stale.text
        for _ in range(50):
            page = await client.get("/dashboard/campaigns/hn-2026")
            if 'data-testid="completed">51<' in page.text:
                break
        else:
            raise AssertionError("the counts were never refreshed")

    monkeypatch.setattr(counting, "LARGE", 1000)  # a small campaign: counted afresh for every page
    async with Client(web_app) as client:
        await client.login("op")
        async with web_app.db.write() as conn:
            await add_response(conn, c.id, 70, answers(70, 5, 98), started_at=datetime.now(UTC))
        # the counts kept while it was large go with the first refresh (which a page may still be waiting on)
        for _ in range(50):
            page = await client.get("/dashboard/campaigns/hn-2026")
            if 'data-testid="as-of"' not in page.text:
                break
        assert 'data-testid="completed">52<' in page.text and 'data-testid="as-of"' not in page.text
        again = await client.get("/dashboard/campaigns/hn-2026")  # and from then on, counted for every page
        assert 'data-testid="completed">52<' in again.text and 'data-testid="as-of"' not in again.text


async def campaign(app: Application, code: str = "hn-2026") -> Any:
    async with app.db.read() as conn:
        return await campaigns.get(conn, code)
