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
from flows.i18n import Section
from flows.questions import Context, Option
from flows.schema import Survey

MAX_LISTED = 12  # longer option lists (wards) are searched by typing instead of listed
TYPED_REASONS = ("no_match", "choose", "choose_ward")
"""Reasons the preview words its own way (the engine's texts speak of buttons or of a choice to tap)."""

t = Section("preview")


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
    lang = ctx.language
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
                say(f"  1. {t('agree', lang)}")
                say(f"  2. {t('decline', lang)}")
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
                    say("  " + t("previous", lang, value=shown))
                if event.options and len(event.options) <= MAX_LISTED:
                    for i, option in enumerate(event.options, 1):
                        say(f"  {i}. {option.label}")
                elif event.options:
                    say("  " + t("search", lang, count=len(event.options)))
                keys = t("multi", lang) if event.type == "multi_choice" else t("keys", lang)
                if not event.options:
                    keys = t("typed_keys", lang)
                if not event.required:
                    keys += t("skip", lang)
                say(f"  [{keys}]")
            elif isinstance(event, AnswerRejected):
                # the terminal has no buttons: reasons that speak of pressing one are said for typing
                reason = event.reason if event.reason in TYPED_REASONS else None
                say(f"  ! {t(reason, lang, **event.params) if reason else event.text}")
                if event.candidates:
                    candidates = event.candidates[:MAX_LISTED]  # more than that: narrow it down by typing
                    for i, option in enumerate(candidates, 1):
                        say(f"  {i}. {option.label}")
                    if len(event.candidates) > MAX_LISTED:
                        say(f"  … {t('more_letters', lang, count=len(event.candidates) - MAX_LISTED)}")
            elif isinstance(event, InputIgnored):
                say(f"  ! {event.text}")
            elif isinstance(event, ConsentDeclined):
                say(t("declined", lang))
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
                say(f"  ! {t('consent_again', lang)}")
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
            say(t("summary", lang))
            for qid, value in state.answers:
                say(f"  {qid}: {engine.display_answer(survey, qid, value, ctx)}")
            return 0
    say(t("eof", lang, question=current.question_id if current else "consent"))
    return 1
