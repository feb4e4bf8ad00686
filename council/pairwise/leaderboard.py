"""The pairwise leaderboard: Bradley–Terry strengths with cluster-bootstrap CIs, rank intervals, separability.

Outcomes of one context share its help-seeker and difficulty, so the bootstrap resamples whole contexts.
Each replicate re-weights per-context sums of (win share, comparisons) per responder pair and refits the
strengths from the point estimate; a replicate whose comparisons no longer connect every responder is
dropped (counted in the CI's valid replicates, not guessed).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from council.pairwise._resample import Contexts, codes_in, number_contexts
from council.pairwise.bradley_terry import FIT_METHOD, TIES, comparisons, fit_strengths, is_connected, win_rates
from council.pairwise.types import Leaderboard, NeighbourSeparation, ResponderStrength, WinRate
from council.stats.bootstrap import percentile_interval
from council.stats.types import BootstrapSpec

__all__ = ["StrengthReplicates", "bootstrap_strengths", "leaderboard", "single_attribute"]

DEFAULT_L2 = 1e-3
"""Ridge on the strengths in leaderboards: keeps a replicate finite when a responder wins every comparison
it is resampled into; at a few dozen comparisons per responder it moves strengths by < 0.01."""


class StrengthReplicates(NamedTuple):
    """Point strengths (R,) and bootstrap replicates (B, R) of the same responders, NaN rows = dropped."""

    responders: list[str]
    point: np.ndarray
    replicates: np.ndarray


def single_attribute(outcomes: pd.DataFrame, attribute: str | None) -> tuple[pd.DataFrame, str]:
    """Rows of one attribute (all rows when ``attribute`` is None and there is only one).

    Raises:
        ValueError: When several attributes remain: a leaderboard is per attribute.

    """
    rows = outcomes if attribute is None else outcomes[outcomes["attribute"] == attribute]
    names = rows["attribute"].unique()
    if len(names) != 1:
        raise ValueError(f"expected outcomes of exactly one attribute, got {sorted(map(str, names))}")
    return rows, str(names[0])


def bootstrap_strengths(outcomes: pd.DataFrame, contexts: Contexts, *, score: str = "score_a",
                        responders: list[str] | None = None, l2: float = DEFAULT_L2) -> StrengthReplicates:
    """Bradley–Terry strengths on the data and on every context resample of ``contexts``.

    Args:
        outcomes: Outcome frame (``item_id``, ``responder_a``, ``responder_b``, ``score``).
        contexts: A context numbering with its bootstrap weights (shared with other statistics so their
            replicates are the same resamples); every ``item_id`` must be in it.
        score: Score column.
        responders: Responder order of the result (default: sorted names in the outcomes).
        l2: Ridge penalty (see :data:`DEFAULT_L2`).

    """
    rows = outcomes[outcomes[score].notna() & (outcomes["responder_a"] != outcomes["responder_b"])]
    c = comparisons(rows, score, responders)
    n = len(c.responders)
    if n < 2 or not is_connected(n, c.a, c.b, c.w):
        raise ValueError("the comparisons do not connect at least two responders into one scale")
    codes = codes_in(rows["item_id"], contexts)
    lo, hi = np.minimum(c.a, c.b), np.maximum(c.a, c.b)
    y = np.where(c.a == lo, c.y, 1 - c.y)  # the share of the lower-index responder
    pair_ids, pair = np.unique(lo * n + hi, return_inverse=True)
    n_ctx, n_pairs = len(contexts.names), len(pair_ids)
    cell = codes * n_pairs + pair
    wins = np.bincount(cell, c.w * y, minlength=n_ctx * n_pairs).reshape(n_ctx, n_pairs)
    count = np.bincount(cell, c.w, minlength=n_ctx * n_pairs).reshape(n_ctx, n_pairs)
    pa, pb = pair_ids // n, pair_ids % n
    point = fit_strengths(n, pa, pb, wins.sum(0) / count.sum(0), count.sum(0), l2=l2)
    bw, bn = contexts.weights @ wins, contexts.weights @ count
    replicates = np.full((len(bn), n), np.nan)
    for b in range(len(bn)):
        keep = bn[b] > 0
        if is_connected(n, pa[keep], pb[keep], bn[b][keep]):
            replicates[b] = fit_strengths(n, pa[keep], pb[keep], bw[b][keep] / bn[b][keep], bn[b][keep], l2=l2,
                                          start=point)
    return StrengthReplicates(c.responders, point, replicates)


def _ranks(strengths: np.ndarray) -> np.ndarray:
    """Competition ranks along the last axis: 1 + how many responders are strictly stronger."""
    return 1 + (strengths[..., None, :] > strengths[..., :, None]).sum(-1)


def _neighbours(names: list[str], order: np.ndarray, reps: StrengthReplicates,
                level: float) -> list[NeighbourSeparation]:
    out = []
    for hi, lo in zip(order[:-1], order[1:], strict=True):
        diff = reps.replicates[:, hi] - reps.replicates[:, lo]
        ci = percentile_interval(diff, level)
        valid = diff[np.isfinite(diff)]
        out.append(NeighbourSeparation(
            higher=names[hi], lower=names[lo], difference=float(reps.point[hi] - reps.point[lo]),
            ci_low=ci.low, ci_high=ci.high, share_ordered=float((valid > 0).mean()) if valid.size else float("nan"),
            separable=bool(ci.low > 0)))
    return out


def leaderboard(outcomes: pd.DataFrame, *, attribute: str | None = None, score: str = "score_a",
                spec: BootstrapSpec | None = None, l2: float = DEFAULT_L2) -> Leaderboard:
    """Rank responders by Bradley–Terry strength from judges' (or humans') pairwise outcomes.

    Every outcome (one judge's combined verdict on one pair of one context) is one comparison.

    Args:
        outcomes: ``combine_orders(...).outcomes``, or any frame with ``item_id``, ``attribute``,
            ``responder_a``, ``responder_b`` and ``score``.
        attribute: Which attribute to rank on (may be omitted when the frame has one).
        score: ``score_a`` (win/tie/loss) or ``soft_score_a`` (probability-weighted).
        spec: Bootstrap options; contexts are the clusters.
        l2: Ridge penalty on the strengths.

    Returns:
        Strengths with percentile CIs, rank intervals (percentiles of the replicates' ranks), whether each
        pair of neighbouring ranks is separable (CI of their difference excludes 0), and the observed
        win-rate matrix.

    Notes:
        Strengths are natural log-odds: P(i beats j) = σ(s_i − s_j). A rank interval such as 2–4 says the
        data do not pin a responder's place more tightly; report ranks with it.

    """
    spec = spec or BootstrapSpec()
    rows, name = single_attribute(outcomes, attribute)
    contexts = number_contexts(rows["item_id"], spec)
    reps = bootstrap_strengths(rows, contexts, score=score, l2=l2)
    order = np.argsort(-reps.point, kind="stable")
    point_rank = _ranks(reps.point)
    rep_ranks = _ranks(reps.replicates[np.isfinite(reps.replicates).all(1)])
    a = (1 - spec.level) / 2
    c = comparisons(rows, score, reps.responders)
    played = np.bincount(c.a, c.w, len(c.responders)) + np.bincount(c.b, c.w, len(c.responders))
    won = np.bincount(c.a, c.w * c.y, len(c.responders)) + np.bincount(c.b, c.w * (1 - c.y), len(c.responders))
    strengths = []
    for i in order:
        ci = percentile_interval(reps.replicates[:, i], spec.level)
        low, high = np.quantile(rep_ranks[:, i], [a, 1 - a]) if len(rep_ranks) else (np.nan, np.nan)
        strengths.append(ResponderStrength(
            responder=reps.responders[i], strength=float(reps.point[i]), ci_low=ci.low, ci_high=ci.high,
            rank=int(point_rank[i]), rank_low=int(np.floor(low)) if np.isfinite(low) else int(point_rank[i]),
            rank_high=int(np.ceil(high)) if np.isfinite(high) else int(point_rank[i]),
            comparisons=int(played[i]), wins=float(won[i])))
    matrix = win_rates(rows, score)
    return Leaderboard(
        attribute=name, ties=TIES, fit=f"{FIT_METHOD}, l2={l2:g}", strengths=strengths,
        neighbours=_neighbours(reps.responders, order, reps, spec.level),
        win_rates=[WinRate(responder=r.responder, opponent=r.opponent, win_rate=float(r.win_rate), n=int(r.n))
                   for r in matrix.itertuples()],
        n_outcomes=len(c.a), n_contexts=len(contexts.names), n_boot=spec.n_boot, ci_method=spec.method,
        level=spec.level)
