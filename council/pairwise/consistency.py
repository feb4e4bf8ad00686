"""Combine the two orders of a pair per judge, and the judge's position statistics.

A judge answers every planned pair twice, once in each order. Its outcome on the pair is the candidate both
orders prefer; when the orders disagree (different winners, or one tie and one winner) the outcome is a tie
and the pair counts against the judge's position-consistency rate. Pairs with only one usable order
(abstention, missing call) get no outcome and are returned separately, never guessed.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from council.pairwise._resample import number_contexts, ratio_with_ci
from council.pairwise.frames import validate_verdicts
from council.pairwise.types import JudgeRate
from council.stats.types import BootstrapSpec

__all__ = ["CombinedOrders", "OUTCOME_KEYS", "combine_orders", "first_position_preference",
           "position_consistency"]

OUTCOME_KEYS: tuple[str, ...] = ("item_id", "judge_id", "attribute", "sample", "candidate_a", "candidate_b")
"""What identifies one outcome: a judge's combined verdict on one unordered pair of one context."""

_SCORE_A = {"a": 1.0, "tie": 0.5, "b": 0.0}


class CombinedOrders(NamedTuple):
    """Outcomes of complete pairs, and the pairs (one row per usable order) that lack their other order."""

    outcomes: pd.DataFrame
    incomplete: pd.DataFrame


def _oriented(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Each usable verdict in the plan's orientation: winner 'a' / 'b' / 'tie' and a's preference."""
    v = verdicts[verdicts["verdict"].notna()].copy()
    ab = v["order"] == "AB"
    v["candidate_a"] = np.where(ab, v["first_candidate"], v["second_candidate"])
    v["candidate_b"] = np.where(ab, v["second_candidate"], v["first_candidate"])
    v["responder_a"] = np.where(ab, v["first_responder"], v["second_responder"])
    v["responder_b"] = np.where(ab, v["second_responder"], v["first_responder"])
    first_wins = {"A": "a", "B": "b", "tie": "tie"}
    second_wins = {"A": "b", "B": "a", "tie": "tie"}
    v["winner"] = np.where(ab, v["verdict"].map(first_wins), v["verdict"].map(second_wins))
    v["preference_a"] = np.where(ab, v["preference"], -v["preference"])
    return v


def combine_orders(verdicts: pd.DataFrame) -> CombinedOrders:
    """Per judge, pair up the AB and BA verdicts of every planned pair and derive the pair's outcome.

    Args:
        verdicts: Verdict frame (:data:`council.pairwise.frames.VERDICT_COLUMNS`); missing verdicts are
            abstentions.

    Returns:
        ``outcomes``: one row per complete pair with :data:`OUTCOME_KEYS`, ``responder_a``/``responder_b``,
        ``winner_ab``/``winner_ba`` (each order's winner in a/b terms), ``outcome`` (a, b or tie),
        ``consistent``, ``score_a`` (1, 0.5, 0) and ``soft_score_a`` = (1 + mean of a's probability-weighted
        preference over both orders) / 2, NaN without logprobs. ``incomplete``: usable verdicts whose
        other order is missing.

    Raises:
        ValueError: On a malformed frame, or an order judged twice for the same key.

    """
    validate_verdicts(verdicts)
    v = _oriented(verdicts)
    keys = list(OUTCOME_KEYS)
    if v.duplicated([*keys, "order"]).any():
        raise ValueError("the same pair, order and sample was judged twice by one judge")
    cols = [*keys, "responder_a", "responder_b", "winner", "preference_a"]
    pair = v[v["order"] == "AB"][cols].merge(v[v["order"] == "BA"][cols], on=keys, how="outer",
                                             suffixes=("_ab", "_ba"), indicator=True)
    complete = pair["_merge"] == "both"
    out = pair[complete].drop(columns=["_merge", "responder_a_ba", "responder_b_ba"])
    out = out.rename(columns={"responder_a_ab": "responder_a", "responder_b_ab": "responder_b"})
    out["consistent"] = out["winner_ab"] == out["winner_ba"]
    out["outcome"] = np.where(out["consistent"], out["winner_ab"], "tie")
    out["score_a"] = out["outcome"].map(_SCORE_A).astype(float)
    out["soft_score_a"] = (1 + (out["preference_a_ab"] + out["preference_a_ba"]) / 2) / 2
    incomplete = v.merge(pair.loc[~complete, keys], on=keys)[list(verdicts.columns)]
    return CombinedOrders(out.reset_index(drop=True), incomplete.reset_index(drop=True))


def _rates(outcomes: pd.DataFrame, statistic: str, numerator: np.ndarray, denominator: np.ndarray,
           spec: BootstrapSpec) -> list[JudgeRate]:
    """One rate per (judge, attribute) with a cluster-bootstrap CI (one context numbering for all)."""
    ctx = number_contexts(outcomes["item_id"], spec)
    records = []
    groups = outcomes.groupby(["judge_id", "attribute"], sort=True).indices
    for (judge, attribute), pos in groups.items():
        rate = ratio_with_ci(numerator[pos], denominator[pos], ctx.codes[pos], ctx.weights, spec.level)
        records.append(JudgeRate(judge_id=str(judge), attribute=str(attribute), statistic=statistic,
                                 value=rate.value, ci_low=rate.ci_low, ci_high=rate.ci_high,
                                 n=int(denominator[pos].sum()), n_contexts=int(np.unique(ctx.codes[pos]).size),
                                 n_boot=spec.n_boot, ci_method=spec.method, level=spec.level))
    return records


def position_consistency(outcomes: pd.DataFrame, spec: BootstrapSpec | None = None) -> list[JudgeRate]:
    """Per judge and attribute: the share of complete pairs whose two orders give the same answer.

    Args:
        outcomes: ``combine_orders(...).outcomes``.
        spec: Bootstrap options (contexts are resampled; one weight matrix for every judge).

    Returns:
        ``position_consistency_rate`` records; ``n`` = complete pairs.

    Notes:
        A judge that answers by content alone is consistent on every pair; a judge that answers "first" with
        probability b regardless of content is inconsistent on about b of the pairs it would otherwise
        decide. Read it next to :func:`first_position_preference`, which says which position wins.

    """
    spec = spec or BootstrapSpec()
    if outcomes.empty:
        return []
    consistent = outcomes["consistent"].to_numpy(dtype=float)
    return _rates(outcomes, "position_consistency_rate", consistent, np.ones(len(outcomes)), spec)


def first_position_preference(outcomes: pd.DataFrame, spec: BootstrapSpec | None = None) -> list[JudgeRate]:
    """Per judge and attribute: how much more often the first-shown candidate wins than the second.

    Counted over both orders of complete pairs, so each candidate is shown first as often as second and
    content cancels out: an unbiased judge scores 0.

    Args:
        outcomes: ``combine_orders(...).outcomes``.
        spec: Bootstrap options.

    Returns:
        Two records per judge and attribute: ``first_position_bias`` = (verdicts for the first − verdicts
        for the second) / all verdicts, in [−1, 1]; and ``first_position_rate_decisive`` = verdicts for the
        first / verdicts naming a winner (0.5 = none). ``n`` = verdicts counted.

    Notes:
        If with probability b a judge answers "A" whatever it is shown, and otherwise answers by content,
        ``first_position_bias`` equals b whatever its tie rate; ``first_position_rate_decisive`` is then
        above 0.5 + b/2 when the judge also gives ties.

    """
    spec = spec or BootstrapSpec()
    if outcomes.empty:
        return []
    ab, ba = outcomes["winner_ab"].to_numpy(), outcomes["winner_ba"].to_numpy()
    first = (ab == "a").astype(float) + (ba == "b")
    second = (ab == "b").astype(float) + (ba == "a")
    both = np.full(len(outcomes), 2.0)
    return [*_rates(outcomes, "first_position_bias", first - second, both, spec),
            *_rates(outcomes, "first_position_rate_decisive", first, first + second, spec)]
