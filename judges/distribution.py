"""Probability-weighted scores: the model's distribution over the scale points where it wrote each score.

For each attribute we find the generated token that holds the score digit, take the alternatives the
provider returned for that position (top logprobs of the raw model distribution), keep those that are
scale points, and renormalise. The score is the distribution's mean (as in G-Eval, Liu et al. 2023), the
confidence 1 − its normalised entropy. Nothing is guessed: a position without a scale point among its
alternatives has no distribution.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from judges.client.records import TokenLogprobs

__all__ = ["ScoreDistribution", "confidence", "expected", "option_distributions", "score_distributions"]

ScoreDistribution = dict[str, float]
"""Scale point (as text) → probability, summing to 1."""


def _token_starts(logprobs: TokenLogprobs) -> list[int]:
    starts, offset = [], 0
    for token, _, _ in logprobs:
        starts.append(offset)
        offset += len(token)
    return starts


def _distribution_at(logprobs: TokenLogprobs, starts: list[int], offset: int,
                     points: Sequence[int | str], strip: str | None = None) -> ScoreDistribution | None:
    """The renormalised distribution over scale points of the token covering character ``offset``.

    ``strip``: characters removed from both ends of an alternative besides whitespace (option strings: the
    JSON quote a provider may merge into the token); None for scale points (the digit path).
    """
    index = next((i for i in range(len(starts) - 1, -1, -1) if starts[i] <= offset), None)
    if index is None:
        return None
    token, logprob, top = logprobs[index]
    prefix = token[: offset - starts[index]]  # text of the chosen token before the digit (e.g. a space)
    wanted = {str(p) for p in points}
    mass: dict[str, float] = {}
    for text, lp in top or [(token, logprob)]:
        if not text.startswith(prefix):
            continue
        point = text[len(prefix):].strip()
        if strip is not None:  # options: a token that only begins one option ("t" of "tie") stands for it
            point = point.strip(strip).strip()
            starting = [o for o in wanted if point and o.startswith(point)]
            point = starting[0] if point not in wanted and len(starting) == 1 else point
        if point in wanted:
            mass[point] = max(mass.get(point, 0.0), math.exp(lp))  # the same text listed twice counts once
    total = sum(mass.values())
    if total <= 0:
        return None
    return {str(p): mass.get(str(p), 0.0) / total for p in points}


def score_distributions(text: str, logprobs: TokenLogprobs | None, attribute_ids: Sequence[str],
                        points: Sequence[int], *, nested: bool) -> dict[str, ScoreDistribution | None]:
    """Per attribute, the distribution at the position of its score in a JSON reply.

    ``nested``: the score sits at ``"attribute": {..., "score": N}``; otherwise at ``"attribute": N``.
    An attribute whose score position cannot be found, or whose alternatives hold no scale point, maps to
    None. The token texts must concatenate to ``text`` (they do for OpenAI-style logprobs).
    """
    out: dict[str, ScoreDistribution | None] = dict.fromkeys(attribute_ids)
    if not logprobs or "".join(t for t, _, _ in logprobs) != text:
        return out
    starts = _token_starts(logprobs)
    for aid in attribute_ids:
        pattern = (rf'"{re.escape(aid)}"\s*:\s*\{{[^{{}}]*?"score"\s*:\s*(-?\d)' if nested
                   else rf'"{re.escape(aid)}"\s*:\s*(-?\d)')
        match = re.search(pattern, text, flags=re.S)
        if match:
            out[aid] = _distribution_at(logprobs, starts, match.start(1), points)
    return out


def expected(distribution: ScoreDistribution) -> float:
    """The mean scale point under the distribution."""
    return sum(int(point) * p for point, p in distribution.items())


def confidence(distribution: ScoreDistribution) -> float:
    """1 − normalised Shannon entropy: 1 when all mass is on one point, 0 when it is uniform."""
    k = len(distribution)
    if k < 2:
        return 1.0
    entropy = -sum(p * math.log(p) for p in distribution.values() if p > 0)
    return max(0.0, min(1.0, 1.0 - entropy / math.log(k)))


def option_distributions(text: str, logprobs: TokenLogprobs | None, fields: Sequence[str], options: Sequence[str],
                         *, nested: bool) -> dict[str, ScoreDistribution | None]:
    """Per field, the distribution over string options (e.g. ``A``/``B``/``tie``) at its value in a JSON reply.

    ``nested``: the value sits at ``"field": {..., "verdict": "X"``; otherwise at ``"field": "X"``. The
    alternatives at the value's first character are matched to the options after stripping whitespace and
    quotes; an alternative that begins exactly one option (``t`` or ``ti`` of a ``tie`` the tokenizer splits)
    counts for that option (under a schema only an option can follow there). A field whose value cannot be
    found, or whose alternatives hold no option, maps to None.
    """
    out: dict[str, ScoreDistribution | None] = dict.fromkeys(fields)
    if not logprobs or "".join(t for t, _, _ in logprobs) != text:
        return out
    starts = _token_starts(logprobs)
    alternation = "|".join(re.escape(o) for o in sorted(options, key=len, reverse=True))
    for name in fields:
        pattern = (rf'"{re.escape(name)}"\s*:\s*\{{[^{{}}]*?"verdict"\s*:\s*"({alternation})"' if nested
                   else rf'"{re.escape(name)}"\s*:\s*"({alternation})"')
        match = re.search(pattern, text, flags=re.S)
        if match:
            out[name] = _distribution_at(logprobs, starts, match.start(1), options, strip='"')
    return out
