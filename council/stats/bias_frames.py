"""Frame-level bias analyses: source-model bias, self-preference, length bias, run-to-run spread.

Each takes a tidy frame; ``wide`` may pass precomputed arrays (:func:`council.stats.cube.build_cube`)
so that a report over many raters and attributes builds them once.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd
from scipy import stats

from council.stats.bias import mean_difference
from council.stats.cube import build_cube
from council.stats.frames import Paired, WideArrays, paired, validate_tidy
from council.stats.icc import icc_matrix
from council.stats.types import LengthBias, ResponderBias, RunSpread, SelfPreference

_NAN = float("nan")


def _arrays(df: pd.DataFrame | None, wide: WideArrays | None) -> WideArrays:
    if wide is not None:
        return wide
    if df is None:
        raise ValueError("pass a tidy frame or precomputed arrays")
    return build_cube(validate_tidy(df))


def source_model_bias(
    df: pd.DataFrame | None, rater: str, reference: str, attribute: str, *, wide: WideArrays | None = None
) -> list[ResponderBias]:
    """Mean difference (rater − reference) separately on each responder model's responses.

    A judge whose inflation differs by responder favours some systems; this is the per-responder
    view of the system-level comparison.

    Raises:
        ValueError: If the frame has no ``responder`` column.

    """
    p = paired(_arrays(df, wide), rater, reference, attribute)
    if p.responder is None:
        raise ValueError("source-model bias needs a 'responder' column")
    return [
        ResponderBias(
            rater=rater,
            reference=reference,
            attribute=attribute,
            responder=str(resp),
            estimate=mean_difference(p.x[p.responder == resp], p.y[p.responder == resp]),
        )
        for resp in sorted(pd.unique(p.responder))
    ]


def _paired_by_context(p: Paired, is_own: np.ndarray) -> tuple[float, float, float, float]:
    """(difference, ci_low, ci_high, p) of per-context own-minus-other mean differences."""
    d = pd.DataFrame({"c": p.context, "own": is_own, "d": p.y - p.x}).groupby(["c", "own"])["d"].mean()
    t = d.unstack()
    if not {True, False} <= set(t.columns):
        return _NAN, _NAN, _NAN, _NAN
    per = (t[True] - t[False]).dropna().to_numpy()
    if len(per) < 2 or np.all(per == per[0]):
        return (float(per.mean()) if len(per) else _NAN), _NAN, _NAN, _NAN
    r = stats.ttest_1samp(per, 0.0)
    ci = r.confidence_interval(0.95)
    return float(per.mean()), float(ci.low), float(ci.high), float(r.pvalue)


def _welch(d: np.ndarray, is_own: np.ndarray) -> tuple[float, float, float, float]:
    diff = float(d[is_own].mean() - d[~is_own].mean()) if is_own.any() and (~is_own).any() else _NAN
    if is_own.sum() < 2 or (~is_own).sum() < 2:
        return diff, _NAN, _NAN, _NAN
    r = stats.ttest_ind(d[is_own], d[~is_own], equal_var=False)
    ci = r.confidence_interval(0.95)
    return diff, float(ci.low), float(ci.high), float(r.pvalue)


def self_preference(
    df: pd.DataFrame | None,
    rater: str,
    reference: str,
    attribute: str,
    own_responders: Collection[str],
    *,
    wide: WideArrays | None = None,
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
    own = frozenset(own_responders)
    if not own:
        raise ValueError("own_responders is empty")
    p = paired(_arrays(df, wide), rater, reference, attribute)
    if p.responder is None:
        raise ValueError("self-preference needs a 'responder' column")
    d = p.y - p.x
    is_own = np.isin(p.responder, list(own))
    if p.context is not None:
        method, (diff, lo, hi, pv) = "paired-by-context t", _paired_by_context(p, is_own)
    else:
        method, (diff, lo, hi, pv) = "welch t", _welch(d, is_own)
    return SelfPreference(
        rater=rater,
        reference=reference,
        attribute=attribute,
        own_responders=sorted(own),
        bias_own=float(d[is_own].mean()) if is_own.any() else _NAN,
        bias_other=float(d[~is_own].mean()) if (~is_own).any() else _NAN,
        difference=diff,
        ci_low=lo,
        ci_high=hi,
        p_value=pv,
        n_own=int(is_own.sum()),
        n_other=int((~is_own).sum()),
        ci_method=method,
    )


def length_bias(
    df: pd.DataFrame | None, rater: str, reference: str, attribute: str, *, wide: WideArrays | None = None
) -> LengthBias:
    """Least-squares slope of (rater − reference) on response length, with a t CI.

    A positive slope means the rater rewards longer responses more than the reference does
    (verbosity bias).

    Raises:
        ValueError: Without a ``length`` column.

    References:
        Zheng, L. et al. (2023). Judging LLM-as-a-judge with MT-Bench and Chatbot Arena (verbosity bias).

    """
    w = _arrays(df, wide)
    if w.length is None:
        raise ValueError("length bias needs a 'length' column")
    p = paired(w, rater, reference, attribute)
    ln = pd.Series(w.length, index=w.target).reindex(p.target).to_numpy(dtype=float)
    ok = ~np.isnan(ln)
    d, ln = (p.y - p.x)[ok], ln[ok]
    n = len(d)
    base = {"rater": rater, "reference": reference, "attribute": attribute, "n": n}
    if n < 3 or np.all(ln == ln[0]):
        return LengthBias(**base, slope=_NAN, ci_low=_NAN, ci_high=_NAN, r=_NAN, p_value=_NAN)
    fit = stats.linregress(ln, d)
    t = stats.t.ppf(0.975, n - 2)
    return LengthBias(
        **base,
        slope=float(fit.slope),
        ci_low=float(fit.slope - t * fit.stderr),
        ci_high=float(fit.slope + t * fit.stderr),
        r=float(fit.rvalue),
        p_value=float(fit.pvalue),
    )


def run_spread(df: pd.DataFrame, rater: str, attribute: str) -> RunSpread:
    """Run-to-run spread of a rater that sampled each target several times (``sample`` column).

    Notes
    -----
    Reports the mean within-target SD, the share of targets whose samples disagree, and ICC(1,1)
    with samples as interchangeable raters (test–retest reliability; complete cases).

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
    complete = w.dropna().to_numpy()
    icc1 = _NAN
    if complete.shape[0] >= 2:
        icc1 = next(r.value for r in icc_matrix(complete) if r.form == "ICC(1,1)")
    return RunSpread(
        rater=rater,
        attribute=attribute,
        n_targets=len(w),
        n_samples=int(w.shape[1]),
        mean_sd=float(w.std(axis=1, ddof=1).mean()),
        share_disagree=float(((w.max(axis=1) - w.min(axis=1)) > 0).mean()),
        icc_1_1=float(icc1),
    )
