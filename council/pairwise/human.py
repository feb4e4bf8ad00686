"""Agreement of a pairwise jury with imported human pairwise preferences of the same batch.

Three questions, each answered per attribute with a cluster-bootstrap CI over contexts:

1. **Ranking**: Kendall τ-b between the council's Bradley–Terry ranking of the responders (every judge's
   combined-orders outcomes pooled, as in :mod:`council.pairwise.report`) and the Bradley–Terry ranking fitted to
   the human preferences (:func:`council.pairwise.agreement.pairwise_vs_pairwise`; both refitted on the same
   context resamples).
2. **Pairs**: per judge and for the council, the share of human-rated pairs on which its verdict equals the
   human panel's verdict.
3. **Ceiling**: where several humans rated the same pair, how often one human agrees with the others — the
   agreement a judge could hope for.

Ties are handled explicitly:

- A judge's verdict on a pair is its :func:`~council.pairwise.consistency.combine_orders` outcome (the two
  presentation orders must agree, else tie); with several samples, the panel rule below over its samples.
- **Panel rule** (humans on a pair, judges for the council, samples of one judge): the verdict is the label among
  ``a``, ``b``, ``tie`` with strictly the most votes; a panel split without such a label (one ``a`` and one
  ``b``; one ``a`` and one ``tie``) has verdict ``tie`` — taken together it prefers neither.
- ``pair_agreement_rate``: exact agreement over the three labels (a tie matches only a tie).
  ``decisive_agreement_rate``: among the pairs where both verdicts name a winner, the share naming the same one
  (ties left out, n says how many pairs remain).
- Ceiling (``rater="human"``, ``reference="other_humans"``): every (pair, human) where the pair has at least two
  human raters; the human's own label against the panel verdict of the *other* humans (leave one out), with
  the same two statistics. Judges are compared with the verdict of *all* humans of a pair, so on pairs with
  two raters a judge faces one more vote than a human does; read the ceiling as approximate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from council.analysis.errors import AnalysisError
from council.analysis.scope import resolve_scope
from council.pairwise._resample import Contexts, codes_in, number_contexts, ratio_with_ci
from council.pairwise.agreement import pairwise_vs_pairwise
from council.pairwise.consistency import combine_orders
from council.pairwise.types import RankingAgreement
from council.stats.types import BootstrapSpec
from council.store.human_pairs_store import read_human_pairs
from council.store.store import Store

__all__ = ["COUNCIL", "TIE_RULE", "HumanAgreementRate", "HumanPairwiseAgreement", "human_agreement",
           "human_outcomes", "human_pairwise_agreement", "panel_verdicts"]

COUNCIL = "council"
"""The rater name of the council's pair verdicts (the panel verdict of its judges)."""
TIE_RULE = ("panel verdict = the label among a, b, tie with strictly the most votes; a split panel without one "
            "is a tie. pair_agreement_rate: exact match of a/b/tie; decisive_agreement_rate: same winner among "
            "pairs where both name one")
_LABELS = ("a", "b", "tie")
_FLIP = {"a": "b", "b": "a", "tie": "tie"}
_SCORE = {"A": 1.0, "tie": 0.5, "B": 0.0}
_KEY = ["item_id", "attribute", "lo", "hi"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HumanAgreementRate(_Frozen):
    """How often a judge, the council or a human gives the same pair verdict as the (other) humans."""

    rater: str = Field(description="A judge id, 'council', or 'human' (the leave-one-out ceiling).")
    reference: str = Field(description="'human_majority' (all humans of the pair) or 'other_humans' (ceiling).")
    attribute: str
    statistic: str = Field(description="'pair_agreement_rate' (a/b/tie exact) or 'decisive_agreement_rate'.")
    value: float
    ci_low: float
    ci_high: float
    n: int = Field(description="Units compared: pairs (judges, council) or (pair, human) units (ceiling).")
    k: int = Field(description="Distinct human raters behind the reference verdicts of these units.")
    n_contexts: int
    n_boot: int
    ci_method: str = Field(description="'cluster-bootstrap(n, seed=s)' over contexts.")
    level: float = 0.95


class HumanPairwiseAgreement(_Frozen):
    """The pairwise jury of a batch against its human pairwise preferences."""

    batch_id: str | None = None
    tie_rule: str = TIE_RULE
    score: str = Field(description="Outcome score of the council's Bradley–Terry fit ('soft_score_a' when every "
                                   "outcome has logprobs, else 'score_a'); humans always count 1 / 0.5 / 0.")
    rankings: list[RankingAgreement] = Field(description="Per attribute: council BT vs human BT (Kendall τ-b).")
    agreement: list[HumanAgreementRate] = Field(description="Per attribute, judge and council: pair agreement.")
    ceiling: list[HumanAgreementRate] = Field(description="Per attribute: human vs other humans (multi-rated pairs).")
    n_preferences: int = Field(description="Imported human preferences (one human, one pair, one attribute).")
    n_raters: int
    n_pairs: int = Field(description="(context, attribute, unordered pair) units with a human preference.")
    n_pairs_judged: int = Field(description="Of those, the units with a council verdict.")
    n_pairs_multi_rated: int = Field(description="Of those, the units rated by at least two humans.")
    notes: list[str] = Field(default_factory=list, description="What could not be computed, and why.")


def _oriented(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """Add the canonical pair key (``lo`` < ``hi`` candidate ids) and ``label`` re-expressed for lo as 'a'."""
    a, b = frame["candidate_a"].astype(str), frame["candidate_b"].astype(str)
    swap = (a > b).to_numpy()
    out = frame.assign(lo=np.where(swap, b, a), hi=np.where(swap, a, b))
    out["label"] = np.where(swap, frame[label].map(_FLIP), frame[label])
    return out


def panel_verdicts(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per group of ``keys``: the votes for ``a``, ``b``, ``tie`` (column ``label``) and the panel verdict.

    The verdict is the label with strictly the most votes, ``tie`` when no label has (see the module notes).
    Returns one row per group with ``keys``, the three vote counts, ``votes`` and ``verdict``.
    """
    counts = (frame.groupby([*keys, "label"], sort=True).size().unstack(fill_value=0)
              .reindex(columns=list(_LABELS), fill_value=0))
    top = counts.max(axis=1)
    unique_top = counts.eq(top, axis=0).sum(axis=1) == 1
    verdict = counts.idxmax(axis=1).where(unique_top, "tie")
    out = counts.assign(votes=counts.sum(axis=1), verdict=verdict).reset_index()
    out.columns.name = None
    return out


def human_outcomes(preferences: pd.DataFrame) -> pd.DataFrame:
    """Human preferences as an outcome frame for Bradley–Terry (``score_a`` 1 / 0.5 / 0; ``soft_score_a`` equal).

    Args:
        preferences: Rows of ``human_pair_preferences`` (``item_id, attribute, rater, candidate_a, candidate_b,
            responder_a, responder_b, preference``).

    """
    out = preferences[["item_id", "attribute", "rater", "candidate_a", "candidate_b", "responder_a",
                       "responder_b"]].copy()
    out["score_a"] = preferences["preference"].map(_SCORE).astype(float)
    out["soft_score_a"] = out["score_a"]
    out["outcome"] = preferences["preference"].map({"A": "a", "B": "b", "tie": "tie"})
    return out.reset_index(drop=True)


def _rate_records(rater: str, reference: str, attribute: str, ours: np.ndarray, theirs: np.ndarray,
                  items: pd.Series, k: int, contexts: Contexts, spec: BootstrapSpec) -> list[HumanAgreementRate]:
    """pair_agreement_rate and decisive_agreement_rate of aligned verdict arrays, CIs over ``contexts``."""
    codes, weights = codes_in(items, contexts), contexts.weights
    exact = (ours == theirs).astype(float)
    decisive = ((ours != "tie") & (theirs != "tie")).astype(float)
    records = []
    for statistic, numerator, denominator in (("pair_agreement_rate", exact, np.ones(len(ours))),
                                              ("decisive_agreement_rate", exact * decisive, decisive)):
        rate = ratio_with_ci(numerator, denominator, codes, weights, spec.level)
        used = denominator > 0
        records.append(HumanAgreementRate(
            rater=rater, reference=reference, attribute=attribute, statistic=statistic, value=rate.value,
            ci_low=rate.ci_low, ci_high=rate.ci_high, n=int(denominator.sum()), k=k,
            n_contexts=int(np.unique(codes[used]).size), n_boot=spec.n_boot, ci_method=spec.method,
            level=spec.level))
    return records


def _ceiling(humans: pd.DataFrame, contexts: Contexts, spec: BootstrapSpec) -> list[HumanAgreementRate]:
    """Leave-one-out agreement of each human with the other humans of the pair, per attribute."""
    panel = panel_verdicts(humans, _KEY)
    rows = humans.merge(panel[[*_KEY, *_LABELS, "votes"]], on=_KEY)
    rows = rows[rows["votes"] >= 2].reset_index(drop=True)
    if rows.empty:
        return []
    others = rows[list(_LABELS)].to_numpy(float) - np.stack([(rows["label"] == lab).to_numpy(float)
                                                              for lab in _LABELS], axis=1)
    top = others.max(axis=1, keepdims=True)
    unique_top = (others == top).sum(axis=1) == 1
    verdict = np.where(unique_top, np.array(_LABELS)[others.argmax(axis=1)], "tie")
    records = []
    for attribute, pos in rows.groupby("attribute", sort=True).indices.items():
        part = rows.iloc[pos]
        records += _rate_records("human", "other_humans", str(attribute), part["label"].to_numpy(str),
                                 verdict[pos].astype(str), part["item_id"], int(part["rater"].nunique()),
                                 contexts, spec)
    return records


def human_agreement(outcomes: pd.DataFrame, preferences: pd.DataFrame, *, spec: BootstrapSpec | None = None,
                    batch_id: str | None = None) -> HumanPairwiseAgreement:
    """Compare a pairwise jury's outcomes with human preferences of the same contexts (see the module notes).

    Args:
        outcomes: ``combine_orders(verdicts).outcomes`` of the batch's judges.
        preferences: Human preferences (``item_id, attribute, rater, candidate_a, candidate_b, responder_a,
            responder_b, preference`` in A / B / tie, A = candidate_a preferred).
        spec: Bootstrap options; one context numbering for every rate, so their replicates are the same resamples.
        batch_id: Recorded in the result.

    Returns:
        :class:`HumanPairwiseAgreement`.

    Raises:
        ValueError: When there are no human preferences or no outcomes.

    """
    spec = spec or BootstrapSpec()
    if preferences.empty:
        raise ValueError("no human preferences to compare with")
    if outcomes.empty:
        raise ValueError("no pair has a usable verdict in both orders; nothing to compare")
    humans = _oriented(human_outcomes(preferences), "outcome")
    judged = _oriented(outcomes, "outcome")
    per_judge = panel_verdicts(judged, ["judge_id", *_KEY])  # a judge's samples -> one verdict per pair
    council = panel_verdicts(per_judge[["judge_id", *_KEY]].assign(label=per_judge["verdict"]), _KEY)
    human_panel = panel_verdicts(humans, _KEY)
    raters_of = humans.groupby(_KEY)["rater"].agg(lambda r: frozenset(r)).rename("raters").reset_index()
    human_panel = human_panel.merge(raters_of, on=_KEY)
    contexts = number_contexts(pd.concat([human_panel["item_id"], judged["item_id"]]), spec)
    notes: list[str] = []
    agreement: list[HumanAgreementRate] = []
    raters = [*sorted(per_judge["judge_id"].unique()), COUNCIL]
    for rater in raters:
        ours = council if rater == COUNCIL else per_judge[per_judge["judge_id"] == rater]
        both = human_panel.merge(ours[[*_KEY, "verdict"]], on=_KEY, suffixes=("_human", ""))
        for attribute, pos in both.groupby("attribute", sort=True).indices.items():
            part = both.iloc[pos]
            k = len(frozenset().union(*part["raters"]))
            agreement += _rate_records(str(rater), "human_majority", str(attribute), part["verdict"].to_numpy(str),
                                       part["verdict_human"].to_numpy(str), part["item_id"], k, contexts, spec)
    judged_keys = council[_KEY].merge(human_panel[_KEY], on=_KEY)
    unjudged = sorted(set(human_panel["attribute"]) - set(judged["attribute"]))
    if unjudged:
        notes.append(f"attributes {unjudged} have human preferences but no judge verdicts")
    soft = bool(np.isfinite(outcomes["soft_score_a"].to_numpy(dtype=float)).all())
    score = "soft_score_a" if soft else "score_a"
    rankings = []
    for attribute in sorted(set(human_panel["attribute"]) & set(judged["attribute"])):
        try:
            rankings.append(pairwise_vs_pairwise(outcomes, humans, attribute=attribute, score=score, spec=spec))
        except ValueError as e:
            notes.append(f"{attribute}: no Kendall τ ({e})")
    return HumanPairwiseAgreement(
        batch_id=batch_id, score=score, rankings=rankings, agreement=agreement,
        ceiling=_ceiling(humans, contexts, spec), n_preferences=len(preferences),
        n_raters=int(preferences["rater"].nunique()), n_pairs=len(human_panel), n_pairs_judged=len(judged_keys),
        n_pairs_multi_rated=int((human_panel["votes"] >= 2).sum()), notes=notes)


def human_pairwise_agreement(store: Store, batch_id: str, *, owner: str = "local",
                             spec: BootstrapSpec | None = None) -> HumanPairwiseAgreement:
    """:func:`human_agreement` of a stored pairwise batch with the human preferences imported onto it.

    Raises:
        NotFoundError: The owner has no such batch.
        AnalysisError: (field ``batch_id``) No human preferences imported, or no complete judge pair yet.

    """
    resolve_scope(store, batch_id=batch_id, owner=owner)
    preferences = read_human_pairs(store, owner, batch_id)
    if preferences.empty:
        raise AnalysisError("batch_id", "no human pairwise preferences imported for this batch "
                                        "(council ratings import-pairwise FILE --batch ID)")
    verdicts = store.pair_verdicts(batch_id)
    if verdicts.empty:
        raise AnalysisError("batch_id", "the batch has no pairwise verdicts (run it with mode pairwise)")
    outcomes = combine_orders(verdicts).outcomes
    try:
        return human_agreement(outcomes, preferences, spec=spec, batch_id=batch_id)
    except ValueError as e:
        raise AnalysisError("batch_id", str(e)) from e
