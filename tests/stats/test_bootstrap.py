"""Cluster bootstrap: the moment algebra equals the point estimates; seeding; coverage sanity."""

from __future__ import annotations

import numpy as np
import pytest

from council.stats.agreement import lin_ccc
from council.stats.bias import bland_altman, sd_ratio
from council.stats.bootstrap import (
    BOOTSTRAP_STATISTICS,
    cluster_weights,
    item_replicates,
    percentile_interval,
    system_replicates,
)
from council.stats.icc import icc_matrix
from council.stats.types import BootstrapSpec


def _pairs(seed: int = 0, n_ctx: int = 120, per: int = 4):
    rng = np.random.default_rng(seed)
    codes = np.repeat(np.arange(n_ctx), per)
    groups = np.tile(np.arange(per), n_ctx)
    x = np.round(np.clip(rng.normal(3.5, 1, n_ctx * per), 1, 5))
    y = np.round(np.clip(x + 0.4 + rng.normal(0, 0.7, len(x)), 1, 5))
    return x, y, codes, groups


def test_unit_weights_reproduce_point_estimates() -> None:
    x, y, codes, _ = _pairs()
    reps = item_replicates(x, y, codes, np.ones((1, codes.max() + 1)))
    icc = {r.form: r.value for r in icc_matrix(np.column_stack([x, y]))}
    for form, v in icc.items():
        assert reps[form][0] == pytest.approx(v, abs=1e-10)
    ba = bland_altman(x, y)
    assert reps["pearson"][0] == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-12)
    assert reps["ccc"][0] == pytest.approx(lin_ccc(x, y).value, abs=1e-12)
    assert reps["bias"][0] == pytest.approx((y - x).mean(), abs=1e-12)
    assert reps["mae"][0] == pytest.approx(np.abs(y - x).mean(), abs=1e-12)
    assert reps["rmse"][0] == pytest.approx(np.sqrt(((y - x) ** 2).mean()), abs=1e-12)
    assert reps["sd_ratio"][0] == pytest.approx(sd_ratio(x, y).value, abs=1e-12)
    assert reps["bland_altman_loa_low"][0] == pytest.approx(ba.loa_low, abs=1e-12)
    assert set(BOOTSTRAP_STATISTICS) <= set(reps)


def test_system_unit_weights_equal_responder_means() -> None:
    x, y, codes, groups = _pairs()
    reps = system_replicates(x, y, codes, groups, np.ones((1, codes.max() + 1)))
    mx = np.array([x[groups == g].mean() for g in range(4)])
    my = np.array([y[groups == g].mean() for g in range(4)])
    icc = {r.form: r.value for r in icc_matrix(np.column_stack([mx, my]))}
    assert reps["ICC(A,1)"][0] == pytest.approx(icc["ICC(A,1)"], abs=1e-10)
    assert reps["bias"][0] == pytest.approx((my - mx).mean(), abs=1e-12)


def test_weights_are_seeded_multinomial() -> None:
    spec = BootstrapSpec(n_boot=50, seed=7)
    w1, w2 = cluster_weights(30, spec), cluster_weights(30, spec)
    assert np.array_equal(w1, w2) and w1.shape == (50, 30)
    assert np.all(w1.sum(axis=1) == 30)
    assert not np.array_equal(w1, cluster_weights(30, BootstrapSpec(n_boot=50, seed=8)))
    assert spec.method == "cluster-bootstrap(50, seed=7)"
    with pytest.raises(ValueError):
        cluster_weights(1, spec)


def test_bootstrap_ci_brackets_estimate() -> None:
    x, y, codes, _ = _pairs(seed=2)
    reps = item_replicates(x, y, codes, cluster_weights(codes.max() + 1, BootstrapSpec(n_boot=500, seed=0)))
    est = {r.form: r.value for r in icc_matrix(np.column_stack([x, y]))}["ICC(A,1)"]
    iv = percentile_interval(reps["ICC(A,1)"])
    assert iv.low < est < iv.high and iv.n_valid == 500
    assert np.isnan(percentile_interval(np.array([np.nan] * 20)).low)
