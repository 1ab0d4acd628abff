"""`khaosat survey preview`: walk a questionnaire in the terminal with the real engine.

Works interactively and with answers piped on stdin (each line is one input), so a walk can be scripted:
numbered choices, `<` to go back, `-` to skip an optional question.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TextIO

from flows import engine
from flows.events import (
    AnswerRejected,
    ConsentDeclined,
    ConsentRequested,
    Event,
    InputIgnored,
    QuestionAsked,
    SurveyCompleted,
)
from flows.questions import Context, Option
from flows.schema import Survey

MAX_LISTED = 12  # longer option lists (wards) are searched by typing instead of listed

TEXTS = {
    "vi": {
        "agree": "Đồng ý",
        "decline": "Không đồng ý",
        "declined": "Bạn đã từ chối tham gia. Không có dữ liệu nào được lưu.",
        "keys": "Gõ số thứ tự hoặc nội dung; “<” để quay lại",
        "skip": "; “-” để bỏ qua",
        "multi": "Gõ các số thứ tự, cách nhau bằng dấu phẩy (ví dụ 1,3)",
        "search": "Gõ một phần tên để tìm ({count} lựa chọn)",
        "typed": "Gõ câu trả lời",
        "previous": "Câu trả lời trước: {value}",
        "eof": "Hết dữ liệu vào trước khi hoàn thành khảo sát (đang ở câu “{question}”).",
        "summary": "Câu trả lời của bạn:",
        "consent_again": "Hãy gõ 1 (Đồng ý) hoặc 2 (Không đồng ý).",
    },
    "en": {
        "agree": "I agree",
        "decline": "I decline",
        "declined": "You declined to take part. Nothing was kept.",
        "keys": "Type a number or the answer; “<” to go back",
        "skip": "; “-” to skip",
        "multi": "Type the numbers separated by commas (e.g. 1,3)",
        "search": "Type part of the name to search ({count} options)",
        "typed": "Type your answer",
        "previous": "Previous answer: {value}",
        "eof": "Input ended before the survey was complete (at question “{question}”).",
        "summary": "Your answers:",
        "consent_again": "Please type 1 (I agree) or 2 (I decline).",
    },
}


def _lines(stream: TextIO, out: TextIO, echo: bool) -> Iterator[str]:
    while True:
        out.write("> ")
        out.flush()
        line = stream.readline()
        if not line:
            out.write("\n")
            return
        line = line.rstrip("\r\n")
        if echo:
            out.write(line + "\n")
        yield line


def run_preview(survey: Survey, ctx: Context, stdin: TextIO | None = None, out: TextIO | None = None) -> int:
    """Walk the survey; returns 0 when completed or declined, 1 when input ran out first."""
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    t = TEXTS.get(ctx.language, TEXTS["en"])
    echo = not stdin.isatty()

    def say(text: str = "") -> None:
        out.write(text + "\n")

    say(f"{survey.text(survey.title, ctx.language)} ({survey.id} v{survey.version})")
    if survey.intro:
        say(survey.text(survey.intro, ctx.language))
    say()

    step = engine.start(survey, ctx)
    candidates: tuple[Option, ...] = ()
    current: QuestionAsked | None = None
    inputs = _lines(stdin, out, echo)

    def render(events: tuple[Event, ...]) -> None:
        nonlocal current, candidates
        for event in events:
            if isinstance(event, ConsentRequested):
                say(event.text)
                say(f"  1. {t['agree']}")
                say(f"  2. {t['decline']}")
            elif isinstance(event, QuestionAsked):
                current = event
                candidates = ()
                say()
                say(f"{event.progress_text} · {event.label}")
                if event.help:
                    say(f"  ({event.help})")
                if event.hint:
                    say(f"  {event.hint}" + (f" ({event.unit})" if event.unit else ""))
                if event.has_previous:
                    shown = engine.display_answer(survey, event.question_id, event.previous, ctx)
                    say("  " + t["previous"].format(value=shown))
                if event.options and len(event.options) <= MAX_LISTED:
                    for i, option in enumerate(event.options, 1):
                        say(f"  {i}. {option.label}")
                elif event.options:
                    say("  " + t["search"].format(count=len(event.options)))
                keys = t["multi"] if event.type == "multi_choice" else t["keys"]
                if not event.options:
                    keys = t["typed"] + "; “<”" if ctx.language == "en" else t["typed"] + "; “<” để quay lại"
                if not event.required:
                    keys += t["skip"]
                say(f"  [{keys}]")
            elif isinstance(event, AnswerRejected):
                say(f"  ! {event.text}")
                if event.candidates:
                    candidates = event.candidates
                    for i, option in enumerate(candidates, 1):
                        say(f"  {i}. {option.label}")
            elif isinstance(event, InputIgnored):
                say(f"  ! {event.text}")
            elif isinstance(event, ConsentDeclined):
                say(t["declined"])
            elif isinstance(event, SurveyCompleted):
                say()
                say(event.text)

    render(step.events)
    state = step.state
    for line in inputs:
        text = line.strip()
        inp: engine.Input
        if not state.consented:
            key = text.casefold()
            agree = key in ("1", "y", "yes", "c", "co", "có", "đồng ý", "dong y", "agree")
            decline = key in ("2", "n", "no", "k", "khong", "không", "decline")
            if not (agree or decline):
                say(f"  ! {t['consent_again']}")
                continue
            inp = engine.Consent(agree)
        elif text == "<":
            inp = engine.Back()
        elif text == "-":
            inp = engine.Skip()
        elif candidates and text.isdigit() and 1 <= int(text) <= len(candidates):
            inp = engine.Answer(candidates[int(text) - 1].value)
        else:
            inp = engine.Text(line)
        step = engine.advance(survey, state, inp, ctx)
        state = step.state
        render(step.events)
        if any(isinstance(e, ConsentDeclined) for e in step.events):
            return 0
        if step.completed:
            say()
            say(t["summary"])
            for qid, value in state.answers:
                say(f"  {qid}: {engine.display_answer(survey, qid, value, ctx)}")
            return 0
    say(t["eof"].format(question=current.question_id if current else "consent"))
    return 1
