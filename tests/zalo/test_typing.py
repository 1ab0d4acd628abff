"""How typed messages are read: commands with or without the slash, numbers for options."""

from __future__ import annotations

import pytest

from bot.zalo.citizens import Command, answer_by_numbers, command_of, start_action
from flows import engine
from flows.conversation import Start
from flows.events import QuestionAsked
from flows.questions import Option


@pytest.mark.parametrize(
    ("text", "command", "args"),
    [
        ("/start", Command.START, ""),
        ("Bắt đầu", Command.START, ""),
        ("start hn-2026_70", Command.START, "hn-2026_70"),
        ("/start hn-2026_70", Command.START, "hn-2026_70"),
        ("bắt đầu hn-2026_70", Command.START, "hn-2026_70"),
        ("tiep tuc", Command.CONTINUE, ""),
        ("TRỢ GIÚP", Command.HELP, ""),
        ("/lang en", Command.LANG, "en"),
        ("ngôn ngữ english", Command.LANG, "english"),
        ("/delete_my_data", Command.DELETE, ""),
        ("xóa dữ liệu", Command.DELETE, ""),
        ("Xác nhận xoá", Command.CONFIRM_DELETE, ""),
        ("làm lại", Command.RESTART, ""),
        ("/cancel", Command.CANCEL, ""),
        ("tạm dừng", Command.CANCEL, ""),
        ("mời tôi", Command.INVITE_ON, ""),
        ("hoàn kiếm", None, ""),
        ("1 3 5", None, ""),
        ("khởi động lại nhà văn hoá", None, ""),
    ],
)
def test_commands_are_words_with_or_without_the_slash(text: str, command: Command | None, args: str) -> None:
    assert command_of(text) == (command, args)


def test_a_code_is_read_as_a_deep_link() -> None:
    assert start_action("hn-2026_70") == Start("hn-2026", 70)
    assert start_action("hn-2026") == Start("hn-2026", None)
    assert start_action("") == Start()


def question(kind: str, options: tuple[Option, ...], max_selections: int = 1) -> QuestionAsked:
    return QuestionAsked("q", kind, 1, 5, "Q?", options=options, max_selections=max_selections)


def test_numbers_pick_the_numbered_options() -> None:
    single = question("single_choice", (Option("b", "B"), Option("a", "A")))
    assert answer_by_numbers(single, "2") == engine.Answer("a", "q")
    assert answer_by_numbers(single, "3") is None  # the engine says why
    assert answer_by_numbers(single, "1 2") is None
    many = question("multi_choice", tuple(Option(v, v.upper()) for v in "abcde"), 3)
    assert answer_by_numbers(many, "1 3 5") == engine.Answer(["a", "c", "e"], "q")
    assert answer_by_numbers(many, "1,3, 5") == engine.Answer(["a", "c", "e"], "q")
    assert answer_by_numbers(many, "waste") is None
    likert = question("likert5", (Option(5, "Five"), Option(4, "Four")))
    assert answer_by_numbers(likert, "1") == engine.Answer(5, "q")  # the position shown, not the value
    rating = question("rating", tuple(Option(i, str(i)) for i in range(11)))
    assert answer_by_numbers(rating, "0") is None  # a rating's number is its value (the engine reads it)


def test_what_a_chat_remembers_reads_back_and_an_unreadable_shape_is_forgotten() -> None:
    from bot.zalo.memory import PendingConsent, Remembered, WardList
    from flows.questions import Option

    wards = WardList(7, "ward", (Option(70, "Phường Hoàn Kiếm"), Option(235, "Phường Đống Đa")), 1, "phuong")
    full = Remembered(PendingConsent("hn-2026", 70), wards, "restart")
    assert Remembered.from_data(full.to_data()) == full
    assert Remembered.from_data(Remembered().to_data()) == Remembered() and Remembered().to_data() == {}
    garbage = {"consent": {"campaign": 5}, "wards": {"options": "x"}, "confirm": "format c:"}
    assert Remembered.from_data(garbage) == Remembered()
    assert full.wards_of(7, "ward") == wards and full.wards_of(8, "ward") is None
