"""The citizen web survey's short texts (buttons, notices, labels), Vietnamese first with English.

The questionnaire's own texts (questions, consent, thanks) and the engine's re-ask messages come from the
survey and `flows.i18n`; these are only the web page's furniture. Notices that can be reached without a
chosen language (an unknown or closed campaign, an expired form) are shown in both languages.
"""

from __future__ import annotations

from flows.i18n import LANGUAGES, Section

__all__ = ["LANGUAGES", "number", "t"]

t = Section("web")
"""The web survey's texts: its section of the one catalog (`flows/data/texts.yaml`)."""


def number(value: int, language: str) -> str:
    """A whole number with thousands grouped the local way: 1.000 in Vietnamese, 1,000 in English."""
    grouped = f"{value:,}"
    return grouped.replace(",", ".") if language == "vi" else grouped
