"""Fixed-sequence threshold selection (Trust or Escalate) against simulations with a known agreement curve.

Simulation: confidence c = 0.5 + 0.5·U, U ~ U(0, 1), and an item agrees with the human with probability c
(a calibrated judge). Given c ≥ λ (λ ≥ 0.5), c is uniform on [λ, 1], so the accepted items' true agreement is
A(λ) = (1 + λ) / 2 and the loosest threshold reaching a level L is λ* = 2L − 1 (0.7 for L = 0.85, coverage
0.6). The guarantee (Jung et al. 2024, Thm. 1; Angelopoulos et al. 2021): P(A(λ̂) ≥ L) ≥ 1 − δ.

References:
    Jung, J., Brahman, F., & Choi, Y. (2025). Trust or Escalate: LLM Judges with Provable Guarantees for Human
    Agreement. ICLR 2025. arXiv:2407.18370.
    Clopper, C. J., & Pearson, E. S. (1934). Biometrika, 26(4), 404–413.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from council.escalation.thresholds import clopper_pearson_upper, fixed_sequence_threshold, min_accepted_for

LEVEL, DELTA = 0.85, 0.1


def true_agreement(lam: float | None) -> float:
    """A(λ) = (λ + 1) / 2 for λ ≥ 0.5 (see the module docstring); nothing accepted counts as agreeing."""
    return 1.0 if lam is None else (max(lam, 0.5) + 1) / 2


def simulate(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    conf = 0.5 + 0.5 * rng.random(n)
    return conf, rng.random(n) < conf


def test_clopper_pearson_matches_closed_form_and_scipy():
    # k = 0: P(Bin(n, r) ≤ 0) = (1 − r)^n = δ  ⇒  r = 1 − δ^(1/n).
    assert clopper_pearson_upper(0, 50, 0.05) == pytest.approx(1 - 0.05 ** (1 / 50), rel=1e-9)
    # The one-sided (1 − δ) upper bound is the upper end of the two-sided exact interval at 1 − 2δ.
    for k, n in [(3, 40), (17, 200), (120, 1000)]:
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.8, method="exact")
        assert clopper_pearson_upper(k, n, 0.1) == pytest.approx(ci.high, rel=1e-9)
    assert clopper_pearson_upper(5, 5, 0.1) == 1.0 and clopper_pearson_upper(0, 0, 0.1) == 1.0


@pytest.mark.parametrize("start_at_margin", [True, False])
def test_guarantee_holds_in_at_least_one_minus_delta_of_calibration_sets(start_at_margin):
    rng = np.random.default_rng(7)
    lams = []
    for _ in range(300):
        conf, agree = simulate(rng, 2000)
        lams.append(fixed_sequence_threshold(conf, agree, LEVEL, DELTA, start_at_margin=start_at_margin).threshold)
    held = np.mean([true_agreement(lam) >= LEVEL for lam in lams])
    assert held >= 1 - DELTA  # P(A(λ̂) ≥ L) ≥ 1 − δ
    # ...and not absurdly conservative: λ* = 2L − 1 = 0.7 (coverage 0.6); the median choice stays close.
    chosen = np.array([lam for lam in lams if lam is not None])
    assert len(chosen) >= 0.95 * len(lams)
    assert np.median(chosen) <= 0.7 + 0.05  # coverage ≥ 0.5 of the optimal 0.6


def test_without_the_bound_the_guarantee_fails():
    """The naive rule (loosest λ whose empirical agreement ≥ L) misses the level about half the time."""
    rng = np.random.default_rng(7)
    held = []
    for _ in range(200):
        conf, agree = simulate(rng, 2000)
        order = np.argsort(-conf)
        n = np.arange(1, len(conf) + 1)
        rate = np.cumsum(agree[order]) / n  # empirical agreement of the top-n items
        loosest = conf[order][np.flatnonzero((rate >= LEVEL) & (n >= 30))[-1]]
        held.append(true_agreement(loosest) >= LEVEL)
    assert np.mean(held) < 1 - DELTA


def test_fixed_sequence_stops_at_the_first_failure():
    # Cumulative agreement: ≥ 0.9 → 200/200; ≥ 0.8 → 200/300; ≥ 0.7 → 5200/5300 (would pass again).
    conf = np.r_[np.full(200, 0.95), np.full(100, 0.85), np.full(5000, 0.75)]
    agree = np.r_[np.ones(200, bool), np.zeros(100, bool), np.ones(5000, bool)]
    sel = fixed_sequence_threshold(conf, agree, 0.9, 0.1, grid=[0.9, 0.8, 0.7], min_accepted=30,
                                   start_at_margin=False)
    assert sel.threshold == 0.9
    assert [t.threshold for t in sel.tests] == [0.9, 0.8] and [t.passed for t in sel.tests] == [True, False]
    assert sel.tests[1].n_accepted == 300 and sel.tests[1].n_disagree == 100
    # A failing first test accepts nothing, even though a looser threshold would pass.
    bad = fixed_sequence_threshold(conf, ~agree, 0.9, 0.1, grid=[0.9, 0.8, 0.7], min_accepted=30,
                                   start_at_margin=False)
    assert bad.threshold is None and len(bad.tests) == 1


def test_clustered_items_widen_the_bound():
    rng = np.random.default_rng(3)
    n_ctx, per = 200, 20
    p_ctx = rng.beta(8, 2, n_ctx)  # agreement varies by context: items within a context are correlated
    agree = rng.random((n_ctx, per)) < p_ctx[:, None]
    conf = np.full(n_ctx * per, 0.99)
    groups = np.repeat(np.arange(n_ctx), per)
    plain = fixed_sequence_threshold(conf, agree.ravel(), 0.5, 0.1, grid=[0.9], min_accepted=30)
    clustered = fixed_sequence_threshold(conf, agree.ravel(), 0.5, 0.1, grid=[0.9], min_accepted=30, groups=groups)
    assert plain.tests[0].n_effective == n_ctx * per
    assert clustered.tests[0].n_effective < 0.5 * n_ctx * per  # design effect > 2 with this context spread
    assert clustered.tests[0].risk_upper > plain.tests[0].risk_upper


def test_min_accepted_default_lets_a_clean_set_pass():
    n = min_accepted_for(0.95, 0.1 / 3)
    assert clopper_pearson_upper(0, n, 0.1 / 3) <= 0.05 < clopper_pearson_upper(0, n // 4 - 1, 0.1 / 3)


def test_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match="level"):
        fixed_sequence_threshold(np.ones(3), np.ones(3, bool), 1.2, 0.1)
    with pytest.raises(ValueError, match="differ in length"):
        fixed_sequence_threshold(np.ones(3), np.ones(2, bool), 0.9, 0.1)
