"""The digest as a Zalo group reads it: plain text (no markup, what respondents typed shown as typed) in
messages of at most 2,000 characters, every section kept; and the line of completed responses per channel,
under the small-cell rule."""

from __future__ import annotations

from reports import digests
from reports import format as fmt
from reports.digest import FactorCounts, compute, render, to_plain
from tests.scheduler.test_digest_content import data


def test_a_long_digest_is_plain_text_in_parts_of_at_most_2000_characters() -> None:
    many = [FactorCounts(f"Yếu tố số {i} " + "dài " * 20, {4: 40, 1: 20}, {4: 20}, {4: 400}) for i in range(60)]
    parts = [to_plain(m) for m in render(compute(data(factors=many)), digests.text_limit("zalo"))]
    assert len(parts) > 2
    assert all(0 < len(p) <= 2000 for p in parts)
    joined = "\n".join(parts)
    typed = "«Cần <b>thêm</b> cây xanh & ghế đá»"
    assert typed in joined  # a citizen's text, as typed, never markup
    ours = joined.replace(typed, "")
    assert "<b>" not in ours and "<i>" not in ours and "&lt;" not in ours and "&amp;" not in ours
    assert all(f"Yếu tố số {i} " in joined for i in range(60))  # split, not dropped
    assert parts[1].startswith("(tiếp theo)")
    assert "📊 Báo cáo khảo sát: Khảo sát Hà Nội 2026" in parts[0]


def test_answers_are_told_apart_by_channel_with_small_counts_hidden() -> None:
    text = "\n".join(render(compute(data(channels={"telegram": 1200, "zalo": 30, "web": 4}))))
    # web has 4: "<10"; then the smallest other (zalo) is "≥10" too, or 1234 − 1200 − 30 would give 4 away
    assert "• Theo kênh (lũy kế): Telegram 1.200 · Zalo ≥10 · Trang web &lt;10" in text
    en = "\n".join(render(compute(data(language="en", channels={"zalo": 1000, "telegram": 234}))))
    assert "• By channel (total): Telegram 234 · Zalo 1,000" in en
    one = "\n".join(render(compute(data(channels={"telegram": 1234}))))
    assert "Theo kênh" not in one  # a single channel says nothing new


def test_breakdown_hides_what_the_total_would_give_away() -> None:
    assert [(c, cell.text) for c, cell in fmt.breakdown({"zalo": 12, "telegram": 40})] == [
        ("telegram", "40"),
        ("zalo", "12"),
    ]
    assert [cell.text for _, cell in fmt.breakdown({"telegram": 40, "zalo": 3, "web": 2})] == ["40", "<10", "<10"]
    assert [cell.text for _, cell in fmt.breakdown({"telegram": 40, "zalo": 3, "web": 25})] == ["40", "<10", "≥10"]
    assert [cell.text for _, cell in fmt.breakdown({"telegram": 40, "zalo": 3}, exact=True)] == ["40", "3"]
