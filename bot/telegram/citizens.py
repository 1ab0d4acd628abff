"""The citizen's conversation in a private chat: thin handlers that unpack a button or a text, call the
conversation service, and show its outcome."""

from __future__ import annotations

import logging
from contextlib import suppress

import aiohttp
from aiogram import Bot, F, Router
from aiogram.enums import ChatType, ContentType
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.methods import AnswerCallbackQuery
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, Update, User

from bot.context import AppContext
from bot.telegram import render
from bot.telegram.callbacks import ConfirmCb, LangCb, ToggleCb, selected_of
from bot.telegram.filters import Magic
from bot.telegram.presenter import Presenter, Pressed, Sender, answer_callback
from bot.telegram.routes import Confirm, Page, Press, Routed, Setting, Toggle
from bot.telegram.texts import t
from flows import engine
from flows.conversation import (
    DeleteMyData,
    GiveConsent,
    Outcome,
    OutcomeKind,
    Pause,
    Reply,
    Restart,
    SetInvitations,
    Start,
    Who,
)
from flows.events import QuestionAsked
from reports.links import parse_start_payload

MAX_TYPED = 1000  # longer texts get a polite explanation (a text question's own limit is checked by the engine)

log = logging.getLogger(__name__)


def who(user: User, chat_id: int) -> Who:
    return person(user.id, user.language_code, chat_id)


def person(user_id: int, language_code: str | None, chat_id: int) -> Who:
    """A Telegram user in a private chat, for the conversation service (English if their app is)."""
    language = "en" if (language_code or "").lower().startswith("en") else "vi"
    return Who("telegram", str(user_id), address=str(chat_id), language=language)


def _in_progress(view: Outcome) -> bool:
    """The person has a questionnaire under way (what /restart and /cancel act on)."""
    return view.kind is OutcomeKind.EVENTS and view.response_id is not None


async def typed_answer(
    bot: Sender, app: AppContext, person: Who, chat_id: int, message_id: int, text: str, update_id: int
) -> None:
    """A typed message in a private chat: an answer to the current question (or a polite refusal)."""
    if len(text) > MAX_TYPED:
        view = await app.service.view(person)
        current = view.events[-1] if view.events else None
        if not (isinstance(current, QuestionAsked) and current.type == "text"):
            await bot.send_message(chat_id, t("too_long", view.language, length=len(text)))
            return
    outcome = await app.service.handle(person, Reply(engine.Text(text)), update_id)
    await Presenter(bot, app, chat_id, source_message_id=message_id).show(outcome)


def start_action(args: str | None) -> Start:
    """/start, or /start with a deep link's payload (one that is not ours names no campaign we have: the
    person is told the link is not valid)."""
    if not args or not args.strip():
        return Start()
    parsed = parse_start_payload(args)
    return Start(parsed[0], parsed[1]) if parsed else Start(args.strip()[:64])


async def start_command(bot: Sender, app: AppContext, person: Who, chat_id: int, action: Start, update_id: int) -> None:
    outcome = await app.service.handle(person, action, update_id)
    await Presenter(bot, app, chat_id).show(outcome)


async def toggle(
    bot: Sender, app: AppContext, person: Who, chat_id: int, message_id: int, data: ToggleCb
) -> str | None:
    """Multi-choice: re-draw the buttons with the new selection (nothing is stored until "Done").
    Returns the callback's answer text, if any."""
    view = await app.service.button_view(person, data.r)
    current = view.events[-1] if view.events else None
    if not isinstance(current, QuestionAsked) or current.question_id != data.q or view.response_id != data.r:
        return t("already_answered", view.language)
    values = [str(o.value) for o in current.options]
    chosen = selected_of(data.m, values)
    if len(chosen) > current.max_selections:
        return t("max_selected", view.language, max=current.max_selections)
    markup = render.question_keyboard(current, data.r, view.language, selected=chosen)
    with suppress(TelegramBadRequest):  # a double tap: "message is not modified"
        await bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id, reply_markup=markup)
    return None


async def press(presenter: Presenter, app: AppContext, person: Who, route: Press, update_id: int) -> str | None:
    """A button the service applies (`presenter.pressed`): apply it and show the outcome. Returns the text
    for the callback's answer, which the caller sends (also when this raises: `presenter.toast`)."""
    if route.clears_source:
        await presenter.clear_pressed()
    action = route.action
    outcome = await app.service.handle(person, action, update_id)
    agreed = isinstance(action, GiveConsent) and action.agree
    if agreed and outcome.resumed and outcome.prompt_message_id is not None:
        # a second tap on "agree": the question is already on screen
        await _note_consent(presenter, outcome)
        return t("consent_given", outcome.language)
    await presenter.show(outcome)
    if agreed:  # after the first question is on its way: the consent screen above says it was given
        await _note_consent(presenter, outcome)
    return presenter.toast


async def _note_consent(presenter: Presenter, outcome: Outcome) -> None:
    """The consent screen, once "agree" is stored, says so (in the person's language) and loses its
    buttons; if nothing could begin (the campaign closed meanwhile, say), it only loses its buttons."""
    pressed = presenter.pressed
    if pressed is None:
        return
    text = None
    original = pressed.html_text
    if outcome.kind is OutcomeKind.EVENTS and original:  # (no text to keep: it only loses its buttons)
        for shown in ("vi", "en"):  # "press I agree to begin" has been done: it goes
            original = original.removesuffix(f"\n\n<i>{t('consent_press', shown)}</i>")
        text = f"{original}\n\n<b>{t('consent_given', outcome.language)}</b>"
    try:
        await presenter.edit(pressed.message_id, text)
    except (TelegramAPIError, aiohttp.ClientError, TimeoutError) as e:
        # only how the screen above looks: failing the update for it would have Telegram send it again
        # and the first question shown twice
        log.info("consent screen %s in chat %s not marked: %r", pressed.message_id, presenter.chat_id, e)


def setup() -> Router:
    router = Router(name="citizens")
    # no sender: not a person, ignore
    router.message.filter(Magic(F.chat.type == ChatType.PRIVATE), Magic(F.from_user))
    router.callback_query.filter(Magic(F.message.chat.type == ChatType.PRIVATE))

    # --- commands ------------------------------------------------------------------------------------

    @router.message(CommandStart())
    async def start(message: Message, command: CommandObject, bot: Bot, app: AppContext, event_update: Update) -> None:
        assert message.from_user is not None
        person = who(message.from_user, message.chat.id)
        await start_command(bot, app, person, message.chat.id, start_action(command.args), event_update.update_id)

    @router.message(Command("help"))
    async def help_(message: Message, app: AppContext) -> None:
        assert message.from_user is not None
        view = await app.service.view(who(message.from_user, message.chat.id))
        await message.answer(render.render_template("help.html", view.language))

    @router.message(Command("lang"))
    async def lang(message: Message, app: AppContext) -> None:
        assert message.from_user is not None
        view = await app.service.view(who(message.from_user, message.chat.id))
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    render.button(t("lang_vi", view.language), LangCb(lang="vi").pack()),
                    render.button(t("lang_en", view.language), LangCb(lang="en").pack()),
                ]
            ]
        )
        await message.answer(t("choose_language", view.language), reply_markup=markup)

    @router.message(Command("restart"))
    async def restart(message: Message, app: AppContext) -> None:
        assert message.from_user is not None
        view = await app.service.view(who(message.from_user, message.chat.id))
        if not _in_progress(view):  # nothing to clear: no question that would only lead nowhere
            await message.answer(t("nothing_to_restart", view.language))
            return
        await confirm(message, app, "restart", "confirm_restart", "yes_restart")

    @router.message(Command("delete_my_data"))
    async def delete_my_data(message: Message, app: AppContext) -> None:
        await confirm(message, app, "delete", "confirm_delete", "yes_delete")

    @router.message(Command("cancel"))
    async def cancel(message: Message, bot: Bot, app: AppContext, event_update: Update) -> None:
        """Pause: nothing typed counts until the person resumes (the question keeps its buttons: pressing
        one resumes)."""
        assert message.from_user is not None
        outcome = await app.service.handle(who(message.from_user, message.chat.id), Pause(), event_update.update_id)
        await Presenter(bot, app, message.chat.id).show(outcome)

    async def confirm(message: Message, app: AppContext, action: str, question: str, yes: str) -> None:
        assert message.from_user is not None
        view = await app.service.view(who(message.from_user, message.chat.id))
        lang = view.language
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    render.button(t(yes, lang), ConfirmCb(action=action, yes=True).pack()),
                    render.button(t("no_keep", lang), ConfirmCb(action=action, yes=False).pack()),
                ]
            ]
        )
        await message.answer(t(question, lang), reply_markup=markup)

    @router.message(Magic(F.text.startswith("/")))
    async def unknown_command(message: Message, app: AppContext) -> None:
        assert message.from_user is not None and message.text is not None
        view = await app.service.view(who(message.from_user, message.chat.id))
        command = message.text.split()[0][:64]
        await message.answer(t("unknown_command", view.language, command=command), parse_mode=None)

    # --- typed answers and anything else -----------------------------------------------------------

    @router.message(Magic(F.content_type == ContentType.TEXT))
    async def text(message: Message, bot: Bot, app: AppContext, event_update: Update) -> None:
        assert message.from_user is not None and message.text is not None
        person = who(message.from_user, message.chat.id)
        await typed_answer(bot, app, person, message.chat.id, message.message_id, message.text, event_update.update_id)

    @router.message()
    async def not_text(message: Message, app: AppContext) -> None:
        if message.from_user is None:
            return
        view = await app.service.view(who(message.from_user, message.chat.id))
        await message.answer(t("not_text", view.language))

    # --- buttons: what each one means is in bot.telegram.routes -------------------------------------

    @router.callback_query(Routed(Press))
    async def on_press(
        callback: CallbackQuery, route: Press, bot: Bot, app: AppContext, event_update: Update
    ) -> AnswerCallbackQuery:
        """Apply a button press, show the outcome, and return the callback's answer for the transport to
        send (in the webhook's response body: one request fewer per answer)."""
        assert callback.message is not None
        chat_id = callback.message.chat.id
        presenter = Presenter(bot, app, chat_id, Pressed.of(callback))
        try:
            toast = await press(presenter, app, who(callback.from_user, chat_id), route, event_update.update_id)
        except Exception:
            await answer_callback(callback, presenter.toast)  # no endless spinner, even when the update comes again
            raise
        return callback.answer(toast)

    @router.callback_query(Routed(Toggle))
    async def on_toggle(callback: CallbackQuery, route: Toggle, bot: Bot, app: AppContext) -> AnswerCallbackQuery:
        assert callback.message is not None
        chat_id = callback.message.chat.id
        try:
            toast = await toggle(
                bot, app, who(callback.from_user, chat_id), chat_id, callback.message.message_id, route.data
            )
        except Exception:
            await answer_callback(callback)
            raise
        return callback.answer(toast)

    @router.callback_query(Routed(Page))
    async def on_page(callback: CallbackQuery, route: Page, bot: Bot, app: AppContext) -> None:
        assert callback.message is not None
        data = route.data
        view = await app.service.view(who(callback.from_user, callback.message.chat.id), data.r)
        current = view.events[-1] if view.events else None
        if not isinstance(current, QuestionAsked) or current.question_id != data.q:
            await answer_callback(callback, t("already_answered", view.language))
            return
        markup = render.question_keyboard(current, data.r, view.language, page=data.page)
        try:
            await bot.edit_message_reply_markup(
                chat_id=callback.message.chat.id, message_id=callback.message.message_id, reply_markup=markup
            )
        except TelegramBadRequest:
            pass  # the same page again: "message is not modified"
        finally:
            await answer_callback(callback)

    @router.callback_query(Routed(Setting))
    async def on_setting(
        callback: CallbackQuery, route: Setting, bot: Bot, app: AppContext, event_update: Update
    ) -> None:
        """The language (the conversation is shown again in it) or invitations (a line says which)."""
        assert callback.message is not None
        chat_id = callback.message.chat.id
        presenter = Presenter(bot, app, chat_id)
        try:
            await presenter.edit(callback.message.message_id)
            outcome = await app.service.handle(who(callback.from_user, chat_id), route.action, event_update.update_id)
            if isinstance(route.action, SetInvitations):
                await presenter.send(t("invite_on" if route.action.yes else "invite_off", outcome.language))
            else:
                await presenter.show(outcome)
        finally:
            await answer_callback(callback)

    @router.callback_query(Routed(Confirm, when=lambda r: r.data.action in {"restart", "delete"}))
    async def on_confirm(
        callback: CallbackQuery, route: Confirm, bot: Bot, app: AppContext, event_update: Update
    ) -> None:
        assert callback.message is not None
        chat_id = callback.message.chat.id
        presenter = Presenter(bot, app, chat_id, None)
        person = who(callback.from_user, chat_id)
        try:
            await presenter.edit(callback.message.message_id)
            if not route.data.yes:
                view = await app.service.view(person)
                await presenter.send(t("kept", view.language))
                return
            before = await app.service.view(person)
            if route.data.action == "restart":
                outcome = await app.service.handle(person, Restart(), event_update.update_id)
                if outcome.kind is OutcomeKind.EVENTS:
                    await presenter.edit(before.prompt_message_id)
                    await presenter.send(t("restarted", outcome.language))
            else:
                await presenter.edit(before.prompt_message_id)
                outcome = await app.service.handle(person, DeleteMyData(), event_update.update_id)
            await presenter.show(outcome)
        finally:
            await answer_callback(callback)

    @router.callback_query()
    async def unknown_button(callback: CallbackQuery, app: AppContext) -> None:
        """Forged or outdated button data: say so, change nothing."""
        language = "en" if (callback.from_user.language_code or "").startswith("en") else "vi"
        await answer_callback(callback, t("expired", language))

    return router


__all__ = ["Outcome", "setup"]
