"""The one catalog of user-facing texts (`flows/data/texts.yaml`), Vietnamese first with English.

Every channel, the terminal preview, the reminders and the digests take their texts from here, keyed
"<section>.<key>": `t("telegram.agree", "en")`. A module that uses one section binds it once
(`t = Section("telegram")`, then `t("agree", lang)`). A text missing in a language falls back to
Vietnamese; a missing key is a programming error (KeyError), which the catalog's test rules out.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Final

import yaml

LANGUAGES: Final = ("vi", "en")
"""The languages every text has (Vietnamese first: the fallback)."""

_PLACEHOLDER = re.compile(r"(?<!\{)\{([a-z_][a-z0-9_]*)\}(?!\})")


@cache
def catalog() -> dict[str, dict[str, str]]:
    """Every text, by "section.key", then by language."""
    source = resources.files("flows").joinpath("data", "texts.yaml").read_text(encoding="utf-8")
    # BaseLoader: every scalar is a string ("yes", "no", "on" stay words, not booleans)
    sections = yaml.load(source, Loader=yaml.BaseLoader)
    return {f"{section}.{key}": dict(texts) for section, entries in sections.items() for key, texts in entries.items()}


def t(key: str, language: str, **params: object) -> str:
    """The text `key` in `language` (Vietnamese if it has none), with its {placeholders} filled in."""
    texts = catalog()[key]
    text = texts.get(language) or texts["vi"]
    return text.format(**params) if params else text


def placeholders(text: str) -> set[str]:
    """The names of a text's {placeholders}."""
    return set(_PLACEHOLDER.findall(text))


class Section:
    """The texts of one section of the catalog: `Section("web")("next", "en")` is `t("web.next", "en")`."""

    __slots__ = ("name", "prefix")

    def __init__(self, name: str) -> None:
        self.name = name
        self.prefix = name + "."

    def __call__(self, key: str, language: str, **params: object) -> str:
        return t(self.prefix + key, language, **params)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.prefix + key in catalog()

    def both(self, key: str, separator: str = "\n", **params: object) -> str:
        """The text in Vietnamese, then in English (where the reader's language is not known: a group)."""
        return separator.join(self(key, language, **params) for language in LANGUAGES)


message = Section("engine")
"""The engine's texts (reasons an answer is re-asked, progress, "skipped", the scale labels)."""


@cache
def likert_labels(scale: str, language: str) -> tuple[str, str, str, str, str]:
    """The five labels of a likert5 scale ("satisfaction", "agreement"), lowest first."""
    a, b, c, d, e = (message(f"likert_{scale}_{level}", language) for level in range(1, 6))
    return a, b, c, d, e
