"""Shows an `Outcome` of the conversation service in a Telegram chat.

The chat reads as a clean record: each question is one message; once answered it is edited to show the
answer without buttons; a question left with "back" loses its buttons too. The Presenter talks to Telegram
through a small `Sender` protocol, which aiogram's `Bot` and the webhook lane's `LeanBot` both satisfy.
"""

from __future__ import annotations

import asyncio
import html
import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol, assert_never
from zoneinfo import ZoneInfo

import aiohttp
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, MessageEntity
from aiogram.utils.text_decorations import html_decoration

from bot.context import AppContext, choice_labels
from bot.telegram import render
from bot.telegram.callbacks import CampaignCb, InviteCb
from bot.telegram.texts import t
from flows import engine
from flows.conversation import Outcome, OutcomeKind
from flows.events import (
    AnswerRecorded,
    AnswerRejected,
    AnswerRemoved,
    ConsentDeclined,
    ConsentRequested,
    InputIgnored,
    QuestionAsked,
    SurveyCompleted,
)

log = logging.getLogger(__name__)


class HasMessageId(Protocol):
    @property
    def message_id(self) -> int: ...


class Sender(Protocol):
    """The Bot API calls the Presenter makes (aiogram's `Bot`; `bot.telegram.fastlane.LeanBot`)."""

    async def send_message(
        self, chat_id: int | str, text: str, *, reply_markup: Any = None
    ) -> HasMessageId: ...

    async def edit_message_text(self, text: str, *, chat_id: int | str, message_id: int) -> Any: ...

    async def edit_message_reply_markup(
        self, *, chat_id: int | str, message_id: int, reply_markup: Any = None
    ) -> Any: ...


@dataclass(frozen=True)
class Pressed:
    """The message whose button was pressed: its id, and its text and entities as Telegram sent them; its
    HTML (`html_text`) is worked out only when asked for (only a consent screen or a step back shows it)."""

    message_id: int
    text: str | None = None
    entities: Any = field(default=None, hash=False)

    @cached_property
    def html_text(self) -> str:
        """Its text with its formatting as HTML ("" when it has no text)."""
        return html_of(self.text, self.entities)

    @classmethod
    def of(cls, callback: CallbackQuery) -> Pressed | None:
        message = callback.message
        if message is None:
            return None
        if not isinstance(message, Message):  # an InaccessibleMessage: no text
            return cls(message.message_id)
        return cls(message.message_id, message.text, message.entities)


def html_of(text: Any, entities: Any) -> str:
    """A message's text with its formatting as HTML, as aiogram's `Message.html_text`, from the text and the
    entities (dicts as Telegram sends them, or aiogram's models); "" without a text."""
    if not isinstance(text, str) or not text:
        return ""
    try:
        parsed = [MessageEntity.model_validate(e) for e in entities or ()]
        return html_decoration.unparse(text, parsed)
    except (TypeError, ValueError, IndexError):  # not what Telegram sends: the text without its formatting
        return html.escape(text, quote=False)


class Presenter:
    def __init__(
        self,
        bot: Sender,
        app: AppContext,
        chat_id: int,
        pressed: Pressed | None = None,
        source_message_id: int | None = None,
    ) -> None:
        self.bot = bot
        self.app = app
        self.chat_id = chat_id
        self.pressed = pressed
        """The message whose button was pressed, if a button was."""
        self.source_message_id = source_message_id
        """The person's message being answered (a typed answer), if any."""
        self.toast: str | None = None
        """A short text for the callback answer (the caller answers the callback exactly once)."""

    # --- sending, tolerant of messages that are gone or unchanged -----------------------------------

    async def send(self, text: str, markup: InlineKeyboardMarkup | None = None) -> HasMessageId | None:
        try:
            return await self.bot.send_message(self.chat_id, text, reply_markup=markup)
        except TelegramForbiddenError:
            await self.app.service.mark_unreachable("telegram", str(self.chat_id))
            return None

    async def edit(self, message_id: int | None, text: str | None = None) -> None:
        """Replace a message's text (and drop its buttons); a message already gone or unchanged is fine."""
        if message_id is None:
            return
        try:
            if text is None:
                await self.bot.edit_message_reply_markup(chat_id=self.chat_id, message_id=message_id)
            else:
                await self.bot.edit_message_text(text, chat_id=self.chat_id, message_id=message_id)
        except TelegramBadRequest as e:
            log.debug("edit of message %s in chat %s skipped: %s", message_id, self.chat_id, e.message)
        except TelegramForbiddenError:
            await self.app.service.mark_unreachable("telegram", str(self.chat_id))

    async def clear_pressed(self) -> None:
        """The pressed message loses its buttons (its choice is made)."""
        if self.pressed is not None:
            await self.edit(self.pressed.message_id)

    # --- outcomes ------------------------------------------------------------------------------------

    def _shown_already(self, outcome: Outcome) -> bool:
        """A repeated update whose reply was shown: a message newer than the one answered shows where the
        person is (the next question or the thank-you, as its prompt). If the reply was lost (a crash between
        the commit and the reply), it is shown now, once."""
        after = self.pressed.message_id if self.pressed is not None else self.source_message_id
        shown = outcome.prompt_message_id
        return after is not None and shown is not None and shown > after

    async def show(self, outcome: Outcome) -> None:
        if outcome.duplicate and self._shown_already(outcome):
            return
        lang = outcome.language
        title = html.escape(outcome.campaign_title or "")
        match outcome.kind:
            case OutcomeKind.EVENTS | OutcomeKind.NO_RESPONSE:
                pass
            case OutcomeKind.CONSENT_KEPT:
                await self.clear_pressed()  # the old consent screen loses its buttons
                await self.send(t(outcome.kind.value, lang, title=title))
                return
            case (
                OutcomeKind.NO_CAMPAIGN
                | OutcomeKind.UNKNOWN_CAMPAIGN
                | OutcomeKind.CAMPAIGN_CLOSED
                | OutcomeKind.CAMPAIGN_NOT_STARTED
                | OutcomeKind.ALREADY_COMPLETED
                | OutcomeKind.DELETED
                | OutcomeKind.NOTHING_TO_RESTART
                | OutcomeKind.PAUSED
                | OutcomeKind.NOTHING_TO_PAUSE
            ):
                await self.send(t(outcome.kind.value, lang, title=title))
                return
            case OutcomeKind.CHOOSE_CAMPAIGN:
                labels = choice_labels(outcome.campaigns, lang, ZoneInfo(self.app.settings.tz))
                rows = [[render.button(label, CampaignCb(code=c.code).pack())] for c, label in labels]
                markup = InlineKeyboardMarkup(inline_keyboard=rows)
                await self.send(t("choose_campaign", lang, count=len(outcome.campaigns)), markup)
                return
            case OutcomeKind.DECLINED:
                await self.clear_pressed()
                await self.send(t("declined", lang))
                return
            case OutcomeKind.LANGUAGE_SET:
                await self.send(t("language_set", lang))
            case OutcomeKind.OTHER_UNDER_WAY:
                await self.send(t("other_under_way", lang, title=title))
            case OutcomeKind.INVITATIONS_SET:
                return  # the button's handler says so
            case _:
                assert_never(outcome.kind)
        if outcome.duplicate and not outcome.events:
            return
        await self.show_events(outcome)

    async def show_events(self, outcome: Outcome) -> None:
        """The events, in order; an answered question's message is edited while the next one is sent (they
        do not depend on each other: one Telegram round trip per answer instead of two before the person
        sees the next question and the update is acknowledged)."""
        edits: list[asyncio.Task[None]] = []
        try:
            await self._show_events(outcome, edits)
        finally:
            for result in await asyncio.gather(*edits, return_exceptions=True):
                # only how an answered question looks (refusals are taken by edit()): failing the update for
                # it would have Telegram send it again and the next question shown twice
                if isinstance(result, TelegramAPIError | aiohttp.ClientError | TimeoutError):
                    log.info("answered question in chat %s not edited: %r", self.chat_id, result)
                elif isinstance(result, Exception):
                    log.warning("answered question in chat %s not edited", self.chat_id, exc_info=result)

    async def _show_events(self, outcome: Outcome, edits: list[asyncio.Task[None]]) -> None:
        lang = outcome.language
        pressed = self.pressed
        prompt_id = pressed.message_id if pressed is not None else outcome.prompt_message_id
        for event in outcome.events:
            if isinstance(event, ConsentRequested):
                assert outcome.survey is not None and outcome.campaign_code is not None
                survey = outcome.survey
                rendered = render.consent(
                    event.text,
                    survey.text(survey.title, lang),
                    survey.text(survey.intro, lang),
                    outcome.campaign_code,
                    outcome.campaign_title,
                    outcome.ward_code,
                    lang,
                )
                await self.send(rendered.text, rendered.markup)
            elif isinstance(event, ConsentDeclined):
                await self.send(t("declined", lang))
            elif isinstance(event, AnswerRecorded):
                text = render.answered(event.progress_text, event.label, event.display, lang, event.value is None)
                edits.append(asyncio.create_task(self.edit(prompt_id, text)))
                shown = outcome.prompt_message_id
                if pressed is not None and shown is not None and prompt_id is not None and shown > prompt_id:
                    # answered on an older copy: the newer one loses its buttons too
                    edits.append(asyncio.create_task(self.edit(shown)))
                prompt_id = None
            elif isinstance(event, AnswerRemoved):
                if prompt_id is not None and pressed is not None:
                    note = f"\n<i>{t('went_back', lang)}</i>"
                    await self.edit(prompt_id, (pressed.html_text + note) if pressed.html_text else None)
                    prompt_id = None
            elif isinstance(event, AnswerRejected):
                markup = None
                text = event.text
                if len(event.candidates) > render.MAX_CANDIDATES:  # too many to pick from: narrow it down
                    text = f"{text}\n{t('more_letters', lang)}"
                elif event.candidates and outcome.response_id is not None:
                    markup = render.candidates_keyboard(event.candidates, outcome.response_id, event.question_id)
                if pressed is not None and not event.candidates:
                    self.toast = event.text
                await self.send(html.escape(text), markup)  # it may quote what was typed
                if self._question_out_of_sight(outcome) and outcome.survey is not None and outcome.ctx is not None:
                    # they came back after a while (or the question was put away): show it again
                    step = engine.resume(outcome.survey, outcome.state(), outcome.ctx)
                    for again in step.events:
                        if isinstance(again, QuestionAsked):
                            await self.edit(prompt_id)  # one copy with buttons: the new one
                            prompt_id = None
                            await self.ask(outcome, again)
            elif isinstance(event, InputIgnored):
                if pressed is not None:
                    self.toast = event.text
                else:
                    await self.send(html.escape(event.text))
            elif isinstance(event, QuestionAsked):
                if pressed is None and prompt_id is not None:
                    # shown again (/start, /lang, a return after days): the old copy loses its buttons
                    await self.edit(prompt_id)
                    prompt_id = None
                await self.ask(outcome, event)
            elif isinstance(event, SurveyCompleted):
                invite = InlineKeyboardMarkup(
                    inline_keyboard=[
                        [
                            render.button(t("invite_yes", lang), InviteCb(yes=True).pack()),
                            render.button(t("invite_no", lang), InviteCb(yes=False).pack()),
                        ]
                    ]
                )
                thanks = render.render_template("completed.html", lang, text=event.text)
                sent = await self.send(f"{thanks}\n\n{t('invite_question', lang)}", invite)
                if outcome.response_id is not None:  # (a repeated last answer sees the thank-you was shown)
                    await self.app.service.set_prompt(outcome.response_id, None if sent is None else sent.message_id)

    def _question_out_of_sight(self, outcome: Outcome) -> bool:
        """A typed answer that is not right under its question: the question is not on the person's screen."""
        if self.pressed is not None or self.source_message_id is None:
            return False
        prompt = outcome.prompt_message_id
        return prompt is None or self.source_message_id - prompt > 1

    async def ask(self, outcome: Outcome, event: QuestionAsked) -> None:
        assert outcome.response_id is not None
        previous = ""
        if event.has_previous and outcome.survey is not None and outcome.ctx is not None:
            previous = engine.display_answer(outcome.survey, event.question_id, event.previous, outcome.ctx)
        rendered = render.question(event, outcome.response_id, outcome.language, previous)
        sent = await self.send(rendered.text, rendered.markup)
        if sent is not None:
            await self.app.service.set_prompt(outcome.response_id, sent.message_id)


async def answer_callback(callback: CallbackQuery, text: str | None = None, **kwargs: Any) -> None:
    """Answer a callback query (stops the button's spinner); an expired query is not an error."""
    try:
        await callback.answer(text, **kwargs)
    except TelegramBadRequest as e:
        log.debug("callback %s not answered: %s", callback.id, e.message)
