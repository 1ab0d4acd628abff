"""What the webhook's lean path takes (bot.telegram.fastlane.parse), and what it leaves to aiogram."""

from __future__ import annotations

from typing import Any

from bot.telegram.fastlane import parse
from bot.telegram.routes import Press
from storage.conversation import GiveConsent, Start

USER = {"id": 42, "is_bot": False, "first_name": "Dân", "language_code": "vi"}
CHAT = {"id": 42, "type": "private"}


def message(text: str, **extra: Any) -> dict[str, Any]:
    return {"update_id": 1, "message": {"message_id": 5, "date": 0, "chat": CHAT, "from": USER, "text": text, **extra}}


def consent_press(screen: dict[str, Any]) -> dict[str, Any]:
    query = {"id": "9", "from": USER, "chat_instance": "1", "message": screen, "data": "c:1:hn-2026:70"}
    return {"update_id": 2, "callback_query": query}


def test_start_spellings() -> None:
    for text, action in [
        ("/start", Start()),
        ("/start hn-2026_70", Start("hn-2026", 70)),
        ("  /start \n hn-2026 ", Start("hn-2026")),
        ("/start no-such!", Start("no-such!")),  # names no campaign we have: "this link is not valid"
    ]:
        update = parse(message(text))
        assert update is not None and update.action == action, text
    for text in ("/START", "/start@other_bot hn-2026", "/help", "/startx"):
        assert parse(message(text)) is None, text  # aiogram's
    typed = parse(message("ba lần"))
    assert typed is not None and typed.action == "ba lần"


def test_consent_keeps_the_screen_formatting_and_survives_odd_entities() -> None:
    screen = {
        "message_id": 3,
        "date": 0,
        "chat": CHAT,
        "text": "Khảo sát <2026>\nBấm đồng ý",
        "entities": [{"type": "bold", "offset": 0, "length": 15}],
    }
    update = parse(consent_press(screen))
    assert update is not None and update.action == Press(GiveConsent(True, "hn-2026", 70))
    assert update.pressed is not None
    assert update.pressed.html_text == "<b>Khảo sát &lt;2026&gt;</b>\nBấm đồng ý"
    for odd in ([{"type": "bold"}], "bold", [{"type": "bold", "offset": 0, "length": "x"}]):
        odd_update = parse(consent_press({**screen, "entities": odd}))
        assert odd_update is not None and odd_update.pressed is not None
        assert odd_update.pressed.html_text == "Khảo sát &lt;2026&gt;\nBấm đồng ý"  # the text, escaped
