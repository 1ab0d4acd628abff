"""The digest's content (reports.digest): pure functions checked against hand-computed values.

Wilson intervals, z = 1.96 (z² = 3.8416, z²/2 = 1.9208, z²/4 = 0.9604):
    centre = (k + z²/2) / (n + z²),  half = z · sqrt(k(n-k)/n + z²/4) / (n + z²)
    24/30: centre 25.9208/33.8416 = 0.7659, half 1.96·sqrt(4.8 + 0.9604)/33.8416 = 0.1390 -> 62.7%–90.5% -> 63–90%
     6/30: centre 7.9208/33.8416 = 0.2341, same half 0.1390 -> 9.5%–37.3% -> 10–37%
     3/30: centre 4.9208/33.8416 = 0.1454, half 1.96·sqrt(2.7 + 0.9604)/33.8416 = 0.1108 -> 3.5%–25.6% -> 3–26%
    50/300: centre 51.9208/303.8416 = 0.1709, half 1.96·sqrt(41.667 + 0.9604)/303.8416 = 0.0421 -> 13–21%
    45/100: centre 46.9208/103.8416 = 0.4518, half 1.96·sqrt(24.75 + 0.9604)/103.8416 = 0.0957 -> 36–55%
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from reports import format as fmt
from reports.digest import (
    DigestInput,
    FactorCounts,
    Window,
    caption,
    chart_png,
    compute,
    pack,
    render,
    visible_length,
)
from tests.fakebot import parse_html

END = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Monday 08:00 in Hà Nội
WEEK = Window(END - timedelta(days=7), END)

OVERALL = FactorCounts(
    "Hài lòng chung",
    period={5: 10, 4: 14, 3: 3, 2: 2, 1: 1, "dk": 4},  # 24 of 30 valid satisfied; 3 of 30 dissatisfied
    previous={4: 6, 3: 10, 2: 10, 1: 4},  # 6 of 30 satisfied
    total={5: 100, 4: 100, 3: 50, 2: 30, 1: 20},  # 200 of 300; 50 of 300 dissatisfied
)


def data(**changes: object) -> DigestInput:
    values: dict[str, object] = {
        "language": "vi",
        "campaign_title": "Khảo sát Hà Nội 2026",
        "scope_label": "Phường Hoàn Kiếm, Phường Đống Đa",
        "period": WEEK,
        "timezone": "Asia/Ho_Chi_Minh",
        "responses_period": 34,
        "responses_total": 1234,
        "started_total": 1500,
        "overall": OVERALL,
        "factors": [
            FactorCounts("Tiếp cận dịch vụ", {4: 20, 1: 5}, {}, {5: 40, 3: 5}),  # 20/25; total 40/45
            FactorCounts("Công khai, minh bạch", {4: 9}, {4: 9}, {4: 9}),  # fewer than 10
        ],
        "ward_overall": [
            ("Phường Hoàn Kiếm", {5: 20, 1: 10}),  # 20/30 = 67%
            ("Phường Đống Đa", {4: 15, 2: 15}),  # 15/30 = 50%
            ("Phường Ba Đình", {4: 1, 2: 28}),  # n = 29: not ranked
        ],
        "issues_label": "Vấn đề cần ưu tiên cải thiện",
        "issues": {"Thu gom rác thải": 45, "Giao thông": 30, "Ngập úng": 30, "Trường học": 5},
        "issues_base": 100,
        "comments_count": 12,
        "comments": [("Phường Hoàn Kiếm", "Cần <b>thêm</b> cây xanh & ghế đá"), (None, "x" * 500)],
        "alert_threshold": 0.2,
    }
    values.update(changes)
    return DigestInput(**values)  # type: ignore[arg-type]


def lines(texts: list[str]) -> list[str]:
    return "\n".join(texts).split("\n")


def test_headline_numbers_and_small_cells() -> None:
    view = compute(data())
    text = "\n".join(render(view))
    assert "Kỳ báo cáo: 23/11/2026 08:00 – 30/11/2026 08:00" in text
    assert "• Hoàn thành trong kỳ: <b>34</b>" in text
    assert "• Lũy kế từ đầu đợt: <b>1.234</b>" in text
    assert "• Tỷ lệ hoàn thành: 82% (1.234/1.500 phiếu đã bắt đầu)" in text  # 1234/1500 = 82.3%
    # overall: 24/30 this week (unstable), 6/30 the week before; 63–90 and 10–37 do not overlap: ▲
    assert (
        "⭐ <b>Hài lòng chung</b>: 80% (63–90%) ⚠ ít phản hồi (n=30) ▲ <i>(kỳ trước: 20% (10–37%) "
        "⚠ ít phản hồi (n=30))</i>" in text
    )
    assert "   lũy kế: 67% (61–72%)" in text  # 200/300
    assert "• Tiếp cận dịch vụ: 20/25 hài lòng\n   lũy kế: 89% (77–95%) ⚠ ít phản hồi (n=45)" in text
    assert "• Công khai, minh bạch: &lt;10\n   lũy kế: &lt;10" in text
    assert "▲/▼: thay đổi rõ rệt so với kỳ trước" in text


def test_no_change_is_marked_when_intervals_overlap_or_cells_are_small() -> None:
    overlapping = FactorCounts("Chung", period={4: 18, 2: 12}, previous={4: 15, 2: 15}, total={4: 33, 2: 27})
    view = compute(data(overall=overlapping, factors=[FactorCounts("Nhỏ", {4: 20}, {1: 20}, {4: 20})]))
    assert view.overall is not None and view.overall.direction is None  # 60% vs 50%, n = 30: overlapping
    assert view.factors[0].direction is None  # 20/20 vs 0/20: counts only, no percentages to compare
    assert not view.any_arrow and "▲" not in "".join(render(view)) and "▼" not in "".join(render(view))
    down = FactorCounts("Chung", period=OVERALL.previous, previous=OVERALL.period, total=OVERALL.total)
    assert compute(data(overall=down)).overall.direction == "down"  # type: ignore[union-attr]


def test_dissatisfaction_and_alert_threshold() -> None:
    view = compute(data())
    d = view.dissatisfied
    assert d is not None
    assert (d.period.k, d.period.n, d.total.k, d.total.n) == (3, 30, 50, 300)
    assert (d.period_alert, d.total_alert) == (False, False)  # 10% and 17% under 20%
    text = "\n".join(render(view))
    assert "• trong kỳ: 10% (3–26%) ⚠ ít phản hồi (n=30)\n• lũy kế: 17% (13–21%)" in text
    alerted = compute(data(alert_threshold=0.15))
    assert alerted.dissatisfied is not None and alerted.dissatisfied.total_alert
    assert not alerted.dissatisfied.period_alert
    assert "• lũy kế: 17% (13–21%) 🚨 <b>vượt ngưỡng cảnh báo 15%</b>" in "\n".join(render(alerted))
    # a share shown only as counts never raises the alert
    few = FactorCounts("Chung", period={1: 20}, previous={}, total={1: 20})
    assert compute(data(overall=few, alert_threshold=0.05)).dissatisfied.total_alert is False  # type: ignore[union-attr]


def test_lowest_wards_only_from_30_answers() -> None:
    view = compute(data())
    assert [(w.name, w.share.k, w.share.n) for w in view.lowest] == [
        ("Phường Đống Đa", 15, 30),
        ("Phường Hoàn Kiếm", 20, 30),
    ]
    text = "\n".join(render(view))
    assert "1. Phường Đống Đa: 50% (33–67%) ⚠ ít phản hồi (n=30)\n2. Phường Hoàn Kiếm: 67%" in text
    assert "Ba Đình" not in text
    none_rankable = compute(data(ward_overall=[("A", {4: 3}), ("B", {4: 29})]))
    assert "Chưa có phường, xã nào đủ 30 phiếu để xếp hạng." in "\n".join(render(none_rankable))
    single = compute(data(ward_overall=[("A", {4: 100})]))
    assert not single.rank_wards and "thấp nhất" not in "\n".join(render(single))


def test_top_issues_as_share_of_respondents() -> None:
    view = compute(data())
    assert [(i.label, i.share.k) for i in view.issues] == [
        ("Thu gom rác thải", 45),
        ("Giao thông", 30),  # ties broken by label
        ("Ngập úng", 30),
    ]
    assert "1. Thu gom rác thải: 45% (36–55%)" in "\n".join(render(view))


def test_comments_are_escaped_and_shortened() -> None:
    texts = render(compute(data()))
    html = "\n".join(texts)
    assert "<b>Góp ý mới trong kỳ</b>: 12" in html
    assert "💬 <i>Phường Hoàn Kiếm</i>: «Cần &lt;b&gt;thêm&lt;/b&gt; cây xanh &amp; ghế đá»" in html
    plain = "\n".join(parse_html(t)[0] for t in texts)  # as Telegram shows it: the tag is visible text
    assert "«Cần <b>thêm</b> cây xanh & ghế đá»" in plain
    assert "«" + "x" * 199 + "…»" in plain


def test_opt_in_note_and_english() -> None:
    vi = "\n".join(render(compute(data())))
    assert "Người trả lời tự nguyện tham gia" in vi and "không phải là sai số chọn mẫu" in vi
    en = "\n".join(render(compute(data(language="en"))))
    assert "Respondents chose to take part" in en and "not margins of sampling error" in en
    assert "• Total since the campaign began: <b>1,234</b>" in en
    assert "• Completion rate: 82% (1,234 of 1,500 started)" in en
    assert "80% (63–90%) ⚠ few responses (n=30) ▲" in en
    assert "• Tiếp cận dịch vụ: 20/25 satisfied" in en


def test_every_message_is_valid_telegram_html_within_4096() -> None:
    many = [FactorCounts(f"Yếu tố số {i} " + "dài " * 20, {4: 40, 1: 20}, {4: 20}, {4: 400}) for i in range(120)]
    texts = render(compute(data(factors=many)))
    assert len(texts) > 1
    for text in texts:
        visible, _ = parse_html(text)  # raises on a cut tag
        assert len(visible) <= 4096 and visible_length(text) == len(visible.encode("utf-16-le")) // 2
    assert texts[1].startswith("<i>(tiếp theo)</i>")
    shown = "\n".join(texts)
    assert all(f"Yếu tố số {i} " in shown for i in range(120))  # split, not dropped


def test_pack_splits_long_sections_between_lines() -> None:
    section = "\n".join(f"<b>dòng {i}</b> " + "x" * 50 for i in range(10))
    parts = pack(["<b>đầu</b>", section], limit=200)
    for part in parts:
        parse_html(part)
        assert visible_length(part) <= 200
    assert sum(part.count("<b>dòng") for part in parts) == 10


def test_formats() -> None:
    assert fmt.number(1234567, "vi") == "1.234.567" and fmt.number(1234567, "en") == "1,234,567"
    assert fmt.rate(5, 9, "vi", "completion_of") == "<10"
    assert fmt.rate(12, 25, "vi", "completion_of") == "12/25 phiếu đã bắt đầu"
    assert fmt.rate(7, 25, "vi", "completion_of") == "<10/25 phiếu đã bắt đầu"  # k is a count too
    assert fmt.rate(24, 30, "en", "completion_of") == "80% (24 of 30 started)"
    with pytest.raises(ValueError, match="must end after it starts"):
        Window(END, END)


def test_chart_and_caption() -> None:
    view = compute(data())
    png = chart_png(view)
    assert png is not None and png.startswith(b"\x89PNG\r\n\x1a\n")
    assert [line.label for line in view.chart_lines] == ["Hài lòng chung", "Tiếp cận dịch vụ"]  # n >= 30 only
    text = caption(view)
    assert re.fullmatch(
        r"📈 Khảo sát Hà Nội 2026: .* lũy kế đến 30/11/2026\..* Không vẽ 1 yếu tố có dưới 30 câu trả lời\.", text
    )
    parse_html(text)
    empty = compute(data(overall=None, factors=[FactorCounts("Ít", {4: 3}, {}, {4: 3})]))
    assert chart_png(empty) is None


def test_issues_are_hidden_below_ten_completed_responses() -> None:
    few = compute(data(issues={"Thu gom rác thải": 1}, issues_base=1))
    assert few.issues == () and few.issues_hidden  # one respondent: the line would be their answer
    text = "\n".join(render(few))
    assert "Chưa hiển thị khi dưới 10 phiếu hoàn thành." in text and "Thu gom rác thải" not in text
    enough = compute(data(issues={"Thu gom rác thải": 4}, issues_base=10))
    assert [i.label for i in enough.issues] == ["Thu gom rác thải"] and not enough.issues_hidden
    empty = compute(data(issues={}, issues_base=0))
    assert not empty.issues_hidden and "Chưa có câu trả lời." in "\n".join(render(empty))


def test_comments_are_hidden_while_the_scope_has_fewer_than_ten_completed_responses() -> None:
    few = compute(data(responses_total=7, responses_period=7, comments_count=2))
    assert few.comments == () and few.comments_hidden  # with 7 people a comment could be told apart as someone's
    text = "\n".join(render(few))
    assert "cây xanh" not in text and "Nội dung góp ý chưa hiển thị khi phạm vi có dưới 10 phiếu hoàn thành" in text
    assert "<b>Góp ý mới trong kỳ</b>: &lt;10" in text
    enough = compute(data(responses_total=10, comments_count=2))
    assert not enough.comments_hidden and "cây xanh" in "\n".join(render(enough))


def test_a_simulated_campaigns_digest_says_so_first() -> None:
    text = "\n".join(render(compute(data(simulated=True))))
    assert text.splitlines()[1].startswith("<b>🧪 DỮ LIỆU MÔ PHỎNG: các con số dưới đây do phần mềm tạo ra")
    assert "MÔ PHỎNG" not in "\n".join(render(compute(data())))
    assert caption(compute(data(simulated=True))).startswith("🧪 DỮ LIỆU MÔ PHỎNG")  # the chart, forwarded alone
    assert "MÔ PHỎNG" not in caption(compute(data()))
