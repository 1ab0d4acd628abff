"""The Zalo channel's texts: its section of the one catalog (`flows/data/texts.yaml`)."""

from __future__ import annotations

from flows.i18n import Section

t = Section("zalo")
