"""Text helpers shared by every channel: diacritics folding for matching what people type."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)


def fold(text: str) -> str:
    """Fold Vietnamese text to a lower-case ASCII-ish key for matching.

    "Phường Đống Đa" -> "phuong dong da". Both precomposed and decomposed input work,
    đ/Đ become d, punctuation becomes a space and runs of spaces collapse.
    """
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    stripped = _PUNCT.sub(" ", stripped.casefold())
    return _SPACES.sub(" ", stripped).strip()
