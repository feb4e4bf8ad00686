"""Defences that act on the text a judge receives, so they work whatever the model does.

With the defences on (the default), an untrusted text (a candidate reply, a seeker's turn) is shown to the
judge as:

1. **withheld spans** — every span the detector finds addressed to the judge (the whole sentence of an
   instruction, marker look-alikes, score payloads, hidden markup; after a forged *closing* marker, the rest of
   the text) is replaced by :data:`WITHHELD`, so no detected instruction reaches the model;
2. **normalised** — invisible characters dropped, compatibility forms folded, homoglyphs inside mixed-script
   words mapped (:func:`~judges.injection.text.visible_text`), so what the judge reads is what a person sees;
3. delimited as before (:func:`judges.prompts.delimit`: our own markers inside it neutralised).

The original text is never changed: the store keeps it, and cited spans are stored as written. A clean text
(no finding, no hidden character) is shown exactly as without defences, so its prompt and cache key do not
change. With the defences off, step 1 and 2 are skipped (the delimiting of step 3 stays, as it was).
"""

from __future__ import annotations

from dataclasses import dataclass

from judges.injection.detect import REMOVABLE, Screening, screen
from judges.injection.text import visible_text

__all__ = ["DEFAULT_DEFENCES", "NO_DEFENCES", "WITHHELD", "Defences", "Shielded", "shield"]

WITHHELD = "[withheld: text addressed to the judge]"
"""What the judge sees instead of a span addressed to it."""


@dataclass(frozen=True)
class Defences:
    """Which text defences are on (both by default)."""

    withhold: bool = True
    """Replace the detector's removable spans by :data:`WITHHELD`."""
    normalise: bool = True
    """Show the visible text (no invisible characters, folded forms, homoglyphs mapped in mixed-script words)."""

    @property
    def any(self) -> bool:
        """Whether any defence is on."""
        return self.withhold or self.normalise


DEFAULT_DEFENCES = Defences()
NO_DEFENCES = Defences(withhold=False, normalise=False)


@dataclass(frozen=True)
class Shielded:
    """An untrusted text prepared for a judge."""

    original: str
    screening: Screening
    withheld: tuple[tuple[int, int], ...]
    """Original offsets [start, end) replaced by :data:`WITHHELD` (merged, in order)."""
    defences: Defences

    def show(self, start: int = 0, end: int | None = None) -> str:
        """The judge's view of the original's [start, end) (a span of it, or all of it)."""
        end = len(self.original) if end is None else end
        pieces: list[str] = []
        at = start
        for a, b in self.withheld:
            if b <= start or a >= end:
                continue
            if a > at:
                pieces.append(self._visible(self.original[at:a]))
            if a >= start or at == start:
                pieces.append(WITHHELD)
            at = max(at, min(b, end))
        if at < end:
            pieces.append(self._visible(self.original[at:end]))
        return "".join(pieces)

    def show_parts(self, parts: list[str]) -> list[str]:
        """The judge's view of each part (exact substrings of the original, in order, e.g. its spans)."""
        out, at = [], 0
        for part in parts:
            found = self.original.find(part, at)
            if found < 0:  # not a substring (should not happen): show it normalised only
                out.append(self._visible(part))
                continue
            out.append(self.show(found, found + len(part)))
            at = found + len(part)
        return out

    def _visible(self, text: str) -> str:
        return visible_text(text) if self.defences.normalise else text


_BOUNDARY = ".!?\n"


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence (or line) around [start, end): an instruction's other words are the judge's business too."""
    before = max(text.rfind(ch, 0, start) for ch in _BOUNDARY) + 1
    while before < start and text[before].isspace():
        before += 1
    after = [i for ch in _BOUNDARY if (i := text.find(ch, end)) >= 0]
    return before, (min(after) + 1 if after else len(text))


def _intervals(screening: Screening, text: str) -> tuple[tuple[int, int], ...]:
    length = len(text)
    spans = sorted(
        (a, length if f.to_end else b)
        for f in screening.findings if f.kind in REMOVABLE
        for a, b in [_sentence(text, f.start, f.end) if f.kind == "judge_instruction" else (f.start, f.end)]
    )
    merged: list[list[int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return tuple((a, b) for a, b in merged)


def shield(text: str, defences: Defences = DEFAULT_DEFENCES) -> Shielded:
    """Screen an untrusted text and prepare the judge's view of it under ``defences``."""
    screening = screen(text)
    withheld = _intervals(screening, text) if defences.withhold else ()
    return Shielded(original=text, screening=screening, withheld=withheld, defences=defences)
