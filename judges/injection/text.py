"""Hidden characters: what a judge's tokenizer reads but a person does not see, and the text without them.

Two views of an untrusted text, both deterministic and model-free:

- :func:`skeleton` — for *detection*: invisible characters dropped, compatibility forms folded (NFKC, so
  fullwidth ``＜`` and mathematical ``𝐫𝐚𝐭𝐞`` become ``<`` and ``rate``) and confusable letters (Cyrillic and
  Greek look-alikes of Latin letters) mapped to Latin, with the original offset of every character kept so a
  finding points back into the text as written.
- :func:`visible_text` — for *the judge*: invisible characters dropped (an emoji's joiner and variation
  selector kept), compatibility forms folded, and confusables mapped only inside mixed-script words (a word
  that mixes Latin and Cyrillic letters is an obfuscation; a Russian word is left alone).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

__all__ = ["CONFUSABLES", "Skeleton", "hidden_characters", "is_invisible", "mixed_script_words", "skeleton",
           "visible_text"]

CONFUSABLES: dict[str, str] = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t",
    "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "һ": "h", "ӏ": "l", "ԛ": "q", "ԝ": "w",
    "ɡ": "g", "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S", "Ү": "Y",
    # Greek
    "α": "a", "ο": "o", "ρ": "p", "ι": "i", "κ": "k", "ν": "v", "τ": "t", "υ": "u", "ε": "e", "Α": "A",
    "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P",
    "Τ": "T", "Υ": "Y", "Χ": "X",
    # Latin letters that read as others
    "ı": "i", "ℓ": "l",
}
"""Confusable letter → the Latin letter it imitates (a small table, after Unicode TR39's confusables)."""

_EXTRA_INVISIBLE = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u034f"}
_EMOJI_GLUE = {"\u200d", "\ufe0f", "\ufe0e"}


def is_invisible(ch: str) -> bool:
    """Whether a character renders as nothing: format controls (zero-width, bidi, tags), fillers, selectors."""
    if ch in _EXTRA_INVISIBLE:
        return True
    cat = unicodedata.category(ch)
    return cat == "Cf" or (cat == "Mn" and ("\ufe00" <= ch <= "\ufe0f" or "\U000e0100" <= ch <= "\U000e01ef"))


def _emoji(ch: str) -> bool:
    return unicodedata.category(ch) == "So" or ord(ch) > 0xFFFF


def _emoji_glue(text: str, i: int) -> bool:
    """A joiner or variation selector that belongs to an emoji sequence (kept; not a hidden character)."""
    return text[i] in _EMOJI_GLUE and i > 0 and (_emoji(text[i - 1]) or text[i - 1] in _EMOJI_GLUE)


def hidden_characters(text: str) -> list[int]:
    """Offsets of invisible characters that are not part of an emoji sequence."""
    return [i for i, ch in enumerate(text) if is_invisible(ch) and not _emoji_glue(text, i)]


def _fold(ch: str) -> str:
    """NFKC of one character, except the folds that only change typography people see (… → ...)."""
    folded = unicodedata.normalize("NFKC", ch)
    if folded == ch or ch in "…\u00a0":
        return ch
    return folded


@dataclass(frozen=True)
class Skeleton:
    """The detection view of a text and, per character of it, the offset in the original."""

    text: str
    origin: list[int]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original offsets [start, end) of the skeleton's [start, end)."""
        if start >= len(self.origin):
            n = (self.origin[-1] + 1) if self.origin else 0
            return n, n
        last = self.origin[min(end, len(self.origin)) - 1] if end > start else self.origin[start]
        return self.origin[start], last + 1


def skeleton(text: str) -> Skeleton:
    """The text as a detector reads it (invisibles dropped, NFKC folds, confusables → Latin), offsets kept."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if is_invisible(ch):
            continue
        for out in _fold(ch):
            chars.append(CONFUSABLES.get(out, out))
            origin.append(i)
    return Skeleton("".join(chars), origin)


def _script(ch: str) -> str | None:
    if not ch.isalpha():
        return None
    name = unicodedata.name(ch, "")
    for script in ("LATIN", "CYRILLIC", "GREEK"):
        if name.startswith(script):
            return script
    return "OTHER"


def mixed_script_words(text: str) -> list[tuple[int, int]]:
    """Offsets of words that mix Latin letters with Cyrillic or Greek ones (a homoglyph obfuscation)."""
    out: list[tuple[int, int]] = []
    start = None
    for i, ch in enumerate(text + " "):
        if ch.isalpha() or (start is not None and is_invisible(ch)):
            start = i if start is None else start
            continue
        if start is not None:
            scripts = {_script(c) for c in text[start:i]} - {None}
            if "LATIN" in scripts and scripts & {"CYRILLIC", "GREEK"}:
                out.append((start, i))
            start = None
    return out


def visible_text(text: str) -> str:
    """The text for the judge: invisibles dropped, compatibility forms folded, mixed-script words mapped."""
    mixed = mixed_script_words(text)
    inside = {i for a, b in mixed for i in range(a, b)}
    out = []
    for i, ch in enumerate(text):
        if is_invisible(ch) and not _emoji_glue(text, i):
            continue
        folded = _fold(ch)
        out.append("".join(CONFUSABLES.get(c, c) for c in folded) if i in inside else folded)
    return "".join(out)
