"""Kept question texts and keyboards (bot.telegram.render) give what rendering afresh gives, for each
question of the bundled questionnaire, in both languages, for any response id."""

from __future__ import annotations

import dataclasses

import pytest

from bot.telegram import render
from bot.telegram.callbacks import AnswerCb, BackCb, DoneCb, SkipCb, ToggleCb
from flows import engine
from flows.events import AnswerRecorded, QuestionAsked
from flows.loader import bundled_survey_path, load_survey
from flows.questions import Context, WardOption
from storage.admin_units import units_of_province

SURVEY = load_survey(bundled_survey_path())
HANOI = tuple(WardOption(u.code, u.name) for u in units_of_province(1))
TRIES = ["3", "2", "Tốt", "1"]


def questions(language: str) -> list[QuestionAsked]:
    """Every question a walk through the questionnaire asks (each answered with its first option, or a
    typed answer it accepts)."""
    ctx = Context(language, HANOI)
    step = engine.start(SURVEY, ctx, consented=True)
    asked: list[QuestionAsked] = []
    while isinstance(step.events[-1], QuestionAsked):
        event = step.events[-1]
        asked.append(event)
        inputs: list[engine.Input] = [engine.Answer(event.options[0].value, event.question_id)] if event.options else []
        if event.type == "multi_choice":
            inputs = [engine.Answer(1, event.question_id)]  # the bit mask: the first option
        inputs += [engine.Text(text) for text in TRIES]
        for inp in inputs:
            nxt = engine.advance(SURVEY, step.state, inp, ctx)
            if any(isinstance(e, AnswerRecorded) for e in nxt.events):
                step = nxt
                break
        else:
            raise AssertionError(f"no input accepted for {event.question_id}")
    return asked


def dump(markup: object) -> list[list[dict[str, object]]]:
    return [[b.model_dump(exclude_none=True) for b in row] for row in markup.inline_keyboard]  # type: ignore[attr-defined]


@pytest.mark.parametrize("language", ["vi", "en"])
def test_kept_questions_render_as_fresh_ones(language: str) -> None:
    asked = questions(language)
    assert {"single_choice", "multi_choice", "ward", "likert5"} <= {e.type for e in asked}, {e.type for e in asked}
    for event in asked:
        for response_id in (7, 123_456_789):
            fresh_text = render.render_template("question.html", language, event=event, previous="")
            fresh = render.build_question_keyboard(event, response_id, language)
            for _ in range(2):  # built once, then kept
                kept = render.question(event, response_id, language)
                assert kept.text == fresh_text
                assert kept.markup is not None and dump(kept.markup) == dump(fresh)
            for row in kept.markup.inline_keyboard:
                for button in row:
                    data = button.callback_data or ""
                    cls = {"a": AnswerCb, "b": BackCb, "s": SkipCb, "t": ToggleCb, "d": DoneCb}.get(data[0])
                    if cls is not None:
                        unpacked = cls.unpack(data)
                        assert unpacked.r == response_id and unpacked.q == event.question_id


def test_a_multi_choice_answer_being_changed_is_built_afresh() -> None:
    event = next(e for e in questions("vi") if e.type == "multi_choice")
    values = [str(o.value) for o in event.options]
    again = dataclasses.replace(event, previous=values[:2], has_previous=True)  # a list: not hashable
    kept = render.question(again, 42, "vi", previous_text="x")
    assert dump(kept.markup) == dump(render.build_question_keyboard(again, 42, "vi"))
    assert kept.markup is not None and kept.markup.inline_keyboard[0][0].text.startswith("✓ ")
    chosen = render.question_keyboard(event, 42, "vi", selected=values[1:2])
    assert dump(chosen) == dump(render.build_question_keyboard(event, 42, "vi", selected=values[1:2]))


@pytest.mark.parametrize(("language", "shown"), [("vi", "Đơn vị: lần."), ("en", "Unit: times.")])
def test_a_number_question_shows_its_unit(language: str, shown: str) -> None:
    visits = next(e for e in questions(language) if e.question_id == "visits")
    text = render.question(visits, 1, language).text
    assert visits.hint in text and shown in text, text
    others = [e for e in questions(language) if e.type != "number"]
    assert others and not any(shown in render.question(e, 1, language).text for e in others)
