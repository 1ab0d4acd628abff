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


_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"  # with f j w z where English has them
_LETTERS = {letter: rank for rank, letter in enumerate(unicodedata.normalize("NFD", ch) for ch in _ALPHABET)}
_MODIFIERS = {"\u0306", "\u0302", "\u031b"}  # breve (ă), circumflex (â ê ô), horn (ơ ư)
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}  # huyền, hỏi, ngã, sắc, nặng


def collation_key(text: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A sort key in Vietnamese alphabetical order: a ă â b c d đ e ê g h … u ư v x y.

    Letters compare first, ignoring case and tones ("Đại" after every "D…", "Ô…" after "O…"); between names
    with the same letters the tones decide, in dictionary order: none, huyền, hỏi, ngã, sắc, nặng. Spaces come
    first, then digits and ASCII punctuation, then the alphabet, then anything else by code point.
    """
    letters: list[str] = []
    tones: list[int] = []
    for ch in unicodedata.normalize("NFD", text.casefold()):
        if ch in _MODIFIERS and letters:
            letters[-1] += ch
        elif ch in _TONES and letters:
            tones[-1] = _TONES[ch]
        elif not unicodedata.combining(ch):
            letters.append(ch)
            tones.append(0)
    primary = tuple(_rank(letter) for letter in letters)
    return primary, tuple(tones)


def _rank(letter: str) -> int:
    if letter.isspace():
        return 0
    rank = _LETTERS.get(letter)
    if rank is not None:
        return 0x80 + rank
    code = ord(letter[0])
    return code if code < 0x80 and not letter.isalpha() else 0x100 + code
