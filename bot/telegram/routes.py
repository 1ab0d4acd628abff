"""One routing table from a button's data to what it means, used by the aiogram router and the webhook's lean
lane alike: `route("a:12:age:2")` is `Press(Reply(Answer("2", "age"), 12))`.

A `Press` goes to the conversation service; the other routes redraw a keyboard (`Toggle`, `Page`) or ask
first (`Confirm`). Data that is not ours, or malformed, routes to None (the button has expired).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiogram.filters import Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery

from bot.telegram.callbacks import (
    AnswerCb,
    BackCb,
    CampaignCb,
    ConfirmCb,
    ConsentCb,
    DoneCb,
    InviteCb,
    LangCb,
    PageCb,
    ResumeCb,
    SkipCb,
    ToggleCb,
)
from flows import engine
from flows.conversation import GiveConsent, Reply, SetInvitations, SetLanguage, Start


@dataclass(frozen=True)
class Press:
    """A button the conversation service applies: an answer, back, skip, consent, a campaign, "Continue"."""

    action: Reply | GiveConsent | Start
    clears_source: bool = False
    """The pressed message loses its buttons first (the campaign chooser: one choice only)."""


@dataclass(frozen=True)
class Setting:
    """A button that changes a setting and shows the conversation again: the language, invitations."""

    action: SetLanguage | SetInvitations


@dataclass(frozen=True)
class Toggle:
    """A multi-choice option pressed: its buttons are redrawn (nothing is stored until "Done")."""

    data: ToggleCb


@dataclass(frozen=True)
class Page:
    """Another page of a long list of options (the wards)."""

    data: PageCb


@dataclass(frozen=True)
class Confirm:
    """Yes or no to a destructive action ("restart", "delete"; "close" for operators)."""

    data: ConfirmCb


Route = Press | Setting | Toggle | Page | Confirm


def _answer(d: AnswerCb) -> Route:
    return Press(Reply(engine.Answer(d.v, d.q), d.r))


def _done(d: DoneCb) -> Route:
    return Press(Reply(engine.Answer(d.m, d.q), d.r))  # the engine reads the selection's bit mask


def _back(d: BackCb) -> Route:
    return Press(Reply(engine.Back(d.q), d.r))


def _skip(d: SkipCb) -> Route:
    return Press(Reply(engine.Skip(d.q), d.r))


def _consent(d: ConsentCb) -> Route:
    return Press(GiveConsent(d.agree, d.code, d.ward))


def _campaign(d: CampaignCb) -> Route:
    return Press(Start(d.code), clears_source=True)


def _resume(d: ResumeCb) -> Route:
    return Press(Start())


def _language(d: LangCb) -> Route:
    return Setting(SetLanguage(d.lang))


def _invite(d: InviteCb) -> Route:
    return Setting(SetInvitations(d.yes))


def _toggle(d: ToggleCb) -> Route:
    return Toggle(d)


def _page(d: PageCb) -> Route:
    return Page(d)


def _confirm(d: ConfirmCb) -> Route:
    return Confirm(d)


def _entry(cls: type[CallbackData], make: Callable[[Any], Route]) -> tuple[str, Callable[[str], Route]]:
    return cls.__prefix__, lambda data: make(cls.unpack(data))


ROUTES: dict[str, Callable[[str], Route]] = dict(
    [
        _entry(AnswerCb, _answer),
        _entry(DoneCb, _done),
        _entry(BackCb, _back),
        _entry(SkipCb, _skip),
        _entry(ConsentCb, _consent),
        _entry(CampaignCb, _campaign),
        _entry(ResumeCb, _resume),
        _entry(LangCb, _language),
        _entry(InviteCb, _invite),
        _entry(ToggleCb, _toggle),
        _entry(PageCb, _page),
        _entry(ConfirmCb, _confirm),
    ]
)
"""Callback data prefix -> what a press with that data means."""


def route(data: str | None) -> Route | None:
    """What a press of a button with this data means; None for data that is not ours or is malformed."""
    if not data:
        return None
    parse = ROUTES.get(data.split(":", 1)[0])
    if parse is None:
        return None
    try:
        return parse(data)
    except (TypeError, ValueError):  # pydantic's ValidationError is a ValueError
        return None


class Routed(Filter):
    """An aiogram filter: the callback's data routes to one of these kinds (and `when` holds); the handler
    gets it as `route`. Runs on the event loop (a plain `F` filter would run in a thread)."""

    def __init__(self, *kinds: type, when: Callable[[Any], bool] | None = None) -> None:
        self.kinds = kinds
        self.when = when

    async def __call__(self, callback: CallbackQuery) -> bool | dict[str, Any]:
        found = route(callback.data)
        if not isinstance(found, self.kinds) or (self.when is not None and not self.when(found)):
            return False
        return {"route": found}
