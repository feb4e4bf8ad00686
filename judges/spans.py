"""Numbered spans of a text, so that evidence is chosen rather than copied.

A judge cites evidence by span number; with schema-constrained decoding the number is an enum of the
spans that exist, so every citation is grounded by construction (a small model that paraphrases
cannot invent a quote). Without constrained decoding an out-of-range number is dropped.
"""

from __future__ import annotations

import re

__all__ = ["numbered", "split_spans"]

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\s*\n+\s*")
_CLAUSE_END = re.compile(r"(?<=[,;:])\s+")


def _chunks(sentence: str, max_words: int) -> list[str]:
    """A long sentence cut at clause boundaries into pieces of at most about ``max_words`` words."""
    if len(sentence.split()) <= max_words:
        return [sentence]
    out: list[str] = []
    current = ""
    for clause in _CLAUSE_END.split(sentence):
        joined = f"{current} {clause}".strip()
        if current and len(joined.split()) > max_words:
            out.append(current)
            current = clause
        else:
            current = joined
    if current:
        out.append(current)
    return out


def split_spans(text: str, *, max_words: int = 30) -> list[str]:
    """The text's sentences (long ones cut at clause boundaries), in order, each an exact substring."""
    spans: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        sentence = sentence.strip()
        if sentence:
            spans.extend(_chunks(sentence, max_words))
    return spans or [text.strip()]


def numbered(spans: list[str], start: int = 1) -> str:
    """Spans as ``[1] … [2] …`` on one line, for the judge to cite by number.

    An empty span (a reply's span the defences dropped) is left out; the others keep their numbers, so a
    citation still names the span as written.
    """
    return " ".join(f"[{i}] {span}" for i, span in enumerate(spans, start) if span)
