"""Simulated pairwise juries with planted truths (responder strengths, first-position bias, self-preference).

A simulated judge answers each ordered pair as follows: with probability ``first_bias`` it answers "A"
whatever it sees; otherwise with probability ``own_bias`` (only when exactly one side is its own family's
responder) it picks that side; otherwise with probability ``length_bias`` it picks the longer candidate;
otherwise it says "tie" with probability ``tie`` and else picks A with the Bradley–Terry probability
σ(s_first − s_second) of the planted strengths.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from council.pairwise.plan import ordered_pairs, plan_pairs

RESPONDERS = ["r0", "r1", "r2", "r3", "r4", "r5"]
PLANTED = np.array([1.5, 0.9, 0.3, -0.3, -0.9, -1.5])
"""Planted log-strengths of RESPONDERS (best first), 0.6 logits apart."""


@dataclass(frozen=True)
class SimJudge:
    judge_id: str
    first_bias: float = 0.0
    tie: float = 0.0
    own_responder: str | None = None
    own_bias: float = 0.0
    length_bias: float = 0.0


def _answer(rng, judge, first, second, s, responder, length):
    if rng.random() < judge.first_bias:
        return "A"
    own = judge.own_responder
    if own is not None and (responder[first] == own) != (responder[second] == own) and rng.random() < judge.own_bias:
        return "A" if responder[first] == own else "B"
    if length[first] != length[second] and rng.random() < judge.length_bias:
        return "A" if length[first] > length[second] else "B"
    if rng.random() < judge.tie:
        return "tie"
    p_first = 1 / (1 + np.exp(-(s[first] - s[second])))
    return "A" if rng.random() < p_first else "B"


def simulate(judges: list[SimJudge], n_contexts: int = 120, seed: int = 7, strengths=PLANTED,
             responders=RESPONDERS, attribute: str = "overall") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (verdict frame, candidate lengths frame) of every judge on every ordered pair of every context."""
    rng = np.random.default_rng(seed)
    rows, lengths = [], []
    for c in range(n_contexts):
        item = f"i{c:03d}"
        cands = [(f"c{k}", r) for k, r in enumerate(responders)]
        responder = dict(cands)
        s = {cid: strengths[k] for k, (cid, _) in enumerate(cands)}
        length = {cid: int(rng.integers(50, 400)) for cid, _ in cands}
        lengths += [{"item_id": item, "candidate_id": cid, "length": n} for cid, n in length.items()]
        for judge in judges:
            for op in ordered_pairs(plan_pairs(item, cands, "all")):
                rows.append({
                    "item_id": item, "judge_id": judge.judge_id, "attribute": attribute,
                    "first_candidate": op.first, "second_candidate": op.second,
                    "first_responder": responder[op.first], "second_responder": responder[op.second],
                    "order": op.order, "sample": 0,
                    "verdict": _answer(rng, judge, op.first, op.second, s, responder, length),
                    "p_first": np.nan, "p_second": np.nan, "p_tie": np.nan, "preference": np.nan})
    return pd.DataFrame(rows), pd.DataFrame(lengths)
