"""Turning engine events into Telegram messages: Jinja2 templates (HTML, autoescaped, so nothing a
respondent typed can inject markup) and inline keyboards built from `CallbackData` classes."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.telegram.callbacks import (
    AnswerCb,
    BackCb,
    ConsentCb,
    DoneCb,
    PageCb,
    SkipCb,
    ToggleCb,
    mask_of,
)
from bot.telegram.texts import t
from flows.events import QuestionAsked
from flows.questions import Option

WARDS_PER_PAGE = 10
MAX_CANDIDATES = 8
"""Wards a name search offers as buttons; with more matches, the person is asked for more letters."""
MAX_MESSAGE = 4096
MAX_CALLBACK_DATA = 64  # bytes, Telegram's limit


@dataclass(frozen=True)
class Rendered:
    text: str
    markup: InlineKeyboardMarkup | None = None


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
    )
    return env


def render_template(name: str, language: str, **values: Any) -> str:
    template = environment().get_template(name)

    def translate(key: str, **params: Any) -> str:
        return t(key, language, **params)

    text = template.render(t=translate, lang=language, **values).strip()
    return _fit(text)


_TAG = re.compile(r"<[^>]*>")


def _fit(text: str) -> str:
    """Telegram allows 4096 characters after parsing the markup (an escaped "&lt;" counts as one); the
    questionnaire's texts are far shorter, but never fail on it. Cutting HTML could split a tag or an
    entity, so an over-long message loses its formatting and is cut as plain text, then escaped again."""
    if len(text) <= MAX_MESSAGE:
        return text
    plain = html.unescape(_TAG.sub("", text))
    if len(plain) <= MAX_MESSAGE:
        return text
    return html.escape(plain[: MAX_MESSAGE - 1] + "…", quote=False)


def button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)


def _rows(buttons: list[InlineKeyboardButton], labels: list[str]) -> list[list[InlineKeyboardButton]]:
    """Short labels two or three to a row, long ones one per row."""
    longest = max((len(label) for label in labels), default=0)
    per_row = 1 if longest > 18 else 2 if longest > 8 else 3
    if all(label.isdigit() for label in labels):  # a 0-10 rating
        per_row = 6
    return [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]


def question(
    event: QuestionAsked,
    response_id: int,
    language: str,
    previous_text: str = "",
    selected: list[str] | None = None,
    page: int = 0,
) -> Rendered:
    """A question message with its buttons (choices, back, skip)."""
    try:
        text = _question_text(event, language, previous_text)
    except TypeError:  # not hashable (a multi-choice answer being changed is a list): render it afresh
        text = render_template("question.html", language, event=event, previous=previous_text)
    return Rendered(text, question_keyboard(event, response_id, language, selected, page))


# A question looks the same to everyone at the same point of the questionnaire, but for the response id in
# its buttons: its text, and its keyboard made for response 0, are kept (profiling showed building them, a
# Jinja render and a pydantic model per button, as a tenth of the bot's work per answer).


@lru_cache(maxsize=2048)
def _question_text(event: QuestionAsked, language: str, previous_text: str) -> str:
    return render_template("question.html", language, event=event, previous=previous_text)


@lru_cache(maxsize=2048)
def _keyboard_template(
    event: QuestionAsked, language: str, selected: tuple[str, ...] | None, page: int
) -> tuple[tuple[tuple[InlineKeyboardButton, str, str], ...], ...]:
    """The keyboard of response 0: each button, with its data split around the response id."""
    markup = build_question_keyboard(event, 0, language, None if selected is None else list(selected), page)
    rows = []
    for row in markup.inline_keyboard:
        buttons = []
        for b in row:
            prefix, zero, rest = (b.callback_data or "").split(":", 2)
            if zero != "0":
                raise ValueError(f"button data without a response id: {b.callback_data!r}")
            buttons.append((b, prefix, rest))
        rows.append(tuple(buttons))
    return tuple(rows)


def question_keyboard(
    event: QuestionAsked, response_id: int, language: str, selected: list[str] | None = None, page: int = 0
) -> InlineKeyboardMarkup:
    """The question's buttons for this response: copies of the kept buttons of response 0, with this
    response's id in their data (every button of a question has data "prefix:response id:...")."""
    try:
        template = _keyboard_template(event, language, None if selected is None else tuple(selected), page)
    except TypeError:  # not hashable: build it
        return build_question_keyboard(event, response_id, language, selected, page)
    rows = []
    for row in template:
        buttons = []
        for button_, prefix, rest in row:
            packed = f"{prefix}:{response_id}:{rest}"
            if len(packed.encode()) > MAX_CALLBACK_DATA:
                return build_question_keyboard(event, response_id, language, selected, page)  # says what is wrong
            buttons.append(button_.model_copy(update={"callback_data": packed}))
        rows.append(buttons)
    return _NO_BUTTONS.model_copy(update={"inline_keyboard": rows})  # copies: no validation, no defaults


_NO_BUTTONS = InlineKeyboardMarkup(inline_keyboard=[])


def build_question_keyboard(
    event: QuestionAsked, response_id: int, language: str, selected: list[str] | None = None, page: int = 0
) -> InlineKeyboardMarkup:
    r, q = response_id, event.question_id
    rows: list[list[InlineKeyboardButton]] = []
    options = list(event.options)
    if event.type == "multi_choice":
        values = [str(o.value) for o in options]
        chosen = selected if selected is not None else _previous_selection(event)
        mask = mask_of(chosen, values)
        buttons = []
        for i, option in enumerate(options):
            on = bool(mask & (1 << i))
            label = ("✓ " if on else "") + option.label
            buttons.append(button(label, ToggleCb(r=r, q=q, m=mask ^ (1 << i)).pack()))
        rows += _rows(buttons, [o.label for o in options])
        count = bin(mask).count("1")
        rows.append([button(t("done", language, count=count), DoneCb(r=r, q=q, m=mask).pack())])
    elif event.type == "ward":
        pages = max(1, -(-len(options) // WARDS_PER_PAGE))
        page = min(max(page, 0), pages - 1)
        shown = options[page * WARDS_PER_PAGE : (page + 1) * WARDS_PER_PAGE]
        buttons = [button(o.label, AnswerCb(r=r, q=q, v=str(o.value)).pack()) for o in shown]
        rows += [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        if pages > 1:
            nav = []
            if page > 0:
                nav.append(button(t("prev_page", language), PageCb(r=r, q=q, page=page - 1).pack()))
            nav.append(button(t("page", language, page=page + 1, pages=pages), PageCb(r=r, q=q, page=page).pack()))
            if page < pages - 1:
                nav.append(button(t("next_page", language), PageCb(r=r, q=q, page=page + 1).pack()))
            rows.append(nav)
    elif options:
        buttons = [button(o.label, AnswerCb(r=r, q=q, v=str(o.value)).pack()) for o in options]
        rows += _rows(buttons, [o.label for o in options])
    nav_row = []
    if event.can_go_back:
        nav_row.append(button(t("back", language), BackCb(r=r, q=q).pack()))
    if not event.required:
        nav_row.append(button(t("skip", language), SkipCb(r=r, q=q).pack()))
    if nav_row:
        rows.append(nav_row)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _previous_selection(event: QuestionAsked) -> list[str]:
    if event.has_previous and isinstance(event.previous, list):
        return [str(v) for v in event.previous]
    return []


def candidates_keyboard(options: tuple[Option, ...], response_id: int, question_id: str) -> InlineKeyboardMarkup:
    buttons = [button(o.label, AnswerCb(r=response_id, q=question_id, v=str(o.value)).pack()) for o in options]
    return InlineKeyboardMarkup(inline_keyboard=[buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def answered(progress: str, label: str, answer: str, language: str, skipped: bool = False) -> str:
    return render_template("answered.html", language, progress=progress, label=label, answer=answer, skipped=skipped)


def left(progress: str, label: str, note: str, language: str) -> str:
    return render_template("left.html", language, progress=progress, label=label, note=note)


def consent(
    text: str,
    title: str,
    intro: str,
    campaign_code: str,
    campaign_title: str | None,
    ward: int | None,
    language: str,
) -> Rendered:
    body = render_template(
        "consent.html", language, title=title, intro=intro, consent=text, campaign_title=campaign_title
    )
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(t("agree", language), ConsentCb(agree=True, code=campaign_code, ward=ward).pack()),
                button(t("decline", language), ConsentCb(agree=False, code=campaign_code, ward=ward).pack()),
            ]
        ]
    )
    return Rendered(body, markup)
