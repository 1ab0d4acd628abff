"""What the outbox holds and how a channel delivers it: channel-neutral messages and the transport contract.

A message (`Outgoing`) is a text in a small subset of HTML (<b>, <i>, <code>, <a href>; Telegram renders it,
plain-text channels such as Zalo take the tags out), or a PNG with a caption, plus what the person can do
next as neutral intents (`Action`: "resume response R", "join campaign C", "open this address"). Each
channel's transport (`bot/telegram`, `bot/zalo`) turns an intent into what it has: an inline button, or a
line saying what to type. Nothing here knows a channel's callback formats.

The paced sender (`scheduler.outbox`) stores messages as JSON (`Outgoing.to_payload`) and hands them to a
`Transport`, which returns the channel's message id or raises a classified `SendError`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Literal, Protocol

ActionKind = Literal["resume", "join", "link"]


@dataclass(frozen=True)
class Action:
    """Something the person can do from this message, for the channel to offer its own way."""

    kind: ActionKind
    label: str
    """The words of the button (or of the line that says what to type), in the person's language."""
    response_id: int | None = None
    """"resume": the response whose current question to show again."""
    campaign_code: str | None = None
    """"join": the campaign to start."""
    url: str | None = None
    """"link": an address to open."""

    def __post_init__(self) -> None:
        needed = {"resume": self.response_id, "join": self.campaign_code, "link": self.url}[self.kind]
        if needed is None:
            raise ValueError(f"a {self.kind!r} action needs its target")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "label": self.label}
        for name in ("response_id", "campaign_code", "url"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Action:
        return cls(
            kind=data["kind"],
            label=str(data["label"]),
            response_id=data.get("response_id"),
            campaign_code=data.get("campaign_code"),
            url=data.get("url"),
        )


@dataclass(frozen=True)
class Outgoing:
    """One message: a text (HTML subset) or a PNG with an optional caption, and what can be done next."""

    text: str | None = None
    actions: tuple[Action, ...] = ()
    photo: bytes | None = None
    caption: str | None = None

    def __post_init__(self) -> None:
        if (self.text is None) == (self.photo is None):
            raise ValueError("a message has either a text or a photo")
        if self.text is not None and not self.text.strip():
            raise ValueError("the message text is empty")

    def to_payload(self, **extra: Any) -> dict[str, Any]:
        """The JSON stored in `outbox_message.payload` (extra keys, e.g. quiet hours, are kept alongside)."""
        payload: dict[str, Any] = {}
        if self.text is not None:
            payload["text"] = self.text
        if self.photo is not None:
            payload["photo_png_base64"] = base64.b64encode(self.photo).decode("ascii")
        if self.caption is not None:
            payload["caption"] = self.caption
        if self.actions:
            payload["actions"] = [a.to_json() for a in self.actions]
        payload.update(extra)
        return payload

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Outgoing:
        photo = payload.get("photo_png_base64")
        return cls(
            text=payload.get("text"),
            actions=tuple(Action.from_json(a) for a in payload.get("actions") or ()),
            photo=base64.b64decode(photo) if photo else None,
            caption=payload.get("caption"),
        )


ErrorKind = Literal["rate_limited", "unreachable", "permanent", "transient", "migrated"]


class SendError(Exception):
    """A send that did not succeed, classified for the sender: wait (`rate_limited`, `retry_after` seconds),
    give up on the recipient (`unreachable`: blocked, gone), give up on the message (`permanent`), try again
    later (`transient`; `reached_server` False when the request surely never arrived), or move the
    recipient (`migrated`: a Telegram group became a supergroup, `migrate_to`)."""

    def __init__(
        self,
        kind: ErrorKind,
        description: str,
        *,
        retry_after: float | None = None,
        migrate_to: int | None = None,
        reached_server: bool = True,
    ) -> None:
        super().__init__(description)
        self.kind = kind
        self.description = description
        self.retry_after = retry_after
        self.migrate_to = migrate_to
        self.reached_server = reached_server


class Transport(Protocol):
    """A channel's way of delivering outbox messages (`bot.telegram.sender`, `bot.zalo.sender`)."""

    async def send(self, chat: str, message: Outgoing) -> int | str:
        """Send one message to a chat (a private chat or a group); its message id, or a `SendError`."""
        ...

    async def close(self) -> None:
        """Release what the transport opened (its HTTP session)."""
        ...
