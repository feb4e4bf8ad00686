"""Seeded cluster bootstrap over contexts, vectorised through per-cluster sufficient statistics.

Responses to the same context are correlated (same help-seeker, same difficulty), so CIs resample
whole contexts. A replicate is a vector of multinomial counts ``w_c`` over contexts; every
moment-based statistic is a function of weighted per-context sums, so all replicates of a pair are
one matrix product ``W @ A`` instead of B re-computations. One weight matrix is shared by every
comparison in a report, so the replicates are the same resamples across raters and attributes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from council.stats.icc import ICC_FORMS, _from_sums, icc_values
from council.stats.types import BootstrapSpec

BOOTSTRAP_STATISTICS: tuple[str, ...] = (
    *ICC_FORMS,
    "pearson",
    "ccc",
    "bias",
    "mae",
    "rmse",
    "sd_ratio",
    "bland_altman_loa_low",
    "bland_altman_loa_high",
)


class Interval(NamedTuple):
    """A percentile interval and how many replicates were finite."""

    low: float
    high: float
    n_valid: int


def cluster_weights(n_clusters: int, spec: BootstrapSpec) -> np.ndarray:
    """Multinomial resampling counts, shape (n_boot, n_clusters); row b sums to n_clusters.

    Raises:
        ValueError: With fewer than 2 clusters.

    """
    if n_clusters < 2:
        raise ValueError("cluster bootstrap needs at least 2 contexts")
    rng = np.random.default_rng(spec.seed)
    return rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=spec.n_boot).astype(float)


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> Interval:
    """Percentile CI of the finite replicates (NaN when fewer than 10 are finite)."""
    s = np.asarray(samples, dtype=float)
    s = s[np.isfinite(s)]
    if s.size < 10:
        return Interval(float("nan"), float("nan"), int(s.size))
    a = (1 - level) / 2
    lo, hi = np.quantile(s, [a, 1 - a])
    return Interval(float(lo), float(hi), int(s.size))


def _moment_stats(*sums: np.ndarray) -> dict[str, np.ndarray]:
    """Statistics of paired (x, y) data from their (weighted) sums; all arguments broadcast.

    ``sums`` = (n, Σx, Σy, Σx², Σy², Σxy, Σ|y − x|).
    """
    n, sx, sy, sxx, syy, sxy, sabs = sums
    with np.errstate(divide="ignore", invalid="ignore"):
        g2 = 2 * n * ((sx + sy) / (2 * n)) ** 2
        ssb = (sxx + 2 * sxy + syy) / 2 - g2
        ssj = (sx**2 + sy**2) / n - g2
        sst = sxx + syy - g2
        out: dict[str, np.ndarray] = dict(icc_values(_from_sums(ssb, ssj, sst, n, 2)))
        cov, vx, vy = sxy - sx * sy / n, sxx - sx**2 / n, syy - sy**2 / n
        bias = (sy - sx) / n
        sdd = np.sqrt(np.maximum(sxx - 2 * sxy + syy - n * bias**2, 0) / (n - 1))
        out.update(
            pearson=cov / np.sqrt(vx * vy),
            ccc=2 * cov / (vx + vy + n * bias**2),
            bias=bias,
            mae=sabs / n,
            rmse=np.sqrt((sxx - 2 * sxy + syy) / n),
            sd_ratio=np.sqrt(vy / vx),
            bland_altman_loa_low=bias - 1.96 * sdd,
            bland_altman_loa_high=bias + 1.96 * sdd,
        )
    return out


def item_replicates(
    x: np.ndarray, y: np.ndarray, codes: np.ndarray, weights: np.ndarray
) -> dict[str, np.ndarray]:
    """Bootstrap replicates of :data:`BOOTSTRAP_STATISTICS` for item-level pairs.

    Args:
        x: Reference scores.
        y: Rater scores.
        codes: Context index (0 … n_clusters−1) of each pair, in the report's global numbering.
        weights: Output of :func:`cluster_weights`.

    Returns:
        statistic -> array of shape (n_boot,).

    """
    c = weights.shape[1]
    cols = (np.ones_like(x), x, y, x * x, y * y, x * y, np.abs(y - x))
    agg = np.column_stack([np.bincount(codes, weights=v, minlength=c) for v in cols])
    m = weights @ agg
    return _moment_stats(*(m[:, j] for j in range(7)))


def system_replicates(
    x: np.ndarray, y: np.ndarray, codes: np.ndarray, groups: np.ndarray, weights: np.ndarray
) -> dict[str, np.ndarray]:
    """Bootstrap replicates at system level: resample contexts, then recompute responder means.

    Args:
        x: Reference item scores.
        y: Rater item scores.
        codes: Context index of each pair (global numbering).
        groups: Responder index (0 … R−1) of each pair.
        weights: Output of :func:`cluster_weights`.

    Returns:
        statistic -> array of shape (n_boot,); a replicate that lost a responder entirely is NaN.

    """
    c, r = weights.shape[1], int(groups.max()) + 1
    cell = codes * r + groups
    sums = np.hstack(
        [np.bincount(cell, weights=v, minlength=c * r).reshape(c, r) for v in (np.ones_like(x), x, y)]
    )
    cnt, sx, sy = np.hsplit(weights @ sums, 3)
    with np.errstate(divide="ignore", invalid="ignore"):
        mx, my = sx / cnt, sy / cnt
    n = np.full(len(weights), float(r))
    return _moment_stats(
        n, mx.sum(1), my.sum(1), (mx**2).sum(1), (my**2).sum(1), (mx * my).sum(1), np.abs(my - mx).sum(1)
    )
