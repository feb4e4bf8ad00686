"""Thresholds with a finite-sample guarantee: fixed-sequence testing of a confidence threshold.

The risk of a threshold λ is the disagreement rate R(λ) = P(disagree | confidence ≥ λ) of the items it
accepts. We want R(λ̂) ≤ 1 − level with probability ≥ 1 − δ over the calibration data. Trust or Escalate
(Jung, Brahman & Choi 2024) gets this from Learn-then-Test's fixed-sequence testing (Angelopoulos et al.
2021): thresholds on a grid fixed in advance are tested from the strictest to the loosest; H0(λ): R(λ) >
1 − level is rejected when the one-sided Clopper–Pearson upper bound of R(λ) at level 1 − δ is at most
1 − level; the first threshold that is not rejected stops the sequence and λ̂ is the last rejected one.
Because the hypotheses are tested in a fixed order and testing stops at the first failure, the family-wise
error is at most δ without any multiplicity correction.

Items that share a context are not independent (one expert rates all ten responses of a context and all
their attributes). With ``groups`` the binomial bound uses the effective sample size of a clustered
proportion (Korn & Graubard 1998): n_eff = p̂(1 − p̂) / v̂, with v̂ the cluster-robust variance of the
ratio estimator, never more than n; without groups it is the paper's plain binomial bound.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

__all__ = [
    "DEFAULT_GRID",
    "ThresholdSelection",
    "ThresholdTest",
    "clopper_pearson_upper",
    "fixed_sequence_threshold",
    "min_accepted_for",
]

DEFAULT_GRID: np.ndarray = np.round(np.linspace(1.0, 0.0, 1001), 3)
"""Thresholds tested, strictest first (fixed before seeing any data, as fixed-sequence testing needs)."""


class ThresholdTest(BaseModel):
    """One step of the fixed sequence: the items a threshold accepts and whether H0 was rejected."""

    model_config = ConfigDict(frozen=True)

    threshold: float
    n_accepted: int = Field(description="Calibration items with confidence ≥ threshold.")
    n_disagree: int = Field(description="Of those, how many disagree with the reference.")
    n_effective: float = Field(description="Effective sample size used by the bound (= n without groups).")
    risk_upper: float = Field(description="One-sided (1 − δ) upper bound of the disagreement rate.")
    passed: bool = Field(description="risk_upper ≤ 1 − level (H0 'risk too high' rejected).")


class ThresholdSelection(BaseModel):
    """The chosen threshold (None: nothing can be accepted) and the tests that led to it."""

    model_config = ConfigDict(frozen=True)

    threshold: float | None = Field(description="λ̂; None when the first test already failed.")
    level: float = Field(description="Target agreement rate.")
    delta: float = Field(description="Error level δ of this selection.")
    clustered: bool = Field(description="Whether the bound used the effective sample size of clusters.")
    n_items: int = Field(description="Calibration items considered.")
    tests: list[ThresholdTest] = Field(description="Every test run, strictest first; the last one failed "
                                                   "unless the whole grid passed.")

    @property
    def accepted(self) -> ThresholdTest | None:
        """The test of the chosen threshold (None when nothing is accepted)."""
        passed = [t for t in self.tests if t.passed]
        return passed[-1] if passed else None


def clopper_pearson_upper(k: float, n: float, delta: float) -> float:
    """One-sided upper (1 − δ) Clopper–Pearson bound of a binomial rate from k events in n trials.

    ``k`` and ``n`` may be fractional (effective counts); the bound is the Beta(k + 1, n − k) quantile.

    References:
        Clopper, C. J., & Pearson, E. S. (1934). The use of confidence or fiducial limits illustrated in the
        case of the binomial. Biometrika, 26(4), 404–413.

    """
    if n <= 0:
        return 1.0
    if k >= n:
        return 1.0
    return float(stats.beta.ppf(1.0 - delta, k + 1.0, n - k))


def _effective(n: np.ndarray, k: np.ndarray, var: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Effective trials and events: n_eff = p̂(1 − p̂) / v̂ (≤ n) where a cluster variance exists, else n, k."""
    n_eff, k_eff = n.astype(float), k.astype(float)
    if var is not None:
        inner = (k > 0) & (k < n) & (var > 0)
        p = k[inner] / n[inner]
        n_eff[inner] = np.minimum(n[inner], p * (1 - p) / var[inner])
        k_eff[inner] = p * n_eff[inner]
    return n_eff, k_eff


def _first(n: np.ndarray, min_accepted: int) -> int:
    big = np.flatnonzero(n >= min_accepted)
    return int(big[0]) if len(big) else len(n)


def _start(conf: np.ndarray, grid: np.ndarray, n: np.ndarray, level: float, min_accepted: int) -> int:
    """Label-free start of the sequence: the threshold maximising (mean confidence − level) · √n."""
    bins = np.searchsorted(-grid, -conf, side="left")
    s = np.cumsum(np.bincount(bins, weights=conf, minlength=len(grid) + 1)[: len(grid)])
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(n >= min_accepted, (s / np.maximum(n, 1) - level) * np.sqrt(n), -np.inf)
    return int(np.argmax(z)) if np.isfinite(z).any() else len(grid)


def min_accepted_for(level: float, delta: float) -> int:
    """Default smallest tested set: 4 × the n at which n agreements out of n give a bound of 1 − level.

    With no disagreement the Clopper–Pearson bound is 1 − δ^(1/n), so a set of n0 = ln δ / ln level items can
    pass only if every item agrees; four times that tolerates a few disagreements (never below 30, the
    paper's minimum).
    """
    return max(30, int(np.ceil(4 * np.log(delta) / np.log(level))))


def _cumulative(conf: np.ndarray, wrong: np.ndarray, grid: np.ndarray,
                groups: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per grid threshold: accepted count, disagreements, and the cluster-robust variance of the rate."""
    # Bin b holds the items whose confidence is ≥ grid[b] but < grid[b-1]; cumulative sums over bins give the
    # items a threshold accepts. Items below the loosest threshold fall in an overflow bin that is never summed.
    order = -grid  # ascending
    bins = np.searchsorted(order, -conf, side="left")  # first b with -grid[b] >= -conf, i.e. grid[b] <= conf
    nb = len(grid)
    n = np.cumsum(np.bincount(bins, minlength=nb + 1)[:nb])
    k = np.cumsum(np.bincount(bins, weights=wrong, minlength=nb + 1)[:nb])
    if groups is None:
        return n, k, None
    codes, _ = _codes(groups)
    nc = codes.max() + 1 if len(codes) else 0
    counts = np.zeros((nb + 1, nc))
    errs = np.zeros((nb + 1, nc))
    np.add.at(counts, (bins, codes), 1.0)
    np.add.at(errs, (bins, codes), wrong)
    counts, errs = np.cumsum(counts[:nb], axis=0), np.cumsum(errs[:nb], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(n > 0, k / np.maximum(n, 1), 0.0)
        resid = errs - r[:, None] * counts  # per cluster: e_c − r n_c
        used = (counts > 0).sum(axis=1)
        var = (resid**2).sum(axis=1) / np.maximum(n, 1) ** 2 * used / np.maximum(used - 1, 1)
    return n, k, var


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniq, codes = np.unique(np.asarray(values).astype(str), return_inverse=True)
    return codes, uniq


def fixed_sequence_threshold(
    confidence: np.ndarray,
    agree: np.ndarray,
    level: float,
    delta: float,
    *,
    groups: np.ndarray | None = None,
    grid: Sequence[float] | np.ndarray = DEFAULT_GRID,
    min_accepted: int | None = None,
    start_at_margin: bool = True,
) -> ThresholdSelection:
    """Choose the loosest confidence threshold whose accepted items agree at ``level`` with risk ``delta``.

    Fixed-sequence testing as in Trust or Escalate: thresholds from the strictest to the loosest; each tests
    H0: P(disagree | confidence ≥ λ) > 1 − level with a one-sided Clopper–Pearson bound at 1 − δ; the first
    threshold whose bound exceeds 1 − level stops the sequence. Where the sequence starts is decided from
    the confidences alone (see ``start_at_margin``). Thresholds accepting fewer than
    ``min_accepted`` items are skipped (the paper's code skips sets under 30 items); this depends on the
    confidences only, never on the labels. The default, :func:`min_accepted_for`, is 4 × the smallest set
    that could pass with no disagreement at all, so that the first test has power.

    Args:
        confidence: Calibration items' confidences (not in-sample: out-of-fold or from a separate split).
        agree: Whether each item's answer agrees with the reference under the criterion.
        level: Target agreement rate in (0, 1), e.g. 0.95.
        delta: Probability that the guarantee fails, in (0, 1), e.g. 0.1.
        groups: Optional cluster of each item (the context); the bound then uses the effective sample size.
        grid: Thresholds, strictest first.
        min_accepted: Smallest accepted set a threshold is tested on (default :func:`min_accepted_for`).
        start_at_margin: Begin the sequence at the threshold where the confidences themselves (no labels)
            predict the widest margin, (mean confidence of the accepted − level) · √n, instead of at the
            strictest testable one. A strict start tests a few hundred top items first, and one unlucky
            handful of disagreements there ends the whole sequence; stricter thresholds than the start are
            never accepted, which costs nothing since the loosest passing threshold is sought.

    Returns:
        :class:`ThresholdSelection` (threshold None when the strictest testable threshold already fails).

    Raises:
        ValueError: On mismatched lengths or a level/delta outside (0, 1).

    Notes:
        Guarantee (Angelopoulos et al. 2021, Thm. on fixed-sequence testing; Jung et al. 2024, Thm. 1): if
        calibration and test items are exchangeable, P(R(λ̂) ≤ 1 − level) ≥ 1 − δ, where R is the population
        disagreement rate of accepted items. It is about the population rate; a finite test set's realised
        rate scatters around it. Clustered items break the binomial model; the effective-sample-size bound
        (Korn & Graubard 1998) is an approximation that widens the bound by the design effect.

    References:
        Jung, J., Brahman, F., & Choi, Y. (2025). Trust or Escalate: LLM Judges with Provable Guarantees for
        Human Agreement. ICLR 2025. arXiv:2407.18370.
        Angelopoulos, A. N., Bates, S., Candès, E. J., Jordan, M. I., & Lei, L. (2021). Learn then Test:
        Calibrating predictive algorithms to achieve risk control. arXiv:2110.01052.
        Korn, E. L., & Graubard, B. I. (1998). Confidence intervals for proportions with small expected number
        of positive counts estimated from survey data. Survey Methodology, 24(2), 193–201.

    """
    conf = np.asarray(confidence, dtype=float)
    wrong = ~np.asarray(agree, dtype=bool)
    if conf.shape != wrong.shape:
        raise ValueError(f"confidence and agree differ in length: {conf.shape} vs {wrong.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if not 0 < delta < 1:
        raise ValueError(f"delta must be in (0, 1), got {delta}")
    if min_accepted is None:
        min_accepted = min_accepted_for(level, delta)
    g = np.asarray(grid, dtype=float)
    if np.any(np.diff(g) > 0):
        raise ValueError("grid must run from the strictest threshold to the loosest (non-increasing)")
    keep = ~np.isnan(conf)
    conf, wrong = conf[keep], wrong[keep]
    groups = None if groups is None else np.asarray(groups)[keep]
    n, k, var = _cumulative(conf, wrong.astype(float), g, groups)
    start = _start(conf, g, n, level, min_accepted) if start_at_margin else _first(n, min_accepted)
    idx = np.arange(start, len(g))
    idx = idx[n[idx] >= min_accepted]
    n_eff, k_eff = _effective(n[idx], k[idx], None if var is None else var[idx])
    upper = np.ones(len(idx))
    ok = (n_eff > 0) & (k_eff < n_eff)
    upper[ok] = stats.beta.ppf(1.0 - delta, k_eff[ok] + 1.0, n_eff[ok] - k_eff[ok])
    passed = upper <= 1 - level
    stop = int(np.argmin(passed)) if not passed.all() else len(idx) - 1  # the first failure, tested last
    tests = [ThresholdTest(threshold=float(g[i]), n_accepted=int(n[i]), n_disagree=int(k[i]),
                           n_effective=float(ne), risk_upper=float(u), passed=bool(p))
             for i, ne, u, p in zip(idx[: stop + 1], n_eff[: stop + 1], upper[: stop + 1], passed[: stop + 1],
                                    strict=True)]
    chosen = next((t.threshold for t in reversed(tests) if t.passed), None)
    return ThresholdSelection(threshold=chosen, level=level, delta=delta, clustered=groups is not None,
                              n_items=int(len(conf)), tests=tests)
