"""What the web parts (survey, dashboard, health) share, filled in by the application that mounts them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from ipaddress import IPv4Network, IPv6Network
from typing import TYPE_CHECKING, Protocol

from storage.conversation import ConversationService
from storage.db import Database
from web.counting import Counter

if TYPE_CHECKING:
    from web.auth import Auth


def utc_now() -> datetime:
    return datetime.now(UTC)


def _nothing() -> None:
    return None


@dataclass
class SurveyStats:
    """The web survey's counters for /metrics: submissions that reached the conversation service, by result."""

    handled: int = 0
    duplicate: int = 0
    failed: int = 0
    refused: int = 0
    """New respondents refused by a campaign's limit per client address."""


class ChannelCounters(Protocol):
    """A messaging channel's update counters, as /metrics reports them (`bot.telegram.transport`)."""

    @property
    def channel(self) -> str: ...
    @property
    def handled(self) -> int: ...
    @property
    def failed(self) -> int: ...
    @property
    def retried(self) -> int: ...
    @property
    def in_flight(self) -> int: ...
    @property
    def durations(self) -> Sequence[float]: ...


class SenderCounters(Protocol):
    """An outbox sender's counters (`scheduler.outbox.SenderStats`), as /metrics reports them."""

    def as_dict(self) -> Mapping[str, int]: ...


@dataclass
class WebContext:
    db: Database
    service: ConversationService
    secret: bytes
    """Signs cookies (the dashboard's sessions, the survey's visitors)."""
    clock: Callable[[], datetime] = utc_now
    public_url: str | None = None
    """The address people use (behind the proxy); https makes cookies Secure."""
    local_url: str = "http://127.0.0.1:8080"
    """This server's own address, for links when `public_url` is not set."""
    tz: str = "Asia/Ho_Chi_Minh"
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()
    """Reverse proxies whose X-Forwarded-For is believed (see `web.client.client_address`)."""
    subscription_code_days: int = 7
    digest_alert_threshold: float = 0.2
    """The dissatisfied share (0-1) at which a digest raises an alert."""
    metrics_token: str | None = None
    """/metrics answers only `Authorization: Bearer <this>` (None or empty: anyone who reaches it)."""
    wake_outbox: Callable[[], None] = _nothing
    """Tell the outbox senders something was queued (set when the scheduler runs in this process)."""
    channels: list[ChannelCounters] = field(default_factory=list)
    """The messaging channels running in this process (for /metrics)."""
    senders: Callable[[], Mapping[str, SenderCounters]] = dict
    """The outbox senders running in this process, by channel (for /metrics)."""
    auth: Auth | None = None
    """The dashboard's logins (set when the dashboard is mounted)."""
    survey_stats: SurveyStats | None = None
    """The web survey's counters (set when the survey is mounted)."""
    counter: Counter | None = None
    """The dashboard's figures, kept a minute for large campaigns (made on first use)."""
