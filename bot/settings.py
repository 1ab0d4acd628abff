"""Application settings, from the environment (and a `.env` file). Every setting has a safe default;
`.env.example` documents them all."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.db import DEFAULT_URL


class SettingsError(ValueError):
    """A setting with a bad value; the message names it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = DEFAULT_URL
    secret_key: SecretStr | None = None
    secret_file: Path = Path("khaosat.secret")
    province: int = 1
    tz: str = "Asia/Ho_Chi_Minh"
    log_level: str = "INFO"
    event_loop: Literal["auto", "uvloop", "asyncio"] = "auto"

    telegram_bot_token: SecretStr | None = None
    telegram_api_base: str = "https://api.telegram.org"
    telegram_mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    webhook_path: str = "/telegram/webhook"
    webhook_secret: SecretStr | None = None
    telegram_fast_lane: bool = True
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    web_workers: int = Field(default=1, ge=1, le=64)
    metrics_token: SecretStr | None = None
    """/metrics wants `Authorization: Bearer <token>` when set; empty: open (keep it to the monitoring system
    with the reverse proxy's rules)."""
    operator_ids: str = ""

    # scheduler: reminders, invitations, digests and the paced outbox sender
    scheduler_enabled: bool = True
    scheduler_lock_file: Path | None = None
    scheduler_standby_seconds: float = Field(default=10.0, gt=0, le=3600)
    send_rate_global: float = Field(default=30.0, gt=0, le=1000)
    send_rate_private: float = Field(default=1.0, gt=0, le=100)
    send_rate_group_per_min: float = Field(default=20.0, gt=0, le=1000)
    send_max_attempts: int = Field(default=6, ge=1, le=100)
    send_retry_base_seconds: float = Field(default=5.0, gt=0, le=86400)
    send_retry_max_seconds: float = Field(default=3600.0, gt=0, le=7 * 86400)
    digest_alert_threshold: float = Field(default=20.0, gt=0, le=100)
    subscription_code_days: int = Field(default=7, ge=1, le=365)
    processed_update_retention_days: int = Field(default=7, ge=2, le=365)

    telegram_bot_username: str | None = None
    public_url: str | None = None
    trusted_proxies: str = ""
    """Reverse proxies whose X-Forwarded-For is believed (comma-separated IPs or CIDRs; empty: none)."""

    # Zalo (Zalo Bot Platform): a second messaging channel, run beside Telegram when the token is set
    zalo_bot_token: SecretStr | None = None
    zalo_api_base: str = "https://bot-api.zaloplatforms.com"
    zalo_mode: Literal["polling", "webhook"] = "polling"
    zalo_webhook_url: str | None = None
    zalo_webhook_path: str = "/zalo/webhook"
    zalo_webhook_secret: SecretStr | None = None
    zalo_poll_timeout: int = Field(default=30, ge=1, le=120)
    zalo_reminder_window_hours: float = Field(default=48.0, ge=0, le=24 * 30)
    zalo_send_rate_global: float = Field(default=5.0, gt=0, le=1000)
    zalo_send_rate_private: float = Field(default=0.5, gt=0, le=100)
    zalo_bot_link: str | None = None
    """The address that opens a chat with the Zalo bot (posters' QR codes, `campaign links --channel zalo`)."""
    published_image_days: float = Field(default=3.0, gt=0, le=90)
    """How long a digest chart sent by URL (Zalo) stays at its address."""

    @field_validator("scheduler_lock_file", mode="before")
    @classmethod
    def _optional_path(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Ho_Chi_Minh)") from None
        return value

    @field_validator("operator_ids")
    @classmethod
    def _ids(cls, value: str) -> str:
        for part in value.replace(" ", "").split(","):
            if part and not part.lstrip("-").isdigit():
                raise ValueError(f"{part!r} is not a Telegram user id (comma-separated numbers)")
        return value

    @field_validator("telegram_bot_username")
    @classmethod
    def _username(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        name = value.strip().removeprefix("@")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{3,31}", name):
            raise ValueError(
                f"{value!r} is not a Telegram bot username (e.g. khaosat_hanoi_bot, without https://t.me/)"
            )
        return name

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not re.match(r"^https?://[^/\s]+", value.strip()):
            raise ValueError(f"{value!r} is not a web address (e.g. https://khaosat.example.gov.vn)")
        return value.strip().rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        import ipaddress

        for part in value.replace(" ", "").split(","):
            if part:
                try:
                    ipaddress.ip_network(part, strict=False)
                except ValueError:
                    raise ValueError(f"{part!r} is not an IP address or network (e.g. 127.0.0.1,10.0.0.0/8)") from None
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        parts = self.trusted_proxies.replace(" ", "").split(",")
        return tuple(ipaddress.ip_network(part, strict=False) for part in parts if part)

    @field_validator("zalo_bot_link")
    @classmethod
    def _zalo_link(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not re.match(r"^https?://[^/\s]+", value.strip()):
            raise ValueError(f"{value!r} is not a web address (the bot's link from Zalo Bot Manager, https://...)")
        return value.strip()

    @field_validator("webhook_path", "zalo_webhook_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with '/'")
        return value

    @field_validator("zalo_bot_token", "zalo_webhook_secret", "zalo_webhook_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("zalo_webhook_secret")
    @classmethod
    def _zalo_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not 8 <= len(value.get_secret_value()) <= 256:
            raise ValueError(f"must be 8 to 256 characters (Zalo refuses others), not {len(value.get_secret_value())}")
        return value

    @field_validator("zalo_api_base")
    @classmethod
    def _zalo_base(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value.strip()):
            raise ValueError(f"{value!r} is not a web address (e.g. https://bot-api.zaloplatforms.com)")
        return value.strip().rstrip("/")

    @property
    def operator_id_list(self) -> list[int]:
        return [int(p) for p in self.operator_ids.replace(" ", "").split(",") if p]

    def secret(self) -> bytes:
        """The server secret for respondent keys: SECRET_KEY, or one generated once into SECRET_FILE."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value().encode()
        path = self.secret_file
        if path.exists():
            return path.read_text(encoding="utf-8").strip().encode()
        value = secrets.token_urlsafe(48)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(value + "\n")
        return value.encode()


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, or a SettingsError naming the bad variable."""
    try:
        # BaseSettings.__init__ types its own `_env_file`, `_case_sensitive`, ... arguments, which `object` is not
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as e:
        problems = []
        for err in e.errors(include_url=False):
            name = str(err["loc"][0]).upper() if err["loc"] else "?"
            problems.append(f"{name}: {err['msg'].removeprefix('Value error, ')}")
        raise SettingsError("invalid setting " + "; ".join(problems)) from None
