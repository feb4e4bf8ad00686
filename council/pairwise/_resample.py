"""Cluster-bootstrap helpers shared by the pairwise statistics (contexts are the clusters)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from council.stats.bootstrap import cluster_weights, percentile_interval
from council.stats.types import BootstrapSpec


class Contexts(NamedTuple):
    """A global numbering of contexts, so one weight matrix resamples every statistic of a report alike."""

    codes: np.ndarray
    names: list[str]
    weights: np.ndarray  # (n_boot, n_contexts), from cluster_weights


def number_contexts(items: pd.Series, spec: BootstrapSpec) -> Contexts:
    """Number the contexts of ``items`` (sorted ids) and draw the bootstrap weights over them."""
    names = sorted(items.astype(str).unique())
    codes = pd.Categorical(items.astype(str), categories=names).codes.astype(np.int64)
    return Contexts(codes, names, cluster_weights(len(names), spec))


def codes_in(items: pd.Series, contexts: Contexts) -> np.ndarray:
    """Codes (int64) of ``items`` in an existing numbering.

    Raises:
        ValueError: When an item is not in the numbering.

    """
    codes = pd.Categorical(items.astype(str), categories=contexts.names).codes.astype(np.int64)
    if (codes < 0).any():
        raise ValueError("an item_id is missing from the context numbering")
    return codes


class RateCI(NamedTuple):
    """A ratio of sums with its percentile CI over context resamples."""

    value: float
    ci_low: float
    ci_high: float


def ratio_with_ci(numerator: np.ndarray, denominator: np.ndarray, codes: np.ndarray, weights: np.ndarray,
                  level: float) -> RateCI:
    """Σ numerator / Σ denominator, with the CI of the same ratio over resampled contexts."""
    n_ctx = weights.shape[1]
    num = np.bincount(codes, weights=np.asarray(numerator, float), minlength=n_ctx)
    den = np.bincount(codes, weights=np.asarray(denominator, float), minlength=n_ctx)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = num.sum() / den.sum() if den.sum() > 0 else float("nan")
        replicates = (weights @ num) / (weights @ den)
    interval = percentile_interval(replicates, level)
    return RateCI(float(value), interval.low, interval.high)
