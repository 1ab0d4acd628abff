"""Application settings, from the environment (and a `.env` file). Every setting has a safe default;
`.env.example` documents them all."""

from __future__ import annotations

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

    @field_validator("webhook_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with '/'")
        return value

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
