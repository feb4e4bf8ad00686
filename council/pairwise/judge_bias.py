"""Per-judge biases in pairwise outcomes: self-preference for its own model family, and length preference."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from council.pairwise._resample import codes_in, number_contexts, ratio_with_ci
from council.pairwise.types import JudgeRate, SelfPreference
from council.stats.types import BootstrapSpec

__all__ = ["length_preference", "self_preference"]

_UNIT = ["item_id", "attribute", "candidate_a", "candidate_b"]


def _own_score(outcomes: pd.DataFrame, family: str, responder_family: Mapping[str, str]) -> pd.DataFrame:
    """Outcomes of pairs with exactly one own-family side, with that side's score (1 / 0.5 / 0)."""
    fam_a = outcomes["responder_a"].map(responder_family)
    fam_b = outcomes["responder_b"].map(responder_family)
    mixed = (fam_a == family) != (fam_b == family)
    rows = outcomes[mixed].copy()
    rows["own"] = np.where(fam_a[mixed] == family, rows["score_a"], 1 - rows["score_a"])
    return rows


def self_preference(outcomes: pd.DataFrame, judge_family: Mapping[str, str], responder_family: Mapping[str, str],
                    spec: BootstrapSpec | None = None) -> list[SelfPreference]:
    """Whether a judge lets its own family's responders win more often than other judges do, on the same pairs.

    For judge j of family f, take every pair of one f-family responder against a responder of another
    family; compare the f-side's win rate (ties half) under j with its mean win rate under the judges of
    other families on the same (context, attribute, pair). Judges of family f are left out of the
    comparison group, since they may share the bias.

    Args:
        outcomes: ``combine_orders(...).outcomes`` (samples are averaged per unit).
        judge_family: judge_id → model family; judges without a family are skipped.
        responder_family: responder → model family (people and unknown models may be missing).
        spec: Bootstrap options; contexts are resampled.

    Returns:
        One record per (judge, attribute) with at least one shared unit. ``difference`` > 0 is
        self-preference, with a cluster-bootstrap percentile CI.

    Notes:
        Pairwise self-preference is measured against other judges, not against humans: the opponents and
        contexts are the same, so a difference is the judge's, not the responders'.

    """
    spec = spec or BootstrapSpec()
    ctx = number_contexts(outcomes["item_id"], spec) if len(outcomes) else None
    records = []
    for judge, family in sorted(judge_family.items()):
        own = _own_score(outcomes, family, responder_family)
        unit = own.groupby([*_UNIT, "judge_id"], sort=False)["own"].mean().reset_index()
        others = [j for j, f in judge_family.items() if f != family]
        mine = unit[unit["judge_id"] == judge].drop(columns="judge_id")
        rest = unit[unit["judge_id"].isin(others)].groupby(_UNIT)["own"].mean().reset_index()
        both = mine.merge(rest, on=_UNIT, suffixes=("_judge", "_others"))
        if both.empty or ctx is None:
            continue
        own_responders = sorted(r for r, f in responder_family.items() if f == family)
        for attribute, rows in both.groupby("attribute", sort=True):
            codes = codes_in(rows["item_id"], ctx)
            diff = rows["own_judge"].to_numpy() - rows["own_others"].to_numpy()
            rate = ratio_with_ci(diff, np.ones(len(rows)), codes, ctx.weights, spec.level)
            records.append(SelfPreference(
                judge_id=judge, family=family, attribute=str(attribute), own_responders=own_responders,
                win_rate_judge=float(rows["own_judge"].mean()), win_rate_others=float(rows["own_others"].mean()),
                difference=rate.value, ci_low=rate.ci_low, ci_high=rate.ci_high, n_pairs=len(rows),
                n_contexts=int(rows["item_id"].nunique()), n_boot=spec.n_boot, ci_method=spec.method,
                level=spec.level))
    return records


def length_preference(outcomes: pd.DataFrame, lengths: pd.DataFrame,
                      spec: BootstrapSpec | None = None) -> list[JudgeRate]:
    """Per judge and attribute: how often the longer candidate of a pair wins (ties half; 0.5 = indifferent).

    Args:
        outcomes: ``combine_orders(...).outcomes``.
        lengths: ``item_id``, ``candidate_id``, ``length`` (characters or tokens, as long as one unit).
        spec: Bootstrap options.

    Returns:
        ``longer_wins_rate`` records over pairs of unequal length; ``n`` = such outcomes.

    Notes:
        Longer answers may also be better, so read a judge's rate against other judges' or the humans' on
        the same pairs: a judge clearly above them prefers length, not content.

    """
    spec = spec or BootstrapSpec()
    table = lengths.set_index(["item_id", "candidate_id"])["length"]
    len_a = pd.Series(table.reindex(pd.MultiIndex.from_frame(outcomes[["item_id", "candidate_a"]])).to_numpy())
    len_b = pd.Series(table.reindex(pd.MultiIndex.from_frame(outcomes[["item_id", "candidate_b"]])).to_numpy())
    if len_a.isna().any() or len_b.isna().any():
        raise ValueError("a compared candidate has no length")
    differ = (len_a != len_b).to_numpy()
    rows = outcomes[differ].reset_index(drop=True)
    if rows.empty:
        return []
    longer_a = (len_a[differ] > len_b[differ]).to_numpy()
    longer_score = np.where(longer_a, rows["score_a"], 1 - rows["score_a"])
    ctx = number_contexts(rows["item_id"], spec)
    records = []
    for (judge, attribute), pos in rows.groupby(["judge_id", "attribute"], sort=True).indices.items():
        rate = ratio_with_ci(longer_score[pos], np.ones(len(pos)), ctx.codes[pos], ctx.weights, spec.level)
        records.append(JudgeRate(judge_id=str(judge), attribute=str(attribute), statistic="longer_wins_rate",
                                 value=rate.value, ci_low=rate.ci_low, ci_high=rate.ci_high, n=len(pos),
                                 n_contexts=int(np.unique(ctx.codes[pos]).size), n_boot=spec.n_boot,
                                 ci_method=spec.method, level=spec.level))
    return records
