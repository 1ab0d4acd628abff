"""The citizen's conversation in a private Zalo chat, by typing.

Zalo has no buttons: a typed message becomes an action for the conversation service (`interpret`), and the
outcome becomes plain texts under 2,000 characters (`Presenter`, an exhaustive `match` on `OutcomeKind`).

- Commands work with or without the slash, in Vietnamese or English, diacritics optional: "bắt đầu"/"start"
  (with a code: "start hn-2026_70"), "tiếp tục"/"continue", "trợ giúp"/"help", "ngôn ngữ"/"lang",
  "làm lại"/"restart" (asks; "xác nhận làm lại" confirms), "tạm dừng"/"cancel" (pause), "xoá dữ liệu"/
  "delete my data" (asks; "xác nhận xoá" confirms), "mời tôi"/"invite me".
- A first message "<campaign>_<ward>" (or "/start <campaign>_<ward>") fixes campaign and ward as a Telegram
  deep link does; any other first message starts the open campaign, or lists the open ones by number.
- At a question: numbers pick the numbered options ("1 3 5" or "1,3,5" for several), words are matched by the
  engine without diacritics, "<"/"quay lại"/"back" goes back (never "0": a rating can be 0), "bỏ qua"/"skip"
  skips an optional question; the ward question takes a name, lists the matches by number, "xem thêm"/"more"
  shows the next ones.
- What a chat must remember between messages (the consent screen shown, the ward list on screen, a confirmation
  asked) is stored per chat (`bot.zalo.memory`, `storage.repo.chat_state`), written before the reply is sent:
  any process, after any restart, reads it at the next message.
- A repeated message (same message_id) changes nothing; the person is shown where they are once: the chat's
  state records the last message whose reply was shown.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from enum import Enum
from typing import assert_never
from zoneinfo import ZoneInfo

from bot.context import choice_labels
from bot.zalo.client import ZaloError
from bot.zalo.context import ZaloApp
from bot.zalo.memory import WARDS_PER_PAGE, PendingConsent, Remembered, WardList
from bot.zalo.text import split_text
from bot.zalo.texts import t
from bot.zalo.updates import ZaloMessage
from flows import engine
from flows.conversation import (
    Action,
    DeleteMyData,
    GiveConsent,
    Outcome,
    OutcomeKind,
    Pause,
    Reply,
    Restart,
    SetInvitations,
    SetLanguage,
    Start,
    View,
    Who,
)
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
from flows.questions import Option
from flows.text import fold
from reports.links import parse_start_payload
from storage.repo import chat_state

log = logging.getLogger(__name__)

CHANNEL = "zalo"
MAX_TYPED = 1000
"""Longer messages get a polite explanation (a text question's own limit is checked by the engine)."""


def who(message: ZaloMessage) -> Who:
    """The person in a private chat, for the conversation service (respondent key: HMAC of "zalo:<user id>")."""
    return Who(CHANNEL, message.user_id, address=message.chat_id)


# --- what people type ---------------------------------------------------------------------------------------


def _words(*phrases: str) -> frozenset[str]:
    return frozenset(fold(p) for p in phrases)


class Command(Enum):
    START = "start"
    CONTINUE = "continue"
    HELP = "help"
    LANG = "lang"
    VIETNAMESE = "vi"
    ENGLISH = "en"
    RESTART = "restart"
    CONFIRM_RESTART = "confirm_restart"
    CANCEL = "cancel"
    DELETE = "delete"
    CONFIRM_DELETE = "confirm_delete"
    INVITE_ON = "invite_on"
    INVITE_OFF = "invite_off"


COMMANDS: dict[Command, frozenset[str]] = {
    Command.START: _words("start", "bắt đầu", "batdau"),
    Command.CONTINUE: _words("tiếp tục", "continue", "resume", "tieptuc"),
    Command.HELP: _words("help", "trợ giúp", "hướng dẫn", "giúp"),
    Command.LANG: _words("lang", "language", "ngôn ngữ"),
    Command.VIETNAMESE: _words("tiếng việt", "vietnamese"),
    Command.ENGLISH: _words("english", "tiếng anh"),
    Command.RESTART: _words("restart", "làm lại", "bắt đầu lại", "làm lại từ đầu", "start over", "start again"),
    Command.CONFIRM_RESTART: _words("xác nhận làm lại", "confirm restart"),
    Command.CANCEL: _words("cancel", "tạm dừng", "pause", "stop", "dừng", "dừng lại", "thoát"),
    Command.DELETE: _words("delete my data", "delete", "xoá dữ liệu", "xoá dữ liệu của tôi"),
    Command.CONFIRM_DELETE: _words("xác nhận xoá", "xác nhận xoá dữ liệu", "confirm delete"),
    Command.INVITE_ON: _words("mời tôi", "invite me"),
    Command.INVITE_OFF: _words("không mời", "đừng mời", "no invitations"),
}
TAKES_ARGUMENT = (Command.START, Command.LANG)
"""Commands followed by a word: "start hn-2026_70", "lang en"."""

BACK = _words("quay lại", "back", "trở lại")
BACK_SIGNS = frozenset({"<", "<<", "◀", "⬅"})
SKIP = _words("bỏ qua", "skip")
MORE = _words("xem thêm", "more", "thêm", "next")
AGREE_WORDS = _words(
    "đồng ý", "tôi đồng ý", "đồng ý ạ", "dạ đồng ý", "vâng đồng ý", "agree", "i agree", "vâng", "vâng ạ", "dạ", "ừ",
    "oke", "okay", "có ạ",
)  # fmt: skip
DECLINE_WORDS = _words("không đồng ý", "tôi không đồng ý", "decline", "từ chối")
AGREE = AGREE_WORDS | _words("1", "có", "yes", "ok")
DECLINE = DECLINE_WORDS | _words("2", "không", "no")
"""Answers to the consent screen just shown ("1" / "2" as it says, or the words)."""
LANGUAGE_ARGS = {
    **dict.fromkeys(_words("vi", "tiếng việt", "vietnamese"), "vi"),
    **dict.fromkeys(_words("en", "english", "tiếng anh"), "en"),
}

_NUMBERS = re.compile(r"^\d+(?:\s*[,;\s]\s*\d+)*$")


def command_of(text: str) -> tuple[Command | None, str]:
    """The command a message is (with or without "/", any case, diacritics optional) and its argument."""
    body = text.strip().removeprefix("/").strip()
    key = fold(body.replace("_", " "))
    for command, phrases in COMMANDS.items():
        if key in phrases:
            return command, ""
    for command in TAKES_ARGUMENT:
        for phrase in COMMANDS[command]:
            if key.startswith(phrase + " "):
                words = len(phrase.split())
                parts = body.split(maxsplit=words)
                return command, parts[words].strip() if len(parts) > words else ""
    return None, ""


def parse_code(text: str) -> tuple[str, int | None] | None:
    """A campaign code as people type it from a poster: "hn-2026_70", also "Hn-2026_70" (a phone capitalises
    the first letter) and "hn-2026 70"."""
    typed = text.strip()
    found = parse_start_payload(typed)
    if found is None and typed:
        found = parse_start_payload(re.sub(r"\s+(?=\d+$)", "_", typed.lower()))
    return found


def start_action(args: str) -> Start:
    """A start with a code ("hn-2026_70"): as a Telegram deep link's payload; a code that is not ours names no
    campaign we have, and the person is told so."""
    if not args.strip():
        return Start()
    parsed = parse_code(args)
    return Start(parsed[0], parsed[1]) if parsed else Start(args.strip()[:64])


class Local(Enum):
    """A reply that changes nothing stored (the message is still recorded as processed)."""

    HELP = "help"
    CHOOSE_LANGUAGE = "choose_language"
    CONFIRM_RESTART = "confirm_restart"
    CONFIRM_DELETE = "confirm_delete"
    MORE_WARDS = "more_wards"
    WARD_LIST_AGAIN = "ward_list_again"
    UNKNOWN_COMMAND = "unknown_command"
    TOO_LONG = "too_long"


@dataclass(frozen=True)
class Asked:
    """The question on screen: the view's current question, and its response."""

    response_id: int
    event: QuestionAsked


def asked_in(view: Outcome) -> Asked | None:
    last = view.events[-1] if view.events else None
    if view.kind is OutcomeKind.EVENTS and view.response_id is not None and isinstance(last, QuestionAsked):
        return Asked(view.response_id, last)
    return None


def numbered(event: QuestionAsked) -> bool:
    """Whether the question's options are shown as a numbered list (a rating is typed as its number)."""
    return bool(event.options) and event.type not in ("rating", "ward")


def answer_by_numbers(event: QuestionAsked, text: str) -> engine.Answer | None:
    """Numbers typed for a numbered list ("2", "1 3 5", "1,3,5"): the options they name, or None when the text
    is not numbers or names no option (the engine then reads it, and says why it cannot)."""
    if not numbered(event) or not _NUMBERS.match(text.strip()):
        return None
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    if any(not 1 <= n <= len(event.options) for n in numbers):
        return None
    values = [event.options[n - 1].value for n in dict.fromkeys(numbers)]
    if event.type == "multi_choice":
        if not all(isinstance(v, str) for v in values):
            return None
        return engine.Answer(list(values), event.question_id)
    if len(values) != 1:
        return None
    return engine.Answer(values[0], event.question_id)


async def interpret(app: ZaloApp, person: Who, text: str, view: Outcome, memory: Remembered) -> Action | Local:
    """What a typed message means, given what the person sees now (`view`) and what the chat remembers."""
    command, args = command_of(text)
    key = fold(text)
    match command:
        case Command.START:
            return start_action(args)
        case Command.CONTINUE:
            return Start()
        case Command.HELP:
            return Local.HELP
        case Command.LANG:
            language = LANGUAGE_ARGS.get(fold(args))
            return SetLanguage(language) if language else Local.CHOOSE_LANGUAGE
        case Command.VIETNAMESE | Command.ENGLISH:
            return SetLanguage(command.value)
        case Command.RESTART:
            return Local.CONFIRM_RESTART
        case Command.CONFIRM_RESTART:
            return Restart() if memory.confirm == "restart" else Local.CONFIRM_RESTART  # asked first
        case Command.CANCEL:
            return Pause()
        case Command.DELETE:
            return Local.CONFIRM_DELETE
        case Command.CONFIRM_DELETE:
            return DeleteMyData() if memory.confirm == "delete" else Local.CONFIRM_DELETE  # asked first
        case Command.INVITE_ON | Command.INVITE_OFF:
            return SetInvitations(command is Command.INVITE_ON)
        case None:
            pass
        case _:
            assert_never(command)
    payload = parse_code(text)
    if text.strip().startswith("/"):
        return Local.UNKNOWN_COMMAND
    asked = asked_in(view)
    if asked is not None:
        return _at_question(memory, asked, text, key, payload)
    # nothing under way: a consent screen shown, a code, a campaign's number, or anything (start)
    pending = memory.consent
    if pending is not None and key in AGREE | DECLINE:
        return GiveConsent(key in AGREE, pending.campaign_code, pending.ward_code)
    if payload is not None:
        probe = await app.ctx.service.handle(person, View(start=Start(*payload)))
        if probe.kind is not OutcomeKind.UNKNOWN_CAMPAIGN:
            return Start(*payload)
    probe = await app.ctx.service.handle(person, View(start=Start()))
    if probe.kind is OutcomeKind.CHOOSE_CAMPAIGN and key.isdigit() and 1 <= int(key) <= len(probe.campaigns):
        return Start(probe.campaigns[int(key) - 1].code)
    consent_shown = any(isinstance(e, ConsentRequested) for e in probe.events)
    if consent_shown and probe.campaign_code is not None and key in AGREE_WORDS | DECLINE_WORDS:
        # a consent screen shown but forgotten (long ago: pruned): the open campaign's, agreed to in words (a
        # bare "1" could be someone's first message, who has not read it)
        return GiveConsent(key in AGREE_WORDS, probe.campaign_code, probe.ward_code)
    if pending is not None:  # the consent screen again, with the campaign and ward its code gave
        return Start(pending.campaign_code, pending.ward_code)
    return Start()


def _at_question(
    memory: Remembered, asked: Asked, text: str, key: str, payload: tuple[str, int | None] | None
) -> Action | Local:
    event = asked.event
    qid = event.question_id
    if text.strip() in BACK_SIGNS or key in BACK:
        return Reply(engine.Back(qid))
    if key in SKIP:
        return Reply(engine.Skip(qid))
    if event.type == "ward":
        wards = memory.wards_of(asked.response_id, qid)
        if key in MORE:
            return Local.MORE_WARDS
        if wards is not None and key.isdigit():
            picked = wards.pick(int(key))
            return Reply(engine.Answer(picked.value, qid)) if picked is not None else Local.WARD_LIST_AGAIN
    by_number = answer_by_numbers(event, text)
    if by_number is not None:
        return Reply(by_number)
    if payload is not None and payload[1] is not None and event.type != "text":
        return Start(*payload)  # a campaign's code with a ward, typed in the middle: as a deep link would
    if len(text) > MAX_TYPED and event.type != "text":
        return Local.TOO_LONG
    return Reply(engine.Text(text, qid))


# --- what the person reads ------------------------------------------------------------------------------------


class Presenter:
    """Shows outcomes in a private chat as plain texts of at most 2,000 characters.

    The texts are gathered (`say`) while the chat's new state is worked out (`memory`), then `finish` stores
    the state, sends the texts, and records that this message's reply was shown."""

    def __init__(self, app: ZaloApp, message: ZaloMessage, memory: Remembered, replied: str | None) -> None:
        self.app = app
        self.chat_id = message.chat_id
        self.user_id = message.user_id
        self.message_id = message.message_id
        self.remembered = memory
        self.memory = replace(memory, confirm=None)
        """The chat's state after this message: a confirmation asked is put away by any other message."""
        self.shown_already = replied == message.message_id
        """This message's reply was shown (it is a redelivery)."""
        self.erased = False
        self.texts: list[str] = []
        self.reachable = True

    async def say(self, text: str) -> None:
        """A text to send (in parts cut at line breaks), once the state is stored."""
        self.texts.append(text)

    async def finish(self) -> None:
        """Store what the chat remembers now (before the reply, so that the next message, in any process, reads
        it), send the texts, then record that this message's reply was shown. Erasure leaves nothing stored."""
        db = self.app.ctx.db
        now = self.app.ctx.service.clock()
        if self.erased:
            async with db.write() as conn:
                await chat_state.delete(conn, CHANNEL, self.chat_id)
        elif self.memory.to_data() != self.remembered.to_data():
            async with db.write() as conn:
                await chat_state.put(conn, CHANNEL, self.chat_id, self.memory.to_data(), now)
        if not self.texts:
            return
        for text in self.texts:
            for part in split_text(text):
                if not self.reachable:
                    break
                try:
                    await self.app.client.send_message(self.chat_id, part)
                except ZaloError as e:
                    if e.kind != "unreachable":
                        raise
                    self.reachable = False
                    log.info("zalo chat %s refuses messages: %s", self.chat_id, e.description)
                    await self.app.ctx.service.mark_unreachable(CHANNEL, self.chat_id)
        if not self.erased:
            async with db.write() as conn:
                await chat_state.replied(conn, CHANNEL, self.chat_id, self.message_id, now)

    async def show(self, outcome: Outcome) -> None:
        """Render an outcome; a repeated message whose reply was shown already shows nothing."""
        if outcome.duplicate and self.shown_already:
            return
        await self._show(outcome)

    async def _show(self, outcome: Outcome) -> None:
        lang = outcome.language
        title = outcome.campaign_title or ""
        match outcome.kind:
            case OutcomeKind.EVENTS | OutcomeKind.NO_RESPONSE:
                pass
            case (
                OutcomeKind.NO_CAMPAIGN
                | OutcomeKind.UNKNOWN_CAMPAIGN
                | OutcomeKind.CAMPAIGN_CLOSED
                | OutcomeKind.CAMPAIGN_NOT_STARTED
                | OutcomeKind.ALREADY_COMPLETED
                | OutcomeKind.NOTHING_TO_RESTART
                | OutcomeKind.PAUSED
                | OutcomeKind.NOTHING_TO_PAUSE
                | OutcomeKind.CONSENT_KEPT
            ):
                await self.say(t(outcome.kind.value, lang, title=title))
                return
            case OutcomeKind.DELETED:
                self.memory = Remembered()
                self.erased = True
                await self.say(t("deleted", lang))
                return
            case OutcomeKind.CHOOSE_CAMPAIGN:
                labels = choice_labels(outcome.campaigns, lang, ZoneInfo(self.app.ctx.settings.tz))
                lines = [t("choose_campaign", lang, count=len(outcome.campaigns))]
                lines += [f"{n}. {label}" for n, (_, label) in enumerate(labels, start=1)]
                await self.say("\n".join(lines))
                return
            case OutcomeKind.DECLINED:
                self.memory = self.memory.with_consent(None)
                await self.say(t("declined", lang))
                return
            case OutcomeKind.LANGUAGE_SET:
                await self.say(t("language_set", lang))
            case OutcomeKind.OTHER_UNDER_WAY:
                await self.say(t("other_under_way", lang, title=title))
            case OutcomeKind.INVITATIONS_SET:
                return  # the handler says which (the outcome does not)
            case _:
                assert_never(outcome.kind)
        if outcome.duplicate and not outcome.events:
            return
        await self.show_events(outcome)

    async def show_events(self, outcome: Outcome) -> None:
        lang = outcome.language
        before = ""
        """What goes above the next question, in the same message (what was recorded, why it was re-asked)."""
        for event in outcome.events:
            if isinstance(event, ConsentRequested):
                await self.say(self._consent(outcome, event))
            elif isinstance(event, ConsentDeclined):
                self.memory = self.memory.with_consent(None)
                await self.say(t("declined", lang))
            elif isinstance(event, AnswerRecorded):
                self.memory = self.memory.with_wards(None)
                before = t("recorded", lang, value=event.display)
            elif isinstance(event, AnswerRemoved):
                pass  # the question gone back to comes next, with its previous answer
            elif isinstance(event, AnswerRejected):
                if event.candidates and event.reason == "ward_ambiguous" and outcome.response_id is not None:
                    wards = WardList(
                        outcome.response_id, event.question_id, event.candidates, 0, str(event.params.get("text", ""))
                    )
                    self.memory = self.memory.with_wards(wards)
                    await self.say(self.ward_page(wards, lang))
                else:
                    await self._again(outcome, event.text)
            elif isinstance(event, InputIgnored):
                if event.reason == "paused":
                    await self.say(t("paused_ignored", lang))
                elif event.reason in ("already_answered", "not_current"):
                    await self._again(outcome, event.text)
                else:
                    await self.say(event.text)
            elif isinstance(event, QuestionAsked):
                assert outcome.response_id is not None
                await self.say(self.question(outcome, event, outcome.response_id, before))
                before = ""
            elif isinstance(event, SurveyCompleted):
                self.memory = self.memory.with_wards(None)
                lines = [before, ""] if before else []
                lines += [t("completed", lang, text=event.text), "", t("invite_question", lang)]
                await self.say("\n".join(lines))
                before = ""

    async def _again(self, outcome: Outcome, reason: str) -> None:
        """The reason, then the current question again (in one message)."""
        if outcome.survey is None or outcome.ctx is None or outcome.response_id is None:
            await self.say(reason)
            return
        step = engine.resume(outcome.survey, outcome.state(), outcome.ctx)
        current = step.events[-1] if step.events else None
        if isinstance(current, QuestionAsked):
            await self.say(self.question(outcome, current, outcome.response_id, reason))
        else:
            await self.say(reason)

    def _consent(self, outcome: Outcome, event: ConsentRequested) -> str:
        lang = outcome.language
        assert outcome.survey is not None
        survey = outcome.survey
        if outcome.campaign_code is not None:
            self.memory = self.memory.with_consent(PendingConsent(outcome.campaign_code, outcome.ward_code))
        title = survey.text(survey.title, lang)
        lines = [title]
        if outcome.campaign_title and outcome.campaign_title != title:
            lines.append(outcome.campaign_title)
        if outcome.ward_code is not None and outcome.ctx is not None:
            ward = outcome.ctx.ward_by_code.get(outcome.ward_code)
            if ward is not None:
                lines.append(t("ward_of_link", lang, name=ward.name))
        intro = survey.text(survey.intro, lang)
        if intro:
            lines += ["", intro]
        lines += ["", event.text, "", t("consent_prompt", lang)]
        return "\n".join(lines)

    def question(self, outcome: Outcome, event: QuestionAsked, response_id: int, before: str = "") -> str:
        """One question in one message: what came before it, its progress line, the question, its numbered
        options and how to answer."""
        lang = outcome.language
        lines = [before, ""] if before else []
        lines += [event.progress_text, event.label]
        if event.help:
            lines.append(event.help)
        if event.type == "ward":
            wards = outcome.ctx.wards if outcome.ctx is not None else ()
            if 0 < len(wards) <= WARDS_PER_PAGE:
                listed = WardList(response_id, event.question_id, tuple(Option(w.code, w.name) for w in wards))
                self.memory = self.memory.with_wards(listed)
                lines += [f"{n}. {o.label}" for n, o in listed.page_items()]
                lines.append(t("ward_pick", lang))
            else:
                self.memory = self.memory.with_wards(None)  # a list shown before is off screen now
                lines.append(t("ward_prompt", lang))
        elif numbered(event):
            lines += [f"{n}. {o.label}" for n, o in enumerate(event.options, start=1)]
            if event.type == "multi_choice":
                if event.min_selections <= 1:
                    lines.append(t("choose_many_max", lang, max=event.max_selections))
                else:
                    lines.append(t("choose_many", lang, min=event.min_selections, max=event.max_selections))
            else:
                lines.append(t("choose_one", lang))
        elif event.type == "rating":
            lines.append(t("rating_hint", lang))
        elif event.hint:
            hint = f"✍️ {event.hint}"
            if event.unit:
                hint += " " + t("number_unit", lang, unit=event.unit)
            lines.append(hint)
        else:
            lines.append(t("type_answer", lang))
        if event.has_previous and outcome.survey is not None and outcome.ctx is not None:
            previous = engine.display_answer(outcome.survey, event.question_id, event.previous, outcome.ctx)
            lines.append(t("previous_answer", lang, value=previous))
        if not event.required:
            lines.append(t("skip_hint", lang))
        if event.can_go_back:
            lines.append(t("back_hint", lang))
        return "\n".join(lines)

    def ward_page(self, wards: WardList, lang: str) -> str:
        lines = [t("ward_matches", lang, count=len(wards.options), text=wards.text)] if wards.text else []
        lines += [f"{n}. {o.label}" for n, o in wards.page_items()]
        shown = len(wards.shown())
        if shown < len(wards.options):
            lines.append(t("ward_more", lang, shown=shown, count=len(wards.options)))
        lines.append(t("ward_pick", lang))
        return "\n".join(lines)

    async def local(self, reply: Local, view: Outcome, text: str, again: bool = False) -> None:
        """A reply that changes nothing stored but the chat's state (`again`: a redelivery whose reply was not
        shown: "xem thêm" shows the page on screen, not the next one)."""
        lang = view.language
        match reply:
            case Local.HELP:
                await self.say(t("help", lang))
            case Local.CHOOSE_LANGUAGE:
                await self.say(t("choose_language", lang))
            case Local.CONFIRM_RESTART:
                if asked_in(view):
                    self.memory = replace(self.memory, confirm="restart")
                    await self.say(t("confirm_restart", lang))
                else:
                    await self.say(t("nothing_to_restart", lang))
            case Local.CONFIRM_DELETE:
                self.memory = replace(self.memory, confirm="delete")
                await self.say(t("confirm_delete", lang))
            case Local.MORE_WARDS | Local.WARD_LIST_AGAIN:
                asked = asked_in(view)
                wards = self.memory.wards_of(asked.response_id, asked.event.question_id) if asked else None
                if wards is None:
                    await self.say(t("no_list", lang))
                    return
                if reply is Local.MORE_WARDS and not again:
                    if wards.page + 1 >= wards.pages:
                        await self.say(t("ward_no_more", lang))
                        return
                    wards = WardList(wards.response_id, wards.question_id, wards.options, wards.page + 1, wards.text)
                    self.memory = self.memory.with_wards(wards)
                await self.say(self.ward_page(wards, lang))
            case Local.UNKNOWN_COMMAND:
                await self.say(t("unknown_command", lang, command=text.strip().split()[0][:64]))
            case Local.TOO_LONG:
                await self.say(t("too_long", lang, length=len(text)))
            case _:
                assert_never(reply)


async def handle_private(app: ZaloApp, message: ZaloMessage) -> None:
    """A message in a private chat: the citizen's conversation. Raises when something fails (the caller
    tells the person and logs it)."""
    person = who(message)
    service = app.ctx.service
    async with app.ctx.db.read() as conn:
        stored = await chat_state.get(conn, CHANNEL, message.chat_id)
    presenter = Presenter(app, message, Remembered.from_data(stored.data), stored.replied_message_id)
    text = message.text
    if text is None or not text.strip():  # a sticker, an image, ...
        outcome = await service.handle(person, View(), message.message_id)
        if outcome.duplicate and presenter.shown_already:
            return
        await presenter.say(t("not_text", outcome.language))
        await presenter.finish()
        return
    view = await service.view(person)
    step = await interpret(app, person, text, view, presenter.remembered)
    if isinstance(step, Local):
        claimed = await service.handle(person, View(), message.message_id)  # recorded: a repeat changes nothing
        if claimed.duplicate and presenter.shown_already:
            return
        await presenter.local(step, view, text, again=claimed.duplicate)
        await presenter.finish()
        return
    if isinstance(step, GiveConsent):
        presenter.memory = presenter.memory.with_consent(None)
    outcome = await service.handle(person, step, message.message_id)
    if outcome.duplicate and presenter.shown_already:
        return
    await presenter.show(outcome)
    if isinstance(step, SetInvitations) and not outcome.duplicate:
        await presenter.say(t("invite_on" if step.yes else "invite_off", outcome.language))
    await presenter.finish()
