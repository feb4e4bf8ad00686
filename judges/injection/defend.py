"""Defences that act on the text a judge receives, so they work whatever the model does.

With the defences on (the default), an untrusted text (a candidate reply, a seeker's turn) is shown to the
judge as:

1. **withheld spans**:

   - in any untrusted text, every span the detector finds addressed to the judge (the whole sentence of an
     instruction, marker look-alikes, score payloads, hidden markup; after a forged *closing* marker, the rest
     of the text) → replaced by the label :data:`WITHHELD`, so no detected instruction reaches the model and
     the judge knows some text was kept from it;
   - in a *candidate reply* only (``role="reply"``), the content manipulations that move a small judge without
     helping the seeker → **dropped** (with the whitespace after them), so the judge reads the reply as if they
     had not been written: an authority claim's clause — from the previous sentence boundary to the next ``.``,
     ``!``, ``?``, ``:``, ``;`` or line end, so "As a licensed psychologist with twenty years of experience, I
     can tell you this:" goes as a whole; each stuffed sentence (one that holds three or more distinct rubric
     terms on its own; a sentence with one or two, and terms spread thinly over a text, are never withheld),
     together with the stock validation phrases right beside it ("Your feelings are valid. I hear you.":
     :data:`judges.injection.content.EMPTY_VALIDATION`, left alone anywhere else); every copy of a sentence
     repeated three times or more. Withholding every copy, the first included, is a choice: a genuine reply
     does not say the same sentence three times, and keeping one copy would leave the attacker's sentence in.
     Dropping rather than labelling is measured: on replies disjoint from the robustness targets, the labels
     (``Defences(content_labels=True)``: :data:`WITHHELD_AUTHORITY`, :data:`WITHHELD_RUBRIC`,
     :data:`WITHHELD_REPEATED`) alone moved the embedded judge by up to 0.20 on 1–5 and 0.11 on 0–2
     (bench/RESULTS.md). In a seeker's message these kinds are only flagged: a seeker who names their profession
     or repeats "I can't do this anymore" is context the judge needs;

   spans that overlap are withheld as one (the judge-addressed label wins, then authority, rubric, repeated);
   content spans of one kind separated only by whitespace are one span;
2. **normalised** — invisible characters dropped, compatibility forms folded, homoglyphs inside mixed-script
   words mapped (:func:`~judges.injection.text.visible_text`), so what the judge reads is what a person sees;
3. delimited as before (:func:`judges.prompts.delimit`: our own markers inside it neutralised).

The original text is never changed: the store keeps it, and cited spans are stored as written. A clean text
(no finding, no hidden character) is shown exactly as without defences, so its prompt and cache key do not
change. With the defences off, step 1 and 2 are skipped (the delimiting of step 3 stays, as it was);
``Defences(withhold=False)`` skips step 1 only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from judges.injection.detect import REMOVABLE, REPLY_REMOVABLE, Finding, Screening, screen
from judges.injection.text import visible_text

__all__ = ["DEFAULT_DEFENCES", "LABELS", "NO_DEFENCES", "WITHHELD", "WITHHELD_AUTHORITY", "WITHHELD_REPEATED",
           "WITHHELD_RUBRIC", "Defences", "Role", "Shielded", "shield"]

WITHHELD = "[withheld: text addressed to the judge]"
"""What the judge sees instead of a span addressed to it (instruction, marker, payload, hidden markup)."""
WITHHELD_AUTHORITY = "[withheld: claimed credentials or approval]"
"""What the judge sees instead of an authority claim's clause in a candidate reply."""
WITHHELD_RUBRIC = "[withheld: rubric keywords]"
"""What the judge sees instead of a stuffed sentence (three or more distinct rubric terms) in a candidate reply."""
WITHHELD_REPEATED = "[withheld: repeated text]"
"""What the judge sees instead of the copies of a sentence repeated three times or more in a candidate reply."""
LABELS: dict[str, str] = {
    "judge_instruction": WITHHELD, "marker_lookalike": WITHHELD, "score_payload": WITHHELD, "hidden_markup": WITHHELD,
    "authority_claim": WITHHELD_AUTHORITY, "rubric_stuffing": WITHHELD_RUBRIC, "padding": WITHHELD_REPEATED,
}
"""Finding kind → the label shown instead of its span."""
_PRECEDENCE = (WITHHELD, WITHHELD_AUTHORITY, WITHHELD_RUBRIC, WITHHELD_REPEATED)
"""Which label an overlap of spans of different kinds shows (first wins)."""

Role = Literal["reply", "context"]
"""What an untrusted text is: the candidate reply being judged, or part of the conversation."""


@dataclass(frozen=True)
class Defences:
    """Which text defences are on (both by default)."""

    withhold: bool = True
    """Withhold the detector's removable spans: judge-addressed ones under :data:`WITHHELD`, content kinds (in
    replies only) dropped or labelled as ``content_labels`` says."""
    normalise: bool = True
    """Show the visible text (no invisible characters, folded forms, homoglyphs mapped in mixed-script words)."""
    content_labels: bool = False
    """``True``: show a withheld *content* span (authority, rubric, repeated) as its label. ``False`` (the
    default): drop it with the whitespace after it, so the judge reads the reply as if it had not been written —
    on replies disjoint from the measured targets the labels alone moved the embedded judge by up to 0.20 (1–5)
    and 0.11 (0–2), dropping by 0.00 (bench/RESULTS.md). Judge-addressed spans always show :data:`WITHHELD`."""

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
    """Original offsets [start, end) withheld (merged, in order)."""
    labels: tuple[str, ...]
    """What is shown for each withheld span (a label of :data:`LABELS`, or "" for a dropped content span),
    parallel to ``withheld``."""
    defences: Defences

    def show(self, start: int = 0, end: int | None = None) -> str:
        """The judge's view of the original's [start, end) (a span of it, or all of it)."""
        end = len(self.original) if end is None else end
        pieces: list[str] = []
        at = start
        for (a, b), label in zip(self.withheld, self.labels, strict=True):
            if b <= start or a >= end:
                continue
            if a > at:
                pieces.append(self._visible(self.original[at:a]))
            if a >= start or at == start:
                pieces.append(label)
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
_CLAUSE_BOUNDARY = ".!?\n:;"


def _sentence(text: str, start: int, end: int, boundary: str = _BOUNDARY) -> tuple[int, int]:
    """The sentence (or line) around [start, end): an instruction's other words are the judge's business too."""
    before = max(text.rfind(ch, 0, start) for ch in boundary) + 1
    while before < start and text[before].isspace():
        before += 1
    after = [i for ch in boundary if (i := text.find(ch, end)) >= 0]
    return before, (min(after) + 1 if after else len(text))


def _withholds(f: Finding, role: Role) -> bool:
    """Whether a finding's span is withheld from the view of a text in this role."""
    if f.kind in REMOVABLE:
        return True
    return role == "reply" and f.kind in REPLY_REMOVABLE and f.scope == "span"


def _extent(f: Finding, text: str) -> tuple[int, int]:
    """The original offsets withheld for a finding (its sentence, clause, to the end, or its own span)."""
    if f.kind == "judge_instruction":
        a, b = _sentence(text, f.start, f.end)
    elif f.kind == "authority_claim":
        a, b = _sentence(text, f.start, f.end, _CLAUSE_BOUNDARY)
    else:
        a, b = f.start, f.end
    return a, len(text) if f.to_end else b


def _dropped(spans: list[tuple[int, int, str]], text: str) -> list[tuple[int, int, str]]:
    """Content spans shown as nothing: each takes the whitespace after it (before it, at the end of the text)."""
    out = []
    for a, b, label in spans:
        if label == WITHHELD:
            out.append((a, b, label))
            continue
        end = b + len(text[b:]) - len(text[b:].lstrip())
        if end == len(text):
            a = len(text[:a].rstrip())
        out.append((a, end, ""))
    return out


def _intervals(screening: Screening, text: str, role: Role) -> list[tuple[int, int, str]]:
    """Merged withheld spans with their labels, in order."""
    spans = sorted((*_extent(f, text), LABELS[f.kind]) for f in screening.findings if _withholds(f, role))
    merged: list[tuple[int, int, str]] = []
    for a, b, label in spans:
        if merged:
            la, lb, ll = merged[-1]
            if a <= lb:  # overlapping or touching: one span, the label of the higher precedence
                merged[-1] = (la, max(lb, b), min(ll, label, key=_PRECEDENCE.index))
                continue
            if label == ll != WITHHELD and not text[lb:a].strip():  # content copies: one label
                merged[-1] = (la, max(lb, b), ll)
                continue
        merged.append((a, b, label))
    return merged


def shield(text: str, defences: Defences = DEFAULT_DEFENCES, *, role: Role = "reply") -> Shielded:
    """Screen an untrusted text and prepare the judge's view of it under ``defences``.

    ``role`` says what the text is: a candidate reply (the content kinds are withheld too) or part of the
    conversation (only what addresses the judge is withheld).
    """
    screening = screen(text)
    spans = _intervals(screening, text, role) if defences.withhold else []
    if not defences.content_labels:
        spans = _dropped(spans, text)
    return Shielded(original=text, screening=screening, withheld=tuple((a, b) for a, b, _ in spans),
                    labels=tuple(label for _, _, label in spans), defences=defences)
