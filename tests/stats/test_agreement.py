"""Pairwise agreement statistics: hand-derived cases and cross-checks against the libraries."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score, mean_absolute_error, root_mean_squared_error

from council.stats.agreement import (
    correlations,
    error_metrics,
    krippendorff_alpha,
    lin_ccc,
    pair_agreement,
    quadratic_kappa,
    round_to_scale,
)


def test_ccc_hand_derived() -> None:
    """Lin (1989) CCC with 1/n moments.

    y = x + 1 on x = 1..5: s_x² = s_y² = s_xy = 2, (x̄ − ȳ)² = 1 → ρ_c = 2·2 / (2 + 2 + 1) = 4/5.
    y = 2x on x = 1..3: s_x² = 2/3, s_y² = 8/3, s_xy = 4/3, (x̄ − ȳ)² = 4 → ρ_c = (8/3)/(22/3) = 4/11.
    """
    x = np.arange(1, 6, dtype=float)
    assert lin_ccc(x, x + 1).value == pytest.approx(4 / 5, abs=1e-12)
    x3 = np.array([1.0, 2.0, 3.0])
    assert lin_ccc(x3, 2 * x3).value == pytest.approx(4 / 11, abs=1e-12)
    assert lin_ccc(x, x).value == pytest.approx(1.0)


def test_ccc_ci_contains_estimate() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(3, 1, 400)
    est = lin_ccc(x, x + rng.normal(0.3, 0.5, 400))
    assert est.ci_low < est.value < est.ci_high and est.ci_method == "lin-z"
    assert -1 <= est.ci_low and est.ci_high <= 1


def test_qwk_hand_derived() -> None:
    """Pairs (1,1), (2,2), (3,4): Σ w·O = (3−4)² = 1; E_ij = 1/3 for i ∈ {1,2,3}, j ∈ {1,2,4}, so
    Σ w·E = (10 + 5 + 6)/3 = 7 → κ_w = 1 − 1/7 = 6/7."""
    est = quadratic_kappa(np.array([1.0, 2, 3]), np.array([1.0, 2, 4]))
    assert est.value == pytest.approx(6 / 7, abs=1e-12)
    assert est.extra["rounded"] == 0


def test_qwk_rounds_half_up_and_matches_sklearn() -> None:
    assert round_to_scale(np.array([0.2, 1.5, 2.5, 4.49, 5.7]), (1, 5)).tolist() == [1, 2, 3, 4, 5]
    rng = np.random.default_rng(0)
    x = rng.integers(1, 6, 2000).astype(float)
    y = np.clip(x + rng.integers(-2, 3, 2000), 1, 5) + rng.choice([0, 0.25, 0.5], 2000)
    est = quadratic_kappa(x, y)
    ref = cohen_kappa_score(
        round_to_scale(x, (1, 5)), round_to_scale(y, (1, 5)), weights="quadratic", labels=[1, 2, 3, 4, 5]
    )
    assert est.value == pytest.approx(ref, abs=1e-12)
    assert est.extra["rounded"] > 0


def test_krippendorff_hand_derived() -> None:
    """Units (1,1), (2,2), (3,4). Coincidences: o11 = o22 = 2, o34 = o43 = 1; n_1 = n_2 = 2,
    n_3 = n_4 = 1, n = 6.
    Interval: D_o ∝ Σ o·δ = 2; Σ n_c n_k δ = 2·6·35 − 2·13² = 82 → α = 1 − 5·2/82 = 36/41.
    Ordinal: δ(c,k) = (Σ_{g=c..k} n_g − (n_c + n_k)/2)²; Σ_{c≠k} n_c n_k δ = 2·99 = 198,
    Σ o·δ = 2·1 → α = 1 − 5·2/198 = 94/99."""
    x, y = np.array([1.0, 2, 3]), np.array([1.0, 2, 4])
    assert krippendorff_alpha(x, y, "interval").value == pytest.approx(36 / 41, abs=1e-12)
    assert krippendorff_alpha(x, y, "ordinal").value == pytest.approx(94 / 99, abs=1e-12)
    assert krippendorff_alpha(x, y, "interval", use_library=True).value == pytest.approx(36 / 41, abs=1e-12)
    assert krippendorff_alpha(x, y, "ordinal", use_library=True).value == pytest.approx(94 / 99, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("level", ["interval", "ordinal", "nominal", "ratio"])
def test_krippendorff_fast_path_equals_library(seed: int, level: str) -> None:
    """The O(n + V²) coincidence path equals krippendorff.alpha (Castro 2017) to 1e-12."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 21, 600) / 4 + 1  # fractional values like council means
    y = np.clip(x + rng.normal(0.4, 0.8, 600).round(1), 1, 5)
    fast = krippendorff_alpha(x, y, level).value
    lib = krippendorff.alpha(
        reliability_data=np.vstack([x, y]),
        level_of_measurement=level,
        value_domain=np.unique(np.concatenate([x, y])),
    )
    assert fast == pytest.approx(lib, abs=1e-12)


def test_correlations_match_scipy() -> None:
    rng = np.random.default_rng(5)
    x = rng.integers(1, 6, 300).astype(float)
    y = np.clip(x + rng.integers(-1, 2, 300), 1, 5)
    got = {e.statistic: e for e in correlations(x, y)}
    pr = stats.pearsonr(x, y)
    assert got["pearson"].value == pytest.approx(pr.statistic)
    assert got["pearson"].ci_low == pytest.approx(pr.confidence_interval().low)
    assert got["spearman"].value == pytest.approx(stats.spearmanr(x, y).statistic)
    assert got["kendall"].p_value == pytest.approx(stats.kendalltau(x, y).pvalue)


def test_constant_input_gives_nan_not_error() -> None:
    x = np.array([3.0, 3, 3, 3])
    y = np.array([1.0, 2, 3, 4])
    assert all(np.isnan(e.value) for e in correlations(x, y))


def test_error_metrics_and_validation() -> None:
    x, y = np.array([1.0, 2, 3, 4]), np.array([2.0, 2, 5, 4])
    mae, rmse = error_metrics(x, y)
    assert mae.value == pytest.approx(3 / 4) and rmse.value == pytest.approx(np.sqrt(5 / 4))
    rng = np.random.default_rng(9)
    a, b = rng.normal(size=500), rng.normal(size=500)
    mae, rmse = error_metrics(a, b)
    assert mae.value == pytest.approx(mean_absolute_error(a, b), abs=1e-12)
    assert rmse.value == pytest.approx(root_mean_squared_error(a, b), abs=1e-12)
    with pytest.raises(ValueError):
        error_metrics(np.array([1.0, np.nan]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError):
        error_metrics(np.array([1.0]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError):
        krippendorff_alpha(x, y, "cardinal")


def test_pair_agreement_statistic_names() -> None:
    x, y = np.array([1.0, 2, 3, 4, 5, 3]), np.array([2.0, 2, 4, 4, 5, 3])
    names = [e.statistic for e in pair_agreement(x, y)]
    assert names == [
        "pearson",
        "spearman",
        "kendall",
        "qwk",
        "krippendorff_alpha_interval",
        "krippendorff_alpha_ordinal",
        "ccc",
        "mae",
        "rmse",
    ]
    assert "qwk" not in [e.statistic for e in pair_agreement(x, y, with_kappa=False)]
