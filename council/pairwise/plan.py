"""Which pairs of candidates a context gets, in which orders, and how many judge calls that costs.

The ``pairs`` option of a pairwise batch bounds the cost: ``"all"`` (every unordered pair),
an integer ``n`` (n pairs per context, drawn deterministically from a seed and the item id, so a re-run
plans the same pairs and is served from the cache), or ``"reference:RESPONDER"`` (every candidate against
the reference responder's, as the LMC did). Every planned pair is judged in both orders.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from council.pairwise.types import Order

__all__ = ["OrderedPair", "PairsSpec", "PlannedPair", "calls_per_context", "ordered_pairs", "parse_pairs",
           "plan_pairs", "planned_calls"]

REFERENCE_PREFIX = "reference:"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PairsSpec(_Frozen):
    """The parsed ``pairs`` option."""

    kind: Literal["all", "sample", "reference"]
    n: int | None = Field(None, ge=1, description="Pairs per context when kind = 'sample'.")
    reference: str | None = Field(None, description="Reference responder when kind = 'reference'.")


class PlannedPair(_Frozen):
    """An unordered pair, oriented as planned: ``a`` comes before ``b`` in the context's candidate list."""

    a: str
    b: str


class OrderedPair(_Frozen):
    """One call's presentation of a planned pair."""

    first: str
    second: str
    order: Order


def parse_pairs(option: str | int) -> PairsSpec:
    """Parse a ``pairs`` option: ``"all"``, a positive integer (or its string), or ``"reference:RESPONDER"``.

    Raises:
        ValueError: For anything else (zero or negative counts, an empty reference name).

    """
    if isinstance(option, bool):
        raise ValueError(f"pairs must be 'all', a positive integer or 'reference:RESPONDER', got {option!r}")
    if isinstance(option, int) or (isinstance(option, str) and option.strip().isdigit()):
        n = int(option)
        if n < 1:
            raise ValueError(f"pairs per context must be at least 1, got {n}")
        return PairsSpec(kind="sample", n=n)
    text = option.strip()
    if text == "all":
        return PairsSpec(kind="all")
    if text.startswith(REFERENCE_PREFIX) and text[len(REFERENCE_PREFIX):].strip():
        return PairsSpec(kind="reference", reference=text[len(REFERENCE_PREFIX):].strip())
    raise ValueError(f"pairs must be 'all', a positive integer or 'reference:RESPONDER', got {option!r}")


def _item_rng(seed: int, item_id: str) -> np.random.Generator:
    # Python's hash() is salted per process; a digest gives the same draw in every process and every run.
    digest = hashlib.sha256(f"{seed}\x00{item_id}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def plan_pairs(item_id: str, candidates: Sequence[tuple[str, str]], pairs: str | int | PairsSpec,
               seed: int = 0) -> list[PlannedPair]:
    """The unordered pairs one context gets, each oriented as (earlier candidate, later candidate).

    Args:
        item_id: The context's id (part of the sampling seed, so contexts draw different pairs).
        candidates: (candidate_id, responder) in the context's order.
        pairs: The ``pairs`` option, raw or parsed.
        seed: Batch-level seed of the ``n`` pairs per context draw.

    Returns:
        Planned pairs in candidate order. With ``n`` ≥ all pairs, every pair. With a reference responder
        absent from the context, none (nothing to compare against); each of its candidates is paired with
        every candidate of another responder.

    """
    spec = pairs if isinstance(pairs, PairsSpec) else parse_pairs(pairs)
    ids = [c for c, _ in candidates]
    if len(set(ids)) != len(ids):
        raise ValueError(f"item {item_id!r}: candidate ids are not unique")
    every = [PlannedPair(a=a, b=b) for a, b in itertools.combinations(ids, 2)]
    if spec.kind == "all":
        return every
    if spec.kind == "sample":
        n = spec.n or len(every)
        if n >= len(every):
            return every
        chosen = _item_rng(seed, item_id).choice(len(every), size=n, replace=False)
        return [every[i] for i in sorted(chosen)]
    refs = {c for c, r in candidates if r == spec.reference}
    return [p for p in every if (p.a in refs) != (p.b in refs)]


def ordered_pairs(planned: Sequence[PlannedPair]) -> list[OrderedPair]:
    """Both presentations of every planned pair: (a, b) as ``AB`` and (b, a) as ``BA``."""
    return [OrderedPair(first=f, second=s, order=o) for p in planned
            for f, s, o in ((p.a, p.b, "AB"), (p.b, p.a, "BA"))]


def planned_calls(n_pairs: int, *, tom: bool = True, domain: bool = True, samples: int = 1) -> int:
    """Calls one judge makes on one context with ``n_pairs`` planned (unordered) pairs.

    ToM and domain run once per (judge, context) and are shared with absolute scoring; each pair costs one
    call per order and sample (a call answers every attribute the protocol asks about).
    """
    if n_pairs < 0 or samples < 1:
        raise ValueError("n_pairs must be >= 0 and samples >= 1")
    return int(tom) + int(domain) + 2 * n_pairs * samples


def calls_per_context(k: int, pairs: str | int | PairsSpec = "all", *, tom: bool = True, domain: bool = True,
                      samples: int = 1, reference_candidates: int = 1) -> int:
    """Calls one judge makes on a context of ``k`` candidates: ``2 + k(k−1)`` for all pairs, ToM and domain on.

    Args:
        k: Candidates in the context.
        pairs: The ``pairs`` option.
        tom: Whether the judge runs the ToM agent.
        domain: Whether the judge runs the domain agent.
        samples: Samples per ordered pair.
        reference_candidates: With ``reference:R``, how many of the k candidates are R's (0 = none: no pairs).

    """
    spec = pairs if isinstance(pairs, PairsSpec) else parse_pairs(pairs)
    every = k * (k - 1) // 2
    if spec.kind == "all":
        n_pairs = every
    elif spec.kind == "sample":
        n_pairs = min(spec.n or every, every)
    else:
        r = min(reference_candidates, k)
        n_pairs = r * (k - r)  # reference candidates against the others (never against each other)
    return planned_calls(n_pairs, tom=tom, domain=domain, samples=samples)
