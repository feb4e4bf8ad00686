"""Agreement between two rankings of the same responders: Kendall τ-b with a cluster-bootstrap CI.

Compares the pairwise (Bradley–Terry) ranking of a batch with its absolute-score ranking (responder means),
or with a human pairwise ranking. Both rankings are recomputed on the same context resamples, so the CI
carries the uncertainty of both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from council.pairwise._resample import Contexts, codes_in, number_contexts
from council.pairwise.leaderboard import DEFAULT_L2, StrengthReplicates, bootstrap_strengths, single_attribute
from council.pairwise.types import RankingAgreement
from council.stats.bootstrap import percentile_interval
from council.stats.types import BootstrapSpec

__all__ = ["mean_score_replicates", "pairwise_vs_absolute", "pairwise_vs_pairwise", "ranking_agreement"]


def mean_score_replicates(scores: pd.DataFrame, contexts: Contexts) -> StrengthReplicates:
    """Responder means of absolute scores (``item_id``, ``responder``, ``score``), on the data and per resample.

    A responder's mean is over its scored responses; a resample that lost every response of a responder
    gives NaN for it.
    """
    rows = scores[scores["score"].notna()]
    names = sorted(rows["responder"].astype(str).unique())
    codes = codes_in(rows["item_id"], contexts)
    resp = pd.Categorical(rows["responder"].astype(str), categories=names).codes.astype(np.int64)
    n_ctx, n = len(contexts.names), len(names)
    cell = codes * n + resp
    total = np.bincount(cell, rows["score"].to_numpy(float), minlength=n_ctx * n).reshape(n_ctx, n)
    count = np.bincount(cell, minlength=n_ctx * n).reshape(n_ctx, n).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        reps = (contexts.weights @ total) / (contexts.weights @ count)
    return StrengthReplicates(names, total.sum(0) / count.sum(0), reps)


def ranking_agreement(ranking: StrengthReplicates, reference: StrengthReplicates, *, ranking_name: str,
                      reference_name: str, n_contexts: int, spec: BootstrapSpec) -> RankingAgreement:
    """Kendall τ-b (``scipy.stats.kendalltau``) between two sets of responder values and its bootstrap CI.

    Only responders present in both are compared. ``ranking`` and ``reference`` must come from the same
    context resamples (the same :class:`Contexts`) so replicate b of each is the same resample.

    Raises:
        ValueError: Fewer than 3 shared responders (τ would say nothing).

    """
    shared = sorted(set(ranking.responders) & set(reference.responders))
    if len(shared) < 3:
        raise ValueError(f"need at least 3 responders in both rankings, got {shared}")
    ia = [ranking.responders.index(r) for r in shared]
    ib = [reference.responders.index(r) for r in shared]
    result = kendalltau(ranking.point[ia], reference.point[ib], variant="b")
    replicates = np.full(len(ranking.replicates), np.nan)
    for b, (x, y) in enumerate(zip(ranking.replicates[:, ia], reference.replicates[:, ib], strict=True)):
        if np.isfinite(x).all() and np.isfinite(y).all():
            replicates[b] = kendalltau(x, y, variant="b").statistic
    ci = percentile_interval(replicates, spec.level)
    return RankingAgreement(ranking=ranking_name, reference=reference_name, value=float(result.statistic),
                            ci_low=ci.low, ci_high=ci.high, p_value=float(result.pvalue), n_responders=len(shared),
                            n_contexts=n_contexts, n_boot=spec.n_boot, ci_method=spec.method, level=spec.level)


def pairwise_vs_absolute(outcomes: pd.DataFrame, scores: pd.DataFrame, *, attribute: str | None = None,
                         score: str = "score_a", spec: BootstrapSpec | None = None,
                         l2: float = DEFAULT_L2) -> RankingAgreement:
    """Kendall τ between a batch's Bradley–Terry ranking and its absolute-score ranking of responders.

    Args:
        outcomes: Pairwise outcomes (see :func:`council.pairwise.leaderboard.leaderboard`).
        scores: Absolute scores of the same batch: ``item_id``, ``responder``, ``score`` (e.g. council scores
            of one attribute joined to the candidates' responders).
        attribute: Attribute of the outcomes to rank on.
        score: Outcome score column.
        spec: Bootstrap options; contexts of both inputs are resampled together.
        l2: Ridge penalty of the Bradley–Terry fits.

    """
    spec = spec or BootstrapSpec()
    rows, _ = single_attribute(outcomes, attribute)
    contexts = number_contexts(pd.concat([rows["item_id"], scores["item_id"]]), spec)
    bt = bootstrap_strengths(rows, contexts, score=score, l2=l2)
    means = mean_score_replicates(scores, contexts)
    return ranking_agreement(bt, means, ranking_name="pairwise_bt", reference_name="absolute_mean",
                             n_contexts=len(contexts.names), spec=spec)


def pairwise_vs_pairwise(outcomes: pd.DataFrame, reference: pd.DataFrame, *, attribute: str | None = None,
                         reference_name: str = "human_pairwise_bt", score: str = "score_a",
                         spec: BootstrapSpec | None = None, l2: float = DEFAULT_L2) -> RankingAgreement:
    """Kendall τ between two Bradley–Terry rankings, e.g. the judges' and imported human preferences.

    ``reference`` is an outcome frame of the same shape (``item_id``, ``attribute``, ``responder_a``,
    ``responder_b``, ``score``); both are resampled over the union of their contexts.
    """
    spec = spec or BootstrapSpec()
    rows, _ = single_attribute(outcomes, attribute)
    ref_rows, _ = single_attribute(reference, attribute)
    contexts = number_contexts(pd.concat([rows["item_id"], ref_rows["item_id"]]), spec)
    ours = bootstrap_strengths(rows, contexts, score=score, l2=l2)
    theirs = bootstrap_strengths(ref_rows, contexts, score=score, l2=l2)
    return ranking_agreement(ours, theirs, ranking_name="pairwise_bt", reference_name=reference_name,
                             n_contexts=len(contexts.names), spec=spec)
