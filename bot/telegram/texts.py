"""The Telegram channel's texts: its section of the one catalog (`flows/data/texts.yaml`).

Longer, composed messages are Jinja2 templates in `templates/`; they take their phrases from here.
"""

from __future__ import annotations

from flows.i18n import LANGUAGES, Section

t = Section("telegram")
group_texts = Section("group")
operator_texts = Section("operator")

CITIZEN_COMMANDS = ("start", "help", "lang", "restart", "delete_my_data", "cancel")
GROUP_COMMANDS_ORDER = ("subscribe", "digest", "unsubscribe")


def _commands(section: Section, names: tuple[str, ...]) -> dict[str, list[tuple[str, str]]]:
    return {language: [(name, section(f"command_{name}", language)) for name in names] for language in LANGUAGES}


COMMANDS = _commands(t, CITIZEN_COMMANDS)
"""The citizens' command menu, per language: (command, description)."""
GROUP_COMMANDS = _commands(group_texts, GROUP_COMMANDS_ORDER)
"""The officials' group command menu, per language."""
