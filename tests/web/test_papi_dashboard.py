"""The city's workflow on the dashboard, over real HTTP (SQLite and PostgreSQL): a monitor of the Fatherland Front
sees how each campaign is run and never a result, an answer or a comment, and every page they open is audited; a
lead department's page; officials scoped by dimension; the annual ranking with its ties."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from bot.app import Application
from storage.repo import audit, departments
from tests.papi.support import BEST, FAIR, GOOD, POOR, add_answers, papi_campaign, rows
from tests.web.dashboard_support import Client, add_responses, add_user


async def seed_papi(app: Application) -> datetime:
    """A PAPI campaign: Hoàn Kiếm and Đống Đa alike in dimension 5, Ba Đình clearly lower, Ngọc Hà 10 responses;
    the Sở Nội vụ leads dimension 5. Returns when the responses were completed."""
    now = datetime.now(UTC)
    c = await papi_campaign(app.db, now - timedelta(days=1), code="papi", wards=[70, 235, 4, 8])
    at = now - timedelta(hours=1)
    await add_answers(app.db, c, rows(70, (BEST, 20), (GOOD, 20)) + rows(235, (GOOD, 20), (BEST, 20)), at)
    await add_answers(app.db, c, rows(4, (FAIR, 20), (POOR, 20)) + rows(8, (GOOD, 10)), at)
    async with app.db.write() as conn:
        await departments.add(conn, "SNV", "Sở Nội vụ", "Department of Home Affairs", now)
        await departments.assign(conn, "SNV", [5], now)
        await departments.add(conn, "SYT", "Sở Y tế", "", now)
        await departments.assign(conn, "SYT", [6], now)
    return at


def text_of(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", html))


async def test_a_monitor_sees_how_the_survey_is_run_and_never_a_result(web_app: Application) -> None:
    await add_responses(web_app.db)  # hn-2026: comments (one with markup), satisfaction answers
    await add_user(web_app.db, "mttq", "monitor")
    async with Client(web_app) as client:
        reply = await client.login("mttq")
        assert reply.status == 303 and reply.location == "/dashboard/campaigns"
        reply = await client.get("/dashboard/campaigns")
        assert reply.status == 303 and reply.location == "/dashboard/oversight"
        home = await client.get("/dashboard/oversight")
        assert home.status == 200 and 'data-campaign="hn-2026"' in home.text
        assert "Giám sát / Monitor" in home.text and 'href="/dashboard/codes"' not in home.text

        page = await client.get("/dashboard/oversight/campaigns/hn-2026")
        assert page.status == 200
        words = text_of(page.text)
        assert "hanoi-ward-satisfaction v2" in words and "Asia/Ho_Chi_Minh" in words
        ward70 = page.text.split('data-ward="70"')[1].split("</tr>")[0]
        assert ">36<" in ward70 and ">35<" in ward70  # 35 completed and one in progress
        ward4 = page.text.split('data-ward="4"')[1].split("</tr>")[0]
        assert "&lt;10" in ward4 and ">3<" not in ward4  # three responses: "<10"
        assert 'data-testid="version-2"' in page.text and "overall_satisfaction" in page.text
        for secret in ("Góp ý số", "alert(", "rác &amp; ", "Hài lòng (4–5)", "80%"):
            assert secret not in page.text, secret
        csv = await client.get("/dashboard/oversight/campaigns/hn-2026/responses.csv")
        assert csv.status == 200 and csv.text.lstrip("\ufeff").startswith("ward_code,ward_name,day,started,completed")
        assert "70,Phường Hoàn Kiếm," in csv.text and ",<10," in csv.text
        assert (await client.get("/dashboard/oversight/methodology")).status == 200
        log = await client.get("/dashboard/oversight/audit")
        assert log.status == 200 and "monitor.view" in log.text

        refused = [
            "/dashboard/campaigns/hn-2026",
            "/dashboard/campaigns/hn-2026/wards/70",
            "/dashboard/campaigns/hn-2026/chart.png",
            "/dashboard/campaigns/hn-2026/trends.csv",
            "/dashboard/campaigns/hn-2026/export.xlsx",
            "/dashboard/departments",
            "/dashboard/annual",
            "/dashboard/codes",
        ]
        for path in refused:
            reply = await client.get(path)
            assert reply.status == 403, path
            assert "Tài khoản giám sát chỉ xem được cách tổ chức khảo sát" in reply.text
        assert (await client.get("/dashboard/no-such-page")).status == 404
    async with web_app.db.read() as conn:
        entries = [e for e in await audit.list_since(conn) if e.actor == "web:mttq"]
    views = [(e.arguments["path"], e.outcome) for e in entries if e.action == "monitor.view"]
    assert ("/dashboard/campaigns", "ok") in views and ("/dashboard/oversight/campaigns/hn-2026", "ok") in views
    assert ("/dashboard/oversight/campaigns/hn-2026/responses.csv", "ok") in views
    assert [p for p, o in views if o == "denied"] == [*refused, "/dashboard/no-such-page"]
    assert len(views) == 6 + len(refused) + 1  # every page the monitor opened, and nothing else


async def test_a_lead_departments_page_and_officials_of_some_dimensions(web_app: Application) -> None:
    await seed_papi(web_app)
    await add_responses(web_app.db)  # hn-2026: the Hanoi survey's factors (none has a PAPI dimension)
    await add_user(web_app.db, "op", "operator")
    await add_user(web_app.db, "snv", "official")
    async with web_app.db.write() as conn:
        from storage.repo import users
        from tests.web.dashboard_support import password_hash

        await users.add(conn, "syt", password_hash(), "official", None, datetime.now(UTC), dimensions=[6])
    async with Client(web_app) as client:
        await client.login("op")
        listing = await client.get("/dashboard/departments")
        assert listing.status == 200 and 'data-department="SNV"' in listing.text
        page = await client.get("/dashboard/departments/SNV")
        assert page.status == 200, page.text[:300]
        d5 = page.text.split('data-testid="dimension-5"')[1]
        assert "điểm 1–10 (trung bình theo người trả lời)" in d5
        attention = d5.split('data-testid="attention-5"')[1].split("</ol>")[0]
        assert "Phường Ba Đình: 2,97 (" in attention and "Hoàn Kiếm" not in attention
        table = d5.split('data-testid="wards-5"')[1].split("</table>")[0]
        assert re.search(r'data-ward="70">.*?8,88 \(.*?<td class="num">=1</td>', table, re.S)
        assert re.search(r'data-ward="235">.*?<td class="num">=1</td>', table, re.S)
        assert re.search(r'data-ward="4">.*?<td class="num">3</td>', table, re.S)
        assert re.search(r'data-ward="8">.*?n=10.*?<td class="num">–</td>', table, re.S)
        hanoi = await client.get("/dashboard/campaigns/hn-2026")
        assert "Công khai, minh bạch" in hanoi.text  # the transparency factor, for an operator
        campaign = await client.get("/dashboard/campaigns/papi")
        assert campaign.status == 200 and 'data-testid="dimensions"' in campaign.text
        assert 'data-dimension="8"' in campaign.text and 'href="/dashboard/departments/SNV"' in campaign.text
    async with Client(web_app) as client:
        await client.login("syt")
        assert (await client.get("/dashboard/departments/SNV")).status == 403
        page = await client.get("/dashboard/departments/SYT")
        assert page.status == 200 and 'data-testid="dimension-6"' in page.text
        campaign = await client.get("/dashboard/campaigns/papi")
        dims = campaign.text.split('data-testid="dimensions"')[1].split("</table>")[0]
        assert 'data-dimension="6"' in dims and 'data-dimension="5"' not in dims
        hanoi = await client.get("/dashboard/campaigns/hn-2026")  # its factors have no dimension: not theirs
        assert hanoi.status == 200 and "Công khai, minh bạch" not in hanoi.text


async def test_the_annual_ranking_on_the_dashboard(web_app: Application) -> None:
    at = await seed_papi(web_app)
    await add_user(web_app.db, "op", "operator")
    await add_user(web_app.db, "hoankiem", "official", [70])
    year = at.astimezone().year
    async with Client(web_app) as client:
        await client.login("op")
        page = await client.get(f"/dashboard/annual?year={year}&dimension=5")
        assert page.status == 200
        summary = page.text.split('data-testid="annual-summary"')[1].split("</table>")[0]
        assert [int(x) for x in re.findall(r'<tr data-ward="(\d+)">', summary)] == [235, 70, 4, 8]
        assert re.search(r'data-ward="70">.*?data-rank="5">=1<', summary, re.S)
        assert re.search(r'data-ward="4">.*?data-rank="5">3<', summary, re.S)
        # 40 respondents: the summary says so as the details and the workbook do, interval and "⚠ ít phản hồi"
        ward70 = summary.split('data-ward="70">')[1].split("</tr>")[0]
        assert ward70.count("⚠ ít phản hồi (n=40)") == 9 and "8,88" in ward70 and "(8,51–9,24)" in ward70, ward70
        detail = page.text.split('data-testid="annual-detail"')[1].split("</table>")[0]
        assert "Sở Nội vụ" in page.text and "8,88 (" in detail
        assert "Thứ hạng: 1 + số phường, xã có khoảng tin cậy nằm hẳn trên" in page.text
        assert "Rank: 1 + the number of wards whose interval lies entirely above" in page.text
        book = await client.get(f"/dashboard/annual.xlsx?year={year}&lang=en")
        assert book.status == 200
        assert load_workbook(io.BytesIO(book.body)).sheetnames == ["Summary", "Details", "Methods"]
        empty = await client.get("/dashboard/annual?year=2001")
        assert empty.status == 200 and 'data-testid="no-year"' in empty.text
    async with Client(web_app) as client:
        await client.login("hoankiem")
        page = await client.get(f"/dashboard/annual?year={year}")
        summary = page.text.split('data-testid="annual-summary"')[1].split("</table>")[0]
        assert re.findall(r'<tr data-ward="(\d+)">', summary) == ["70"]
        assert 'data-rank="5">=1<' in summary  # ranked among all wards
    async with web_app.db.read() as conn:
        assert any(e.action == "report.annual" for e in await audit.list_since(conn))


async def test_an_operator_issues_a_department_groups_code_from_the_dashboard(web_app: Application) -> None:
    from storage.repo import chats
    from tests.web.dashboard_support import csrf_of

    await add_user(web_app.db, "op", "operator")
    async with Client(web_app) as client:
        await client.login("op")
        page = await client.get("/dashboard/codes")
        form = {
            "csrf": csrf_of(page.text),
            "scope": "all",
            "dimensions": "6, 5",
            "schedule": "weekly mon 08:00",
            "language": "vi",
            "days": "7",
        }
        reply = await client.post("/dashboard/codes", {**form, "dimensions": "5,9"})
        assert reply.status == 400 and "Dimensions: 1-8" in reply.text
        reply = await client.post("/dashboard/codes", form)
        assert reply.status == 303
        async with web_app.db.read() as conn:
            issued = await chats.list_codes(conn)
        assert [(c.scope, c.dimensions) for c in issued] == [(None, (5, 6))]
        page = await client.get("/dashboard/codes")
        assert "lĩnh vực / dimensions 5, 6" in page.text


async def test_the_preview_of_a_department_group_is_its_dimension_digest(web_app: Application) -> None:
    from storage.repo import chats

    await seed_papi(web_app)
    await add_user(web_app.db, "op", "operator")
    now = datetime.now(UTC)
    async with web_app.db.write() as conn:
        code = await chats.issue_code(conn, scope=None, schedule="daily 08:00", language="vi", now=now, dimensions=[5])
        await chats.redeem(conn, code=code.code, chat_id=-3003, title="Sở Nội vụ", user_id=1, now=now)
    async with Client(web_app) as client:
        await client.login("op")
        preview = await client.get("/dashboard/digests?chat=-3003")
        assert preview.status == 200
        shown = unescape(preview.text.split('data-testid="preview"')[1])
        assert "Báo cáo theo lĩnh vực PAPI" in shown and "Đơn vị chủ trì: Sở Nội vụ" in shown
        assert "1. Phường Ba Đình: 2,97 (" in shown
        assert "hn-2026" not in shown  # the Hanoi campaign measures no dimension


async def test_a_monitors_days_give_no_hidden_day_back_by_subtraction(web_app: Application) -> None:
    """3 completed one day and 27 the next, 30 in all: the day table and the per-ward CSV hide the 27 with the 3
    ("≥10"), so the total minus the shown days is not the 3."""
    from storage.repo import campaigns
    from tests.operators.helpers import add_response
    from tests.web.dashboard_support import answers

    # at noon in the campaign's zone, so that a day's responses stay on that day whatever the hour of the run
    noon = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).replace(hour=12, minute=0, second=0, microsecond=0)
    async with web_app.db.write() as conn:
        c = await campaigns.get(conn, "hn-2026")
        for i, (day, n) in enumerate(((2, 3), (1, 27))):
            for j in range(n):
                at = (noon - timedelta(days=day, minutes=j)).astimezone(UTC)
                await add_response(conn, c.id, 70, answers(70, 4, i * 100 + j), started_at=at)
    await add_user(web_app.db, "mttq", "monitor")
    async with Client(web_app) as client:
        await client.login("mttq")
        page = await client.get("/dashboard/oversight/campaigns/hn-2026")
        table = page.text.split('data-testid="oversight-days"')[1].split("</table>")[0]
        assert ">27<" not in table and "&lt;10" in table and table.count("≥10") == 2, table
        csv = (await client.get("/dashboard/oversight/campaigns/hn-2026/responses.csv")).text
        lines = [line.split(",")[3:] for line in csv.splitlines() if line.startswith("70,")]
        assert lines[-2:] == [["<10", "<10"], ["≥10", "≥10"]] and ["27", "27"] not in lines, csv
