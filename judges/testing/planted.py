"""A simulated pairwise judge for the fake server: a planted responder ordering and a planted first-position bias.

The fake server answers a pairwise request (a user message holding ``<candidate_a>`` and ``<candidate_b>``
blocks) with this judge when its settings carry ``planted_strengths``: marker text → Bradley–Terry
log-strength. A candidate's strength is that of the longest marker its text contains (0 without one), so a
test or benchmark writes each responder's marker into its candidates' texts; the judge never sees responder
names. For each verdict it answers

    P(A) = b + (1 − b)·σ(s_A − s_B),   P(B) = (1 − b)·(1 − σ(s_A − s_B)),   P(tie) = 0

(up to a small ``tie`` floor in the logprobs), with b = ``first_position_bias``: with probability b it answers
"A" whatever it reads. Over both orders of a pair, (A answers − B answers) / answers then has expectation b.
The verdict is drawn from P with a seeded RNG (seed, request body, attribute), and the reply carries OpenAI
logprobs whose alternatives at the verdict are exactly P, so probability-weighted readings can be checked.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["TIE_FLOOR", "pair_texts", "planted_answer", "verdict_probabilities"]

TIE_FLOOR = 1e-3
"""Probability the logprobs give ``tie`` (the simulated judge never answers it)."""
_VERDICT = re.compile(r'(?<=": ")(A|B|tie)(?=")')


def _block(tag: str, text: str) -> str | None:
    found = re.search(rf"<{tag}>\n?(.*?)\n?</{tag}>", text, flags=re.S)
    return found.group(1) if found else None


def pair_texts(messages: list[dict[str, Any]]) -> tuple[str, str] | None:
    """The texts shown as reply A and reply B in the last user message that has both, else None."""
    for message in reversed(messages):
        content = message.get("content")
        if message.get("role") != "user" or not isinstance(content, str):
            continue
        first, second = _block("candidate_a", content), _block("candidate_b", content)
        if first is not None and second is not None:
            return first, second
    return None


def _strength(text: str, strengths: Mapping[str, float]) -> float:
    for marker in sorted(strengths, key=len, reverse=True):
        if marker in text:
            return float(strengths[marker])
    return 0.0


def verdict_probabilities(first: str, second: str, strengths: Mapping[str, float], bias: float) -> dict[str, float]:
    """P(A), P(B), P(tie) of the simulated judge for these two texts (tie floored at :data:`TIE_FLOOR`)."""
    merit = 1 / (1 + math.exp(-(_strength(first, strengths) - _strength(second, strengths))))
    p = {"A": bias + (1 - bias) * merit, "B": (1 - bias) * (1 - merit), "tie": TIE_FLOOR}
    total = sum(p.values())
    return {k: v / total for k, v in p.items()}


def _with_verdicts(value: Any, draw: Any) -> Any:
    """Every verdict of a schema instance replaced by a draw (``{"attr": "A"}`` or ``{"attr": {"verdict": "A"}}``)."""
    if not isinstance(value, dict):
        return value
    out = {}
    for key, entry in value.items():
        if entry in ("A", "B", "tie"):
            out[key] = draw(key)
        elif isinstance(entry, dict) and entry.get("verdict") in ("A", "B", "tie"):
            out[key] = {**entry, "verdict": draw(key)}
        else:
            out[key] = entry
    return out


def _logprobs(content: str, p: dict[str, float], top: int) -> dict[str, Any]:
    """OpenAI-style logprobs: each verdict one token whose alternatives are P; other text certain runs."""
    alternatives = sorted(((k, math.log(v)) for k, v in p.items()), key=lambda kv: -kv[1])[:max(top, 1)]
    entries, at = [], 0
    for match in _VERDICT.finditer(content):
        if match.start() > at:
            entries.append({"token": content[at:match.start()], "logprob": 0.0, "bytes": None,
                            "top_logprobs": [{"token": content[at:match.start()], "logprob": 0.0, "bytes": None}]})
        token = match.group(1)
        entries.append({"token": token, "logprob": math.log(p[token]), "bytes": None,
                        "top_logprobs": [{"token": t, "logprob": lp, "bytes": None} for t, lp in alternatives]})
        at = match.end()
    if at < len(content):
        entries.append({"token": content[at:], "logprob": 0.0, "bytes": None,
                        "top_logprobs": [{"token": content[at:], "logprob": 0.0, "bytes": None}]})
    return {"content": entries}


def planted_answer(body: dict[str, Any], instance: Any, strengths: Mapping[str, float], bias: float,
                   seed: str) -> tuple[str, dict[str, Any]] | None:
    """The simulated judge's reply text and logprobs for a pairwise request, or None for any other request.

    Args:
        body: The chat-completion request.
        instance: A schema instance of the reply (its rationales are kept, its verdicts replaced).
        strengths: Marker text → log-strength.
        bias: First-position bias b in [0, 1].
        seed: Seed of the draws (the server passes its seed and the body's hash).

    """
    texts = pair_texts(body.get("messages", []))
    if texts is None:
        return None
    p = verdict_probabilities(texts[0], texts[1], strengths, bias)

    def draw(attribute: str) -> str:
        u = random.Random(f"{seed}:{attribute}").random()
        return "A" if u < p["A"] else "B" if u < p["A"] + p["B"] else "tie"

    content = json.dumps(_with_verdicts(instance, draw))
    return content, _logprobs(content, p, int(body.get("top_logprobs") or 1))
