"""Bias statistics: hand-derived cases and synthetic frames where the truth is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from council.stats.bias import bland_altman, ceiling_rates, mean_difference, sd_ratio
from council.stats.bias_frames import length_bias, run_spread, self_preference, source_model_bias

X = np.array([1.0, 2, 3, 4])
Y = np.array([2.0, 2, 5, 4])  # d = [1, 0, 2, 0]: mean 3/4, s_d² = 2.75/3


def test_mean_difference_hand_derived() -> None:
    est = mean_difference(X, Y)
    s = np.sqrt(2.75 / 3)
    t = stats.t.ppf(0.975, 3)
    assert est.value == pytest.approx(0.75)
    assert (est.ci_low, est.ci_high) == pytest.approx((0.75 - t * s / 2, 0.75 + t * s / 2))
    assert est.p_value == pytest.approx(stats.ttest_rel(Y, X).pvalue)
    assert est.extra["wilcoxon_p"] == pytest.approx(stats.wilcoxon([1.0, 2.0]).pvalue)


def test_bland_altman_1999_formulas() -> None:
    """Bland & Altman (1999) §5.1: Var(LoA) ≈ (1/n + z²/(2(n−1))) s²; here n = 4, s² = 2.75/3."""
    ba = bland_altman(X, Y)
    s = np.sqrt(2.75 / 3)
    t = stats.t.ppf(0.975, 3)
    se = s * np.sqrt(1 / 4 + 1.96**2 / 6)
    assert ba.loa_low == pytest.approx(0.75 - 1.96 * s) and ba.loa_high == pytest.approx(0.75 + 1.96 * s)
    assert ba.loa_high_ci_low == pytest.approx(0.75 + 1.96 * s - t * se)
    assert ba.loa_low_ci_high == pytest.approx(0.75 - 1.96 * s + t * se)
    assert ba.bias_ci_low == pytest.approx(0.75 - t * s / 2)


def test_sd_ratio_and_ceiling() -> None:
    est = sd_ratio(np.array([1.0, 2, 3]), np.array([2.0, 4, 6]))
    assert est.value == pytest.approx(2.0)
    rater, ref = ceiling_rates(np.array([5.0, 5, 4, 3]), np.array([5.0, 5, 5, 5]))
    assert rater.value == 1.0 and ref.value == 0.5
    ci = stats.binomtest(2, 4).proportion_ci(method="wilson")
    assert (ref.ci_low, ref.ci_high) == pytest.approx((ci.low, ci.high))


def test_ceiling_rates_count_fractional_scores_by_their_nearest_scale_point() -> None:
    # expected scores 4.83 and 4.5 round (half up) to 5, 4.49 does not; 5.0 is a scale point (not rounded)
    rater, ref = ceiling_rates(np.array([5.0, 4, 4, 5]), np.array([4.83, 4.5, 4.49, 5.0]))
    assert rater.value == 0.75 and rater.extra == {"top": 5.0, "count": 3, "rounded": 3}
    assert ref.value == 0.5 and ref.extra["rounded"] == 0
    ci = stats.binomtest(3, 4).proportion_ci(method="wilson")
    assert (rater.ci_low, rater.ci_high) == pytest.approx((ci.low, ci.high))
    top2, _ = ceiling_rates(np.array([2.0, 2.0]), np.array([1.6, 1.4]), top=2.0)  # a 0-2 scale
    assert top2.value == 0.5 and top2.extra["count"] == 1


def _synthetic(seed: int = 0, n_ctx: int = 300) -> pd.DataFrame:
    """Human scores plus a judge that adds +0.5 everywhere, +1.0 more on its own responder 'a',
    and 0.01 per unit of length."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_ctx):
        base = rng.normal(3, 0.6)
        for resp in ("a", "b", "c"):
            h = base + rng.normal(0, 0.5)
            ln = rng.uniform(50, 250)
            j = h + 0.5 + (1.0 if resp == "a" else 0.0) + 0.01 * (ln - 150) + rng.normal(0, 0.3)
            tgt = f"{c}:{resp}"
            for rater, score in (("human", h), ("judge", j)):
                rows.append((tgt, rater, "empathy", score, c, resp, ln))
    return pd.DataFrame(
        rows, columns=["target", "rater", "attribute", "score", "context", "responder", "length"]
    )


def test_self_preference_recovers_known_effect() -> None:
    df = _synthetic()
    sp = self_preference(df, "judge", "human", "empathy", ["a"])
    assert sp.ci_method == "paired-by-context t"
    assert sp.ci_low < 1.0 < sp.ci_high and sp.difference == pytest.approx(1.0, abs=0.1)
    assert sp.n_own == 300 and sp.n_other == 600
    welch = self_preference(df.drop(columns="context"), "judge", "human", "empathy", ["a"])
    assert welch.ci_method == "welch t" and welch.ci_low < 1.0 < welch.ci_high


def test_source_model_bias_and_length_bias() -> None:
    df = _synthetic()
    by = {r.responder: r.estimate.value for r in source_model_bias(df, "judge", "human", "empathy")}
    assert by["a"] == pytest.approx(1.5, abs=0.1) and by["b"] == pytest.approx(0.5, abs=0.1)
    lb = length_bias(df, "judge", "human", "empathy")
    assert lb.ci_low < 0.01 < lb.ci_high and lb.r > 0.3
    with pytest.raises(ValueError):
        length_bias(df.drop(columns="length"), "judge", "human", "empathy")


def test_run_spread() -> None:
    rows = [("t1", "j", "safety", s, i) for i, s in enumerate([4.0, 4.0, 4.0])]
    rows += [("t2", "j", "safety", s, i) for i, s in enumerate([2.0, 3.0, 4.0])]
    rows += [("t3", "j", "safety", s, i) for i, s in enumerate([5.0, 5.0, np.nan])]
    df = pd.DataFrame(rows, columns=["target", "rater", "attribute", "score", "sample"])
    rs = run_spread(df, "j", "safety")
    assert rs.n_targets == 3 and rs.n_samples == 3
    assert rs.mean_sd == pytest.approx((0 + 1 + 0) / 3)
    assert rs.share_disagree == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        run_spread(df.drop(columns="sample"), "j", "safety")


def test_bias_report_records() -> None:
    from council.stats.bias_report import bias_report

    df = _synthetic(n_ctx=120)
    recs = bias_report(df, "human", own_responders={"judge": ["a"]}, include_council=False)
    by = {}
    for r in recs:
        by.setdefault((r.attribute, r.statistic), []).append(r)
    src = {r.extra["responder"]: r.value for r in by[("empathy", "source_model_bias")]}
    assert src["a"] == pytest.approx(1.5, abs=0.15)
    sp = by[("empathy", "self_preference")][0]
    assert sp.ci_low < 1.0 < sp.ci_high and sp.ci_method == "paired-by-context t"
    assert by[("empathy", "length_bias_slope")][0].value == pytest.approx(0.01, abs=0.003)
    sampled = pd.concat([df.assign(sample=0), df.assign(sample=1, score=df.score + 0.5)], ignore_index=True)
    runs = [r for r in bias_report(sampled, "human", own_responders=False) if r.statistic == "run_sd_mean"]
    assert {r.rater for r in runs} == {"judge"}  # the reference is not analysed
    judge = [r for r in runs if r.rater == "judge"][0]
    assert judge.value == pytest.approx(np.sqrt(0.125)) and judge.extra["share_disagree"] == 1.0
