"""Frame-level bias analyses: source-model bias, self-preference, length bias, run-to-run spread."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd
from scipy import stats

from council.stats.bias import mean_difference
from council.stats.frames import paired, validate_tidy, wide_scores
from council.stats.icc import icc_matrix
from council.stats.types import LengthBias, ResponderBias, RunSpread, SelfPreference

_NAN = float("nan")


def source_model_bias(df: pd.DataFrame, rater: str, reference: str, attribute: str) -> list[ResponderBias]:
    """Mean difference (rater − reference) separately on each responder model's responses.

    A judge whose inflation differs by responder favours some systems; this is the per-responder
    view of the system-level comparison.

    Raises:
        ValueError: If the frame has no ``responder`` column.

    """
    df = validate_tidy(df)
    if "responder" not in df.columns:
        raise ValueError("source-model bias needs a 'responder' column")
    p = paired(wide_scores(df), rater, reference, attribute)
    out = []
    for resp in sorted(pd.unique(p.responder)):
        m = p.responder == resp
        out.append(
            ResponderBias(
                rater=rater,
                reference=reference,
                attribute=attribute,
                responder=str(resp),
                estimate=mean_difference(p.x[m], p.y[m]),
            )
        )
    return out


def self_preference(
    df: pd.DataFrame,
    rater: str,
    reference: str,
    attribute: str,
    own_responders: Collection[str],
) -> SelfPreference:
    """Bias on the rater's own responders minus bias on all other responders.

    With a ``context`` column the comparison is paired by context: per context, the mean
    difference on own responses minus the mean difference on the others, then a one-sample t over
    contexts (removes context difficulty, respects clustering). Without context: Welch's t.

    Notes
    -----
    A positive difference means the judge inflates its own family's responses more than others'
    (self-preference). Exclude own family from agreement statistics when this is non-zero.

    References
    ----------
    Panickssery, A., Bowman, S. R., & Feng, S. (2024). LLM evaluators recognize and favor their own
    generations. NeurIPS 2024.

    """
    df = validate_tidy(df)
    own = frozenset(own_responders)
    if not own:
        raise ValueError("own_responders is empty")
    p = paired(wide_scores(df), rater, reference, attribute)
    if p.responder is None:
        raise ValueError("self-preference needs a 'responder' column")
    d = p.y - p.x
    is_own = np.isin(p.responder, list(own))
    bias_own = float(d[is_own].mean()) if is_own.any() else _NAN
    bias_other = float(d[~is_own].mean()) if (~is_own).any() else _NAN
    lo = hi = pv = _NAN
    if p.context is not None:
        method = "paired-by-context t"
        t = pd.DataFrame({"c": p.context, "own": is_own, "d": d}).groupby(["c", "own"])["d"].mean().unstack()
        per = (t.get(True) - t.get(False)).dropna() if {True, False} <= set(t.columns) else pd.Series([])
        if len(per) > 1 and per.std() > 0:
            r = stats.ttest_1samp(per.to_numpy(), 0.0)
            ci = r.confidence_interval(0.95)
            lo, hi, pv = float(ci.low), float(ci.high), float(r.pvalue)
        diff = float(per.mean()) if len(per) else _NAN
    else:
        method = "welch t"
        diff = bias_own - bias_other
        if is_own.sum() > 1 and (~is_own).sum() > 1:
            r = stats.ttest_ind(d[is_own], d[~is_own], equal_var=False)
            ci = r.confidence_interval(0.95)
            lo, hi, pv = float(ci.low), float(ci.high), float(r.pvalue)
    return SelfPreference(
        rater=rater,
        reference=reference,
        attribute=attribute,
        own_responders=sorted(own),
        bias_own=bias_own,
        bias_other=bias_other,
        difference=diff,
        ci_low=lo,
        ci_high=hi,
        p_value=pv,
        n_own=int(is_own.sum()),
        n_other=int((~is_own).sum()),
        ci_method=method,
    )


def length_bias(df: pd.DataFrame, rater: str, reference: str, attribute: str) -> LengthBias:
    """Least-squares slope of (rater − reference) on response length, with a t CI.

    A positive slope means the rater rewards longer responses more than the reference does
    (verbosity bias).

    Raises:
        ValueError: Without a ``length`` column.

    References:
        Zheng, L. et al. (2023). Judging LLM-as-a-judge with MT-Bench and Chatbot Arena (verbosity bias).

    """
    df = validate_tidy(df)
    if "length" not in df.columns:
        raise ValueError("length bias needs a 'length' column")
    lengths = df.groupby("target")["length"].first()
    p = paired(wide_scores(df), rater, reference, attribute)
    ln = lengths.reindex(p.target).to_numpy(dtype=float)
    ok = ~np.isnan(ln)
    d, ln = (p.y - p.x)[ok], ln[ok]
    n = len(d)
    if n < 3 or np.all(ln == ln[0]):
        return LengthBias(
            rater=rater,
            reference=reference,
            attribute=attribute,
            slope=_NAN,
            ci_low=_NAN,
            ci_high=_NAN,
            r=_NAN,
            p_value=_NAN,
            n=n,
        )
    fit = stats.linregress(ln, d)
    t = stats.t.ppf(0.975, n - 2)
    return LengthBias(
        rater=rater,
        reference=reference,
        attribute=attribute,
        slope=float(fit.slope),
        ci_low=float(fit.slope - t * fit.stderr),
        ci_high=float(fit.slope + t * fit.stderr),
        r=float(fit.rvalue),
        p_value=float(fit.pvalue),
        n=n,
    )


def run_spread(df: pd.DataFrame, rater: str, attribute: str) -> RunSpread:
    """Run-to-run spread of a rater that sampled each target several times (``sample`` column).

    Notes
    -----
    Reports the mean within-target SD, the share of targets whose samples disagree, and ICC(1,1)
    with samples as interchangeable raters (test–retest reliability; complete cases over the
    first ``n_samples`` samples).

    References
    ----------
    Shrout & Fleiss (1979), ICC(1,1); see :func:`council.stats.icc.mean_squares`.

    """
    df = validate_tidy(df)
    if "sample" not in df.columns:
        raise ValueError("run-to-run spread needs a 'sample' column")
    sub = df[(df["rater"] == rater) & (df["attribute"] == attribute)].dropna(subset=["score"])
    w = sub.pivot_table(index="target", columns="sample", values="score", aggfunc="mean")
    w = w[w.notna().sum(axis=1) >= 2]
    if w.empty or w.shape[1] < 2:
        return RunSpread(
            rater=rater,
            attribute=attribute,
            n_targets=0,
            n_samples=int(w.shape[1]),
            mean_sd=_NAN,
            share_disagree=_NAN,
            icc_1_1=_NAN,
        )
    sd = w.std(axis=1, ddof=1)
    disagree = (w.max(axis=1) - w.min(axis=1)) > 0
    complete = w.dropna().to_numpy()
    icc1 = _NAN
    if complete.shape[0] >= 2:
        icc1 = next(r.value for r in icc_matrix(complete) if r.form == "ICC(1,1)")
    return RunSpread(
        rater=rater,
        attribute=attribute,
        n_targets=len(w),
        n_samples=int(w.shape[1]),
        mean_sd=float(sd.mean()),
        share_disagree=float(disagree.mean()),
        icc_1_1=float(icc1),
    )
