"""Zalo settings: safe defaults, and a bad webhook secret refused with a clear message."""

from __future__ import annotations

import pytest

from bot.settings import SettingsError, load_settings


def test_zalo_is_off_by_default_with_the_platforms_address() -> None:
    settings = load_settings(_env_file=None)
    assert settings.zalo_bot_token is None
    assert settings.zalo_api_base == "https://bot-api.zaloplatforms.com"
    assert settings.zalo_mode == "polling" and settings.zalo_webhook_path == "/zalo/webhook"
    assert settings.zalo_reminder_window_hours == 48


@pytest.mark.parametrize("secret", ["short", "x" * 257])
def test_a_webhook_secret_outside_8_to_256_characters_is_refused_by_name(secret: str) -> None:
    with pytest.raises(SettingsError, match="ZALO_WEBHOOK_SECRET: must be 8 to 256 characters"):
        load_settings(_env_file=None, zalo_webhook_secret=secret)


def test_an_empty_secret_or_token_means_none() -> None:
    settings = load_settings(_env_file=None, zalo_webhook_secret="", zalo_bot_token="")
    assert settings.zalo_webhook_secret is None and settings.zalo_bot_token is None
