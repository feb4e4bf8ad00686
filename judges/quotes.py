"""Check that a quoted span really occurs in the text it claims to quote."""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher

__all__ = ["normalise", "quote_occurs"]

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})


def normalise(text: str) -> str:
    """Lower-case, unify quotes and dashes, collapse whitespace, strip surrounding punctuation."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).lower()
    text = re.sub(r"\s+", " ", text)
    return text.strip(" \"'.,;:!?…")


def quote_occurs(quote: str, text: str, threshold: float = 0.9) -> bool:
    """Whether ``quote`` occurs in ``text`` exactly, or as a window at least ``threshold`` similar.

    Small models drop a comma or change a quote mark; a 0.9 similarity window tolerates that but
    rejects paraphrase. Empty quotes are not occurrences.
    """
    q, t = normalise(quote), normalise(text)
    if not q:
        return False
    if q in t:
        return True
    if len(q) < 12 or len(t) < len(q) * threshold:
        return False
    width = len(q)
    step = max(1, width // 8)
    best = 0.0
    for start in range(0, max(1, len(t) - width + 1), step):
        matcher = SequenceMatcher(None, q, t[start : start + width + width // 10], autojunk=False)
        if matcher.quick_ratio() < threshold:
            continue
        best = max(best, matcher.ratio())
        if best >= threshold:
            return True
    return False
