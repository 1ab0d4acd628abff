"""Button data, as aiogram `CallbackData` classes (pydantic; refuse values over Telegram's 64 bytes).

Buttons of a question carry the response id and the question id, so a press on an old button is
recognised as stale by the engine instead of answering the wrong question. Budget: prefix and response id
take at most 16 bytes (`flows.schema.CALLBACK_RESERVED`); the loader checks the rest fits.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class AnswerCb(CallbackData, prefix="a"):
    """A choice, scale point, yes/no or ward: answers question `q` of response `r` with value `v`."""

    r: int
    q: str
    v: str


class ToggleCb(CallbackData, prefix="t"):
    """Multi-choice: the selection after this press, as a bit mask over the question's options."""

    r: int
    q: str
    m: int


class DoneCb(CallbackData, prefix="d"):
    """Multi-choice "Xong / Done" with the selection as a bit mask."""

    r: int
    q: str
    m: int


class BackCb(CallbackData, prefix="b"):
    r: int
    q: str


class SkipCb(CallbackData, prefix="s"):
    r: int
    q: str


class PageCb(CallbackData, prefix="p"):
    """Another page of a long list of options (the wards)."""

    r: int
    q: str
    page: int


class ConsentCb(CallbackData, prefix="c"):
    agree: bool
    code: str
    ward: int | None = None


class CampaignCb(CallbackData, prefix="k"):
    """Choose a campaign when several are open."""

    code: str


class LangCb(CallbackData, prefix="l"):
    lang: str


class ConfirmCb(CallbackData, prefix="y"):
    """Yes/no for a destructive action: "restart", "delete", or an operator action like "close"."""

    action: str
    yes: bool
    arg: str = ""


class ResumeCb(CallbackData, prefix="r"):
    """ "Tiếp tục / Continue" on a reminder: shows the response's current question."""

    r: int


class InviteCb(CallbackData, prefix="i"):
    """After the thank-you: invite me (or not) to future surveys."""

    yes: bool


def mask_of(selected: list[str], options: list[str]) -> int:
    return sum(1 << i for i, value in enumerate(options) if value in selected)


def selected_of(mask: int, options: list[str]) -> list[str]:
    return [value for i, value in enumerate(options) if mask & (1 << i)]
