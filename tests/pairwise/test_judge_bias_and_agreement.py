"""Planted self-preference and length preference are found; ranking agreement by hand and on simulated juries."""

import numpy as np
import pandas as pd
import pytest

from council.pairwise.agreement import pairwise_vs_absolute, pairwise_vs_pairwise, ranking_agreement
from council.pairwise.consistency import combine_orders
from council.pairwise.judge_bias import length_preference, self_preference
from council.pairwise.leaderboard import StrengthReplicates
from council.stats.types import BootstrapSpec
from tests.pairwise.simulate import PLANTED, RESPONDERS, SimJudge, simulate

SPEC = BootstrapSpec(n_boot=200, seed=5)


@pytest.fixture(scope="module")
def biased_jury():
    judges = [SimJudge("selfish", own_responder="r2", own_bias=0.4), SimJudge("fair_y"), SimJudge("fair_z"),
              SimJudge("wordy", length_bias=0.5)]
    verdicts, lengths = simulate(judges, n_contexts=100, seed=21)
    return combine_orders(verdicts).outcomes, lengths


def test_planted_self_preference_is_found_and_fair_judges_show_none(biased_jury):
    outcomes, _ = biased_jury
    judge_family = {"selfish": "fam_x", "fair_y": "fam_y", "fair_z": "fam_z"}
    responder_family = {"r2": "fam_x", "r4": "fam_y"}
    found = {r.judge_id: r for r in self_preference(outcomes, judge_family, responder_family, SPEC)}
    selfish = found["selfish"]
    assert selfish.own_responders == ["r2"] and selfish.family == "fam_x"
    assert selfish.difference == pytest.approx(selfish.win_rate_judge - selfish.win_rate_others)
    # Per order the selfish judge picks r2 with q = 0.4 + 0.6 p (p = σ(s_r2 − s_opponent)); both orders combined
    # give r2 an expected score of q, so the planted difference is 0.4 (1 − p̄) = 0.4 × (1 − 0.572) ≈ 0.17.
    assert selfish.difference == pytest.approx(0.17, abs=0.05) and selfish.ci_low > 0
    assert selfish.n_pairs == 100 * 5 and selfish.n_contexts == 100  # r2 against the 5 others, per context
    fair = found["fair_y"]  # its family's r4 is treated like everyone else
    assert fair.ci_low < 0 < fair.ci_high
    assert "fair_z" not in found  # no fam_z responder: nothing to prefer


def test_planted_length_preference_is_found(biased_jury):
    outcomes, lengths = biased_jury
    rates = {r.judge_id: r for r in length_preference(outcomes, lengths, SPEC)}
    assert rates["wordy"].statistic == "longer_wins_rate"
    assert rates["wordy"].ci_low > rates["fair_y"].ci_high
    assert rates["fair_y"].value == pytest.approx(0.5, abs=0.06)  # lengths are drawn independently of strength
    with pytest.raises(ValueError, match="length"):
        length_preference(outcomes, lengths.iloc[1:], SPEC)


def _reps(names, point):
    point = np.asarray(point, float)
    return StrengthReplicates(names, point, np.tile(point, (20, 1)))


def test_kendall_tau_by_hand():
    # Orders a>b>c>d vs a>c>b>d: 5 concordant and 1 discordant pair of 6, τ = (5 − 1) / 6.
    spec = BootstrapSpec(n_boot=20)
    same = ranking_agreement(_reps(list("abcd"), [4, 3, 2, 1]), _reps(list("dcba"), [1, 2, 3, 4]),
                             ranking_name="x", reference_name="y", n_contexts=7, spec=spec)
    assert same.value == pytest.approx(1.0)  # responders are matched by name, not by position
    reversed_ = ranking_agreement(_reps(list("abcd"), [4, 3, 2, 1]), _reps(list("abcd"), [1, 2, 3, 4]),
                                  ranking_name="x", reference_name="y", n_contexts=7, spec=spec)
    assert reversed_.value == pytest.approx(-1.0)
    got = ranking_agreement(_reps(list("abcd"), [4, 3, 2, 1]), _reps(list("abcd"), [4, 2, 3, 1]),
                            ranking_name="x", reference_name="y", n_contexts=7, spec=spec)
    assert got.value == pytest.approx(4 / 6)
    # exact two-sided p: of the 24 orders of 4, 1 + 3 have ≤ 1 discordant pair and 3 + 1 have ≥ 5, so 8/24
    assert got.p_value == pytest.approx(8 / 24, abs=1e-9)
    assert (got.ci_low, got.ci_high) == pytest.approx((4 / 6, 4 / 6))
    assert got.statistic == "kendall_tau_b" and got.n_responders == 4 and got.n_contexts == 7
    with pytest.raises(ValueError, match="3 responders"):
        ranking_agreement(_reps(list("ab"), [1, 0]), _reps(list("ab"), [1, 0]), ranking_name="x",
                          reference_name="y", n_contexts=1, spec=spec)


@pytest.fixture(scope="module")
def fair_jury():
    verdicts, _ = simulate([SimJudge("j1", first_bias=0.3), SimJudge("j2")], n_contexts=80, seed=31)
    return combine_orders(verdicts).outcomes


def test_pairwise_ranking_agrees_with_absolute_scores_of_the_same_contexts(fair_jury):
    rng = np.random.default_rng(4)
    scores = pd.DataFrame([{"item_id": f"i{c:03d}", "responder": r, "score": 3 + 0.8 * s + rng.normal(0, 1)}
                           for c in range(80) for r, s in zip(RESPONDERS, PLANTED, strict=True)])
    got = pairwise_vs_absolute(fair_jury, scores, spec=SPEC)
    assert got.value >= 0.9 and got.ranking == "pairwise_bt" and got.reference == "absolute_mean"
    assert -1 <= got.ci_low <= got.value <= got.ci_high <= 1
    assert got.n_contexts == 80 and got.n_responders == 6 and got.ci_method == SPEC.method


def test_pairwise_ranking_agrees_with_human_pairwise_preferences(fair_jury):
    human_verdicts, _ = simulate([SimJudge("human:expert", tie=0.1)], n_contexts=60, seed=41)
    human = combine_orders(human_verdicts).outcomes
    got = pairwise_vs_pairwise(fair_jury, human, spec=SPEC)
    assert got.value >= 0.9 and got.reference == "human_pairwise_bt"
    assert got.n_contexts == 80  # human contexts i000…i059 are a subset of the judges'
