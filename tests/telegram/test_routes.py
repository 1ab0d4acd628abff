"""The routing table from a button's data to what it means: every button we draw routes, forged data does not,
and the aiogram router and the webhook's lane read it the same way."""

from __future__ import annotations

import pytest

from bot.telegram.callbacks import (
    AnswerCb,
    BackCb,
    CampaignCb,
    ConfirmCb,
    ConsentCb,
    DoneCb,
    InviteCb,
    LangCb,
    PageCb,
    ResumeCb,
    SkipCb,
    ToggleCb,
)
from bot.telegram.fastlane import parse
from bot.telegram.routes import ROUTES, Confirm, Page, Press, Setting, Toggle, route
from flows import engine
from flows.conversation import GiveConsent, Reply, SetInvitations, SetLanguage, Start


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (AnswerCb(r=12, q="age", v="2"), Press(Reply(engine.Answer("2", "age"), 12))),
        (DoneCb(r=12, q="issues", m=5), Press(Reply(engine.Answer(5, "issues"), 12))),
        (BackCb(r=12, q="age"), Press(Reply(engine.Back("age"), 12))),
        (SkipCb(r=12, q="comment"), Press(Reply(engine.Skip("comment"), 12))),
        (ConsentCb(agree=True, code="hn-2026", ward=70), Press(GiveConsent(True, "hn-2026", 70))),
        (CampaignCb(code="hn-2026"), Press(Start("hn-2026"), clears_source=True)),
        (ResumeCb(r=12), Press(Start())),
        (LangCb(lang="en"), Setting(SetLanguage("en"))),
        (InviteCb(yes=False), Setting(SetInvitations(False))),
        (ToggleCb(r=12, q="issues", m=3), Toggle(ToggleCb(r=12, q="issues", m=3))),
        (PageCb(r=12, q="ward", page=2), Page(PageCb(r=12, q="ward", page=2))),
        (ConfirmCb(action="delete", yes=True), Confirm(ConfirmCb(action="delete", yes=True))),
    ],
)
def test_every_button_we_draw_routes_to_what_it_means(data: object, expected: object) -> None:
    assert route(data.pack()) == expected  # type: ignore[attr-defined]


def test_every_prefix_is_in_the_table_once() -> None:
    classes = [AnswerCb, DoneCb, BackCb, SkipCb, ConsentCb, CampaignCb, ResumeCb, LangCb, InviteCb, ToggleCb, PageCb]
    assert sorted(ROUTES) == sorted({c.__prefix__ for c in [*classes, ConfirmCb]})


@pytest.mark.parametrize("data", [None, "", "zz:1", "a:x:age:2", "a:1", "c:maybe:hn:70", "t:1:q:notanumber", ":::"])
def test_forged_or_outdated_data_routes_nowhere(data: str | None) -> None:
    assert route(data) is None


def press(data: str) -> dict[str, object]:
    message = {"message_id": 3, "date": 0, "chat": {"id": 42, "type": "private"}, "text": "Câu 1"}
    user = {"id": 42, "is_bot": False, "first_name": "Dân"}
    return {"update_id": 7, "callback_query": {"id": "9", "from": user, "chat_instance": "1", "message": message,
                                                 "data": data}}  # fmt: skip


def test_the_lane_takes_what_the_service_applies_and_selections_and_leaves_the_rest_to_aiogram() -> None:
    for data in ("a:1:age:2", "d:1:issues:5", "b:1:age", "s:1:comment", "c:1:hn-2026:", "k:hn-2026", "r:4", "t:1:q:3"):
        update = parse(press(data))
        assert update is not None and update.action == route(data), data
        assert update.pressed is not None and update.pressed.html_text == "Câu 1"
    for data in ("p:1:ward:2", "l:en", "i:1", "y:delete:1:", "zz", "a:x:age:2"):
        assert parse(press(data)) is None, data
