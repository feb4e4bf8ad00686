"""Intraclass correlations: the pingouin reference path and a vectorised mean-square fast path.

Both return the six forms of McGraw & Wong (1996) with pingouin 0.7 labels and F-based 95% CIs.
The fast path evaluates the Shrout & Fleiss / McGraw & Wong formulas on arrays of mean squares, so
many cells (attributes × raters × bootstrap replicates) are computed in one numpy call; tests check
that it equals ``pingouin.intraclass_corr`` to 1e-9.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from council.stats.types import ICCForm, ICCResult

ICC_FORMS: tuple[ICCForm, ...] = ("ICC(1,1)", "ICC(A,1)", "ICC(C,1)", "ICC(1,k)", "ICC(A,k)", "ICC(C,k)")


class MeanSquares(NamedTuple):
    """Two-way ANOVA mean squares of an n targets × k raters matrix (scalars or arrays).

    ``msb`` between targets, ``msw`` within targets, ``msj`` between raters (judges), ``mse``
    residual; ``n`` and ``k`` the dimensions.
    """

    msb: np.ndarray
    msw: np.ndarray
    msj: np.ndarray
    mse: np.ndarray
    n: np.ndarray
    k: np.ndarray


def mean_squares(y: np.ndarray) -> MeanSquares:
    """Mean squares of complete rating matrices; ``y`` is (..., n, k), leading axes are batches.

    Notes
    -----
    SSB = k Σ_i (m_i − m)², SSJ = n Σ_j (m_j − m)², SST = Σ (y_ij − m)², SSE = SST − SSB − SSJ,
    SSW = SST − SSB; MSB = SSB/(n−1), MSJ = SSJ/(k−1), MSE = SSE/((n−1)(k−1)), MSW = SSW/(n(k−1)).

    References
    ----------
    Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: Uses in assessing rater
    reliability. Psychological Bulletin, 86(2), 420–428.

    """
    y = np.asarray(y, dtype=float)
    if y.ndim < 2 or y.shape[-1] < 2 or y.shape[-2] < 2:
        raise ValueError(f"need at least 2 targets and 2 raters, got shape {y.shape}")
    n, k = y.shape[-2], y.shape[-1]
    grand = y.mean(axis=(-2, -1), keepdims=True)
    ssb = k * ((y.mean(axis=-1, keepdims=True) - grand) ** 2).sum(axis=(-2, -1))
    ssj = n * ((y.mean(axis=-2, keepdims=True) - grand) ** 2).sum(axis=(-2, -1))
    sst = ((y - grand) ** 2).sum(axis=(-2, -1))
    return _from_sums(ssb, ssj, sst, np.full(ssb.shape, n, dtype=float), k)


def _from_sums(ssb: np.ndarray, ssj: np.ndarray, sst: np.ndarray, n: np.ndarray, k: int) -> MeanSquares:
    sse = sst - ssb - ssj
    return MeanSquares(
        msb=ssb / (n - 1),
        msw=(sst - ssb) / (n * (k - 1)),
        msj=ssj / (k - 1),
        mse=sse / ((n - 1) * (k - 1)),
        n=n,
        k=np.full(np.shape(n), k, dtype=float),
    )


def icc_values(ms: MeanSquares) -> dict[ICCForm, np.ndarray]:
    """Compute the six ICC point estimates from mean squares (vectorised over any array shape).

    Notes
    -----
    ICC(1,1) = (MSB − MSW) / (MSB + (k−1)MSW); ICC(A,1) = (MSB − MSE) / (MSB + (k−1)MSE +
    k(MSJ − MSE)/n); ICC(C,1) = (MSB − MSE) / (MSB + (k−1)MSE); the k forms are the Spearman–Brown
    step-ups (MSB − MSW)/MSB, (MSB − MSE)/(MSB + (MSJ − MSE)/n), (MSB − MSE)/MSB.
    ICC(C,1) well above ICC(A,1) means a systematic offset between raters (bias), not disorder.

    References
    ----------
    McGraw, K. O., & Wong, S. P. (1996). Forming inferences about some intraclass correlation
    coefficients. Psychological Methods, 1(1), 30–46.

    """
    msb, msw, msj, mse, n, k = ms
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "ICC(1,1)": (msb - msw) / (msb + (k - 1) * msw),
            "ICC(A,1)": (msb - mse) / (msb + (k - 1) * mse + k * (msj - mse) / n),
            "ICC(C,1)": (msb - mse) / (msb + (k - 1) * mse),
            "ICC(1,k)": (msb - msw) / msb,
            "ICC(A,k)": (msb - mse) / (msb + (msj - mse) / n),
            "ICC(C,k)": (msb - mse) / msb,
        }


def icc_tests(ms: MeanSquares, alpha: float = 0.05) -> dict[ICCForm, dict[str, np.ndarray]]:
    """F statistics, degrees of freedom, p-values and F-based CIs of the six forms (vectorised).

    Notes
    -----
    One-way forms use F = MSB/MSW on (n−1, n(k−1)) df; two-way forms F = MSB/MSE on
    (n−1, (n−1)(k−1)). Consistency CIs invert the F distribution (Shrout & Fleiss 1979, eqs. 6–11);
    absolute agreement uses Satterthwaite's approximate df v (McGraw & Wong 1996, Table 7), exactly
    as ``pingouin.intraclass_corr`` 0.7 does.

    References
    ----------
    McGraw & Wong (1996), see :func:`icc_values`; Shrout & Fleiss (1979), see :func:`mean_squares`.

    """
    msb, msw, msj, mse, n, k = ms
    v = icc_values(ms)
    df1, df1k, df2k = n - 1, n * (k - 1), (n - 1) * (k - 1)
    q = 1 - alpha / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        f1, f3 = msb / msw, msb / mse
        f1l, f1u = f1 / stats.f.ppf(q, df1, df1k), f1 * stats.f.ppf(q, df1k, df1)
        f3l, f3u = f3 / stats.f.ppf(q, df1, df2k), f3 * stats.f.ppf(q, df2k, df1)
        a, fj = v["ICC(A,1)"], msj / mse
        vn = df2k * (k * a * fj + n * (1 + (k - 1) * a) - k * a) ** 2
        vd = df1 * k**2 * a**2 * fj**2 + (n * (1 + (k - 1) * a) - k * a) ** 2
        dfv = vn / vd
        f2u, f2l = stats.f.ppf(q, df1, dfv), stats.f.ppf(q, dfv, df1)
        l2 = n * (msb - f2u * mse) / (f2u * (k * msj + (k * n - k - n) * mse) + n * msb)
        u2 = n * (f2l * msb - mse) / (k * msj + (k * n - k - n) * mse + n * f2l * msb)
        p1, p3 = stats.f.sf(f1, df1, df1k), stats.f.sf(f3, df1, df2k)
        one = {"F": f1, "df2": df1k, "p": p1}
        two = {"F": f3, "df2": df2k, "p": p3}
        return {
            "ICC(1,1)": {**one, "lo": (f1l - 1) / (f1l + k - 1), "hi": (f1u - 1) / (f1u + k - 1)},
            "ICC(A,1)": {**two, "lo": l2, "hi": u2},
            "ICC(C,1)": {**two, "lo": (f3l - 1) / (f3l + k - 1), "hi": (f3u - 1) / (f3u + k - 1)},
            "ICC(1,k)": {**one, "lo": 1 - 1 / f1l, "hi": 1 - 1 / f1u},
            "ICC(A,k)": {**two, "lo": l2 * k / (1 + l2 * (k - 1)), "hi": u2 * k / (1 + u2 * (k - 1))},
            "ICC(C,k)": {**two, "lo": 1 - 1 / f3l, "hi": 1 - 1 / f3u},
        }


def icc_results(ms: MeanSquares, n_dropped: int = 0, alpha: float = 0.05) -> list[ICCResult]:
    """Build the six :class:`ICCResult` records from scalar mean squares."""
    vals, tests = icc_values(ms), icc_tests(ms, alpha)
    n, k = int(np.asarray(ms.n)), int(np.asarray(ms.k))
    return [
        ICCResult(
            form=form,
            value=float(vals[form]),
            ci_low=float(tests[form]["lo"]),
            ci_high=float(tests[form]["hi"]),
            F=float(tests[form]["F"]),
            df1=n - 1,
            df2=int(tests[form]["df2"]),
            p_value=float(tests[form]["p"]),
            n=n,
            k=k,
            n_dropped=n_dropped,
        )
        for form in ICC_FORMS
    ]


def icc_matrix(y: np.ndarray, alpha: float = 0.05) -> list[ICCResult]:
    """All six ICC forms of an n × k matrix (rows targets, columns raters); NaN rows are dropped.

    This is the fast path; :func:`icc` is the pingouin reference path with the same output.

    Args:
        y: Ratings, shape (n, k).
        alpha: 1 - confidence level.

    Returns:
        Six records in the order of :data:`ICC_FORMS`.

    Raises:
        ValueError: If fewer than 2 complete targets or 2 raters remain.

    """
    y = np.asarray(y, dtype=float)
    if y.ndim != 2:
        raise ValueError(f"expected a 2-D matrix, got shape {y.shape}")
    ok = ~np.isnan(y).any(axis=1)
    return icc_results(mean_squares(y[ok]), n_dropped=int((~ok).sum()), alpha=alpha)


@contextmanager
def _pingouin_full_precision() -> Iterator[None]:
    """Switch off pingouin's global display rounding (CI95 to 2 dp) and always restore it."""
    import pingouin

    saved = dict(pingouin.options)
    try:
        for key in [k for k in pingouin.options if str(k).startswith("round.")]:
            del pingouin.options[key]
        pingouin.options["round"] = None
        yield
    finally:
        pingouin.options.clear()
        pingouin.options.update(saved)


def icc(
    df: pd.DataFrame,
    target: str = "target",
    rater: str = "rater",
    rating: str = "score",
    nan_policy: str = "omit",
) -> list[ICCResult]:
    """All six ICC forms of a long frame via ``pingouin.intraclass_corr`` (the reference path).

    Targets with any missing rating are dropped (complete cases) and counted in ``n_dropped``.

    Args:
        df: Long frame, one row per rating.
        target: Column naming the rated object.
        rater: Column naming the rater.
        rating: Column with the score.
        nan_policy: "omit" (complete cases) or "raise".

    Returns:
        Six records in the order of :data:`ICC_FORMS`.

    Raises:
        ValueError: On a bad ``nan_policy``, missing values with "raise", or too little data.

    References:
        Vallat, R. (2018). Pingouin: statistics in Python. JOSS, 3(31), 1026.

    """
    import pingouin

    if nan_policy not in ("omit", "raise"):
        raise ValueError("nan_policy must be 'omit' or 'raise'")
    wide = df.pivot_table(index=target, columns=rater, values=rating, dropna=False)
    complete = wide.dropna(how="any")
    if nan_policy == "raise" and len(complete) < len(wide):
        raise ValueError(f"{len(wide) - len(complete)} targets have missing ratings")
    if len(complete) < 2 or complete.shape[1] < 2:
        raise ValueError("need at least 2 complete targets and 2 raters")
    long = complete.reset_index().melt(id_vars=target, var_name=rater, value_name=rating)
    with _pingouin_full_precision():
        tab = pingouin.intraclass_corr(data=long, targets=target, raters=rater, ratings=rating)
    tab = tab.set_index("Type")
    k, n = complete.shape[1], len(complete)
    return [
        ICCResult(
            form=form,
            value=float(tab.at[form, "ICC"]),
            ci_low=float(tab.at[form, "CI95"][0]),
            ci_high=float(tab.at[form, "CI95"][1]),
            F=float(tab.at[form, "F"]),
            df1=int(tab.at[form, "df1"]),
            df2=int(tab.at[form, "df2"]),
            p_value=float(tab.at[form, "pval"]),
            n=n,
            k=k,
            n_dropped=len(wide) - n,
        )
        for form in ICC_FORMS
    ]
