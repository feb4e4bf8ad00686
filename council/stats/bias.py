"""Bias of a rater against a reference: mean difference, Bland–Altman, scale shift, ceiling.

Pair-level functions take aligned complete pairs ``x`` (reference) and ``y`` (rater); differences
are always ``y − x`` (positive = the rater inflates). Frame-level analyses (source model,
self-preference, length, run-to-run spread) live in :mod:`council.stats.bias_frames`.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from council.stats.agreement import _check_pair
from council.stats.types import BlandAltmanResult, Estimate

_NAN = float("nan")


def mean_difference(x: np.ndarray, y: np.ndarray, alpha: float = 0.05) -> Estimate:
    """Mean difference y − x with a t CI, the paired t-test p-value and a Wilcoxon signed-rank p.

    ``p_value`` is the paired t-test; ``extra['wilcoxon_p']`` the Wilcoxon signed-rank test
    (zero differences dropped, Wilcoxon's method), robust to the discrete, skewed differences of
    Likert scores. The Wilcoxon p is exact for n ≤ 50 without tied |d|, otherwise the normal
    approximation with tie correction (scipy's permutation fallback takes ~0.5 s per call).

    Notes
    -----
    CI: d̄ ± t_{n−1, 1−α/2} s_d / √n.

    References
    ----------
    Wilcoxon, F. (1945). Individual comparisons by ranking methods. Biometrics Bulletin 1(6), 80–83.

    """
    x, y = _check_pair(x, y)
    n = len(x)
    d = y - x
    if n < 2:
        return Estimate(statistic="bias", value=float(d.mean()) if n else _NAN, n=n)
    extra: dict[str, float | int | str | bool | None] = {"sd_diff": float(d.std(ddof=1))}
    if np.all(d == d[0]):
        return Estimate(
            statistic="bias",
            value=float(d[0]),
            ci_low=float(d[0]),
            ci_high=float(d[0]),
            n=n,
            ci_method="t",
            extra=extra,
        )
    tt = stats.ttest_rel(y, x)
    ci = tt.confidence_interval(1 - alpha)
    nz = d[d != 0]
    if nz.size:
        exact = nz.size <= 50 and np.unique(np.abs(nz)).size == nz.size
        extra["wilcoxon_p"] = float(stats.wilcoxon(nz, method="exact" if exact else "asymptotic").pvalue)
    else:
        extra["wilcoxon_p"] = _NAN
    return Estimate(
        statistic="bias",
        value=float(d.mean()),
        ci_low=float(ci.low),
        ci_high=float(ci.high),
        p_value=float(tt.pvalue),
        n=n,
        ci_method="t",
        extra=extra,
    )


def bland_altman(
    x: np.ndarray, y: np.ndarray, agreement: float = 1.96, alpha: float = 0.05
) -> BlandAltmanResult:
    """Bland–Altman bias and limits of agreement with approximate CIs.

    Notes
    -----
    LoA = d̄ ± z s_d. Approximate variances (Bland & Altman 1999, §5.1): Var(d̄) = s_d²/n and
    Var(LoA) ≈ (1/n + z²/(2(n−1))) s_d²; CIs use t_{n−1}. Differences that grow with the mean
    (proportional bias) make fixed limits misleading: inspect with :func:`length_bias` or a plot.

    References
    ----------
    Bland, J. M., & Altman, D. G. (1999). Measuring agreement in method comparison studies.
    Statistical Methods in Medical Research, 8(2), 135–160.

    """
    x, y = _check_pair(x, y)
    n = len(x)
    d = y - x
    bias = float(d.mean()) if n else _NAN
    if n < 3:
        nan = _NAN
        return BlandAltmanResult(
            bias=bias,
            bias_ci_low=nan,
            bias_ci_high=nan,
            sd_diff=nan,
            loa_low=nan,
            loa_low_ci_low=nan,
            loa_low_ci_high=nan,
            loa_high=nan,
            loa_high_ci_low=nan,
            loa_high_ci_high=nan,
            n=n,
        )
    s = float(d.std(ddof=1))
    t = float(stats.t.ppf(1 - alpha / 2, n - 1))
    se_b = s / np.sqrt(n)
    se_l = s * np.sqrt(1 / n + agreement**2 / (2 * (n - 1)))
    lo, hi = bias - agreement * s, bias + agreement * s
    return BlandAltmanResult(
        bias=bias,
        bias_ci_low=bias - t * se_b,
        bias_ci_high=bias + t * se_b,
        sd_diff=s,
        loa_low=lo,
        loa_low_ci_low=lo - t * se_l,
        loa_low_ci_high=lo + t * se_l,
        loa_high=hi,
        loa_high_ci_low=hi - t * se_l,
        loa_high_ci_high=hi + t * se_l,
        n=n,
    )


def sd_ratio(x: np.ndarray, y: np.ndarray) -> Estimate:
    """Scale shift: SD(y) / SD(x), with the Pitman–Morgan test of equal paired variances.

    A ratio below 1 means the rater compresses the scale (e.g. everything 4–5).

    Notes
    -----
    Pitman–Morgan: Var(y) = Var(x) iff corr(y + x, y − x) = 0; the p-value is that correlation's.

    References
    ----------
    Pitman, E. J. G. (1939). A note on normal correlation. Biometrika, 31, 9–12.
    Morgan, W. A. (1939). A test for the significance of the difference between the two
    variances in a sample from a normal bivariate population. Biometrika, 31, 13–19.

    """
    x, y = _check_pair(x, y)
    n = len(x)
    sx = float(x.std(ddof=1)) if n > 1 else _NAN
    sy = float(y.std(ddof=1)) if n > 1 else _NAN
    value = sy / sx if sx and sx > 0 else _NAN
    p = _NAN
    s, d = y + x, y - x
    if n > 2 and not np.all(s == s[0]) and not np.all(d == d[0]):
        p = float(stats.pearsonr(s, d).pvalue)
    return Estimate(
        statistic="sd_ratio", value=value, p_value=p, n=n, extra={"sd_rater": sy, "sd_reference": sx}
    )


def ceiling_rates(x: np.ndarray, y: np.ndarray, top: float = 5.0) -> list[Estimate]:
    """Share of top-of-scale scores for the rater and for the reference, with Wilson CIs.

    A fractional score (a council mean, a judge's mean over samples, an expected score in
    ``scoring: expected`` such as 4.83) counts when it rounds half up to the top point, i.e. when it
    is at least ``top`` − 0.5, the same rounding quadratic κ applies; counting only exact top values
    would put an expected-scoring judge's ceiling rate near 0 whatever its inflation. The record says
    how many of its values were fractional in ``extra['rounded']`` (0: the rate is exact).

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
    JASA, 22(158), 209–212 (``scipy.stats.binomtest(...).proportion_ci('wilson')``).

    """
    x, y = _check_pair(x, y)
    out = []
    for name, a in (("ceiling_rate_rater", y), ("ceiling_rate_reference", x)):
        n = len(a)
        if n == 0:
            out.append(Estimate(statistic=name, value=_NAN, n=0))
            continue
        hits = int((np.floor(a + 0.5) >= top).sum())
        rounded = int((a != np.floor(a)).sum())
        ci = stats.binomtest(hits, n).proportion_ci(0.95, method="wilson")
        out.append(
            Estimate(
                statistic=name,
                value=hits / n,
                ci_low=float(ci.low),
                ci_high=float(ci.high),
                n=n,
                ci_method="wilson",
                extra={"top": top, "count": hits, "rounded": rounded},
            )
        )
    return out
