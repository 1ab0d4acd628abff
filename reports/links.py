"""Links that bring a citizen into a campaign: Telegram deep links (`/start <payload>`), web links, and for
Zalo (no deep links) the bot's address with the text to send it first (the same payload)."""

from __future__ import annotations

import re
from urllib.parse import quote

_PAYLOAD = re.compile(r"^(?P<code>[a-z0-9-]{3,32})(?:_(?P<ward>\d{1,7}))?$")


def start_payload(campaign_code: str, ward_code: int | None = None) -> str:
    """The /start payload: "<campaign>_<ward>" (fits Telegram's 64 characters of A-Za-z0-9_-)."""
    return campaign_code if ward_code is None else f"{campaign_code}_{ward_code}"


def parse_start_payload(payload: str) -> tuple[str, int | None] | None:
    """(campaign code, ward code or None), or None when the payload is not one of ours."""
    match = _PAYLOAD.match(payload.strip())
    if match is None:
        return None
    ward = match.group("ward")
    return match.group("code"), int(ward) if ward else None


def deep_link(bot_username: str, campaign_code: str, ward_code: int | None = None) -> str:
    return f"https://t.me/{bot_username.lstrip('@')}?start={start_payload(campaign_code, ward_code)}"


def own_address(web_host: str, web_port: int) -> str:
    """This server's own address (WEB_HOST:WEB_PORT; 127.0.0.1 for a server listening on every interface)."""
    host = web_host if web_host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{web_port}"


def web_link(public_url: str, campaign_code: str, ward_code: int | None = None) -> str:
    base = public_url.rstrip("/")
    path = f"/s/{quote(campaign_code)}" + (f"/{ward_code}" if ward_code is not None else "")
    return base + path


def zalo_entry(bot_link: str, campaign_code: str, ward_code: int | None = None) -> tuple[str, str]:
    """(what the citizen sends the Zalo bot first, the address that opens the bot): Zalo links carry no
    payload, so the campaign and the ward travel as the first message ("hn-2026_70")."""
    return start_payload(campaign_code, ward_code), bot_link
