"""`khaosat campaign links CODE --channel web` (and --qr): links and posters that open the web survey."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from PIL import Image

from reports.posters import INDEX_NAME
from tests.operators.conftest import env  # noqa: F401 (the operators' CLI environment fixture)
from tests.operators.helpers import audit_rows, cli, create, publish
from tests.operators.test_cli_links_stats import decodes_to

WEB_LINKS = [
    "4\tPhường Ba Đình\thttps://khaosat.example.gov.vn/s/hn-2026/4",
    "70\tPhường Hoàn Kiếm\thttps://khaosat.example.gov.vn/s/hn-2026/70",
    "235\tPhường Đống Đa\thttps://khaosat.example.gov.vn/s/hn-2026/235",
]


def test_web_links_and_posters(env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # noqa: F811
    publish()
    create("hn-2026", "70,235,4")
    monkeypatch.setenv("PUBLIC_URL", "https://khaosat.example.gov.vn/")  # no Telegram setting is needed
    result = cli("campaign", "links", "hn-2026", "--channel", "web")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == WEB_LINKS

    posters = tmp_path / "posters"
    result = cli("campaign", "links", "hn-2026", "--channel", "web", "--qr", str(posters))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == WEB_LINKS
    poster = posters / "70-phuong-hoan-kiem.png"
    with Image.open(poster) as image:
        assert image.text["Link"] == "https://khaosat.example.gov.vn/s/hn-2026/70"  # type: ignore[attr-defined]
    assert decodes_to(poster, "https://khaosat.example.gov.vn/s/hn-2026/70")
    assert "https://khaosat.example.gov.vn/s/hn-2026/235" in (posters / INDEX_NAME).read_text(encoding="utf-8")

    telegram = cli("campaign", "links", "hn-2026", "--channel", "telegram")  # the default still needs the bot
    assert telegram.exit_code == 1 and "TELEGRAM_BOT_USERNAME" in telegram.stderr
    zalo = cli("campaign", "links", "hn-2026", "--channel", "zalo")  # needs the bot's Zalo link
    assert zalo.exit_code == 1 and "ZALO_BOT_LINK" in zalo.stderr
    bad = cli("campaign", "links", "hn-2026", "--channel", "whatsapp")
    assert bad.exit_code == 2 and "'whatsapp' is not one of 'telegram', 'web', 'zalo'" in bad.stderr
    channels = [args.get("channel") for action, _, args in audit_rows(env) if action == "campaign.links"]
    assert channels == ["web", "web", "telegram", "zalo"]


def test_without_public_url_web_links_use_the_servers_own_address_with_a_warning(
    env: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    publish()
    create("hn-2026", "70")
    with socket.socket() as server:  # a running 'khaosat run' on WEB_PORT
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        monkeypatch.setenv("WEB_PORT", str(port))
        result = cli("campaign", "links", "hn-2026", "--channel", "web")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"70\tPhường Hoàn Kiếm\thttp://127.0.0.1:{port}/s/hn-2026/70\n"
    assert result.stderr == (
        f"warning: PUBLIC_URL is not set, so the links use this server's own address http://127.0.0.1:{port}, "
        "which opens only on this computer. Before printing posters for citizens, set PUBLIC_URL in .env to the "
        "address they reach it at (e.g. https://khaosat.example.gov.vn).\n"
    )
    stopped = cli("campaign", "links", "hn-2026", "--channel", "web")  # nothing listens there any more
    assert stopped.exit_code == 0
    assert "(and no server answers there now: start it with 'khaosat run')" in stopped.stderr


def test_telegram_links_without_a_bot_say_exactly_what_to_set(env: str) -> None:  # noqa: F811
    publish()
    create("hn-2026", "70")
    result = cli("campaign", "links", "hn-2026")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: Telegram links need the bot's username, and none is set: put TELEGRAM_BOT_USERNAME=<the username "
        "BotFather gave your bot, e.g. khaosat_hanoi_bot> in .env, or the bot's TELEGRAM_BOT_TOKEN (the username "
        "is then asked from Telegram, as the running bot does). Without a Telegram bot, print web links instead: "
        "khaosat campaign links hn-2026 --channel web\n",
    )


def test_links_help_mentions_the_web(env: str) -> None:  # noqa: F811
    result = cli("campaign", "links", "--help")
    assert result.exit_code == 0
    assert "--channel [telegram|web|zalo]" in result.output and "PUBLIC_URL" in result.output
