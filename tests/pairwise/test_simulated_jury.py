"""Planted truths recovered: the order of 6 responders (Kendall τ ≥ 0.9) and a 30 % first-position bias (±5 points).

Three judges with a planted first-position bias of 0.30 (one of them also gives ties) and one unbiased judge
answer all 15 pairs of 6 responders in both orders on 120 contexts (numpy RNG, seed 7).
"""

import numpy as np
import pytest
from scipy.stats import kendalltau

from council.pairwise.consistency import combine_orders, first_position_preference, position_consistency
from council.pairwise.leaderboard import leaderboard
from council.stats.types import BootstrapSpec
from tests.pairwise.simulate import PLANTED, RESPONDERS, SimJudge, simulate

SPEC = BootstrapSpec(n_boot=200, seed=3)
JUDGES = [SimJudge("biased_a", first_bias=0.3), SimJudge("biased_b", first_bias=0.3),
          SimJudge("biased_ties", first_bias=0.3, tie=0.2), SimJudge("fair")]


@pytest.fixture(scope="module")
def outcomes():
    verdicts, _ = simulate(JUDGES)
    combined = combine_orders(verdicts)
    assert combined.incomplete.empty
    assert len(combined.outcomes) == 4 * 120 * 15
    return combined.outcomes


def _by_judge(records, statistic):
    return {r.judge_id: r for r in records if r.statistic == statistic}


def test_planted_first_position_bias_is_recovered_within_5_points(outcomes):
    bias = _by_judge(first_position_preference(outcomes, SPEC), "first_position_bias")
    for judge in ("biased_a", "biased_b", "biased_ties"):
        assert bias[judge].value == pytest.approx(0.30, abs=0.05)
        assert bias[judge].ci_low < 0.30 < bias[judge].ci_high
        assert bias[judge].n == 2 * 120 * 15 and bias[judge].n_contexts == 120
        assert bias[judge].ci_method == "cluster-bootstrap(200, seed=3)"
    assert bias["fair"].value == pytest.approx(0.0, abs=0.05)
    assert bias["fair"].ci_low < 0 < bias["fair"].ci_high


def test_decisive_first_rate_is_one_half_plus_half_the_bias_without_ties(outcomes):
    rate = _by_judge(first_position_preference(outcomes, SPEC), "first_position_rate_decisive")
    assert rate["biased_a"].value == pytest.approx(0.5 + 0.30 / 2, abs=0.03)
    assert rate["fair"].value == pytest.approx(0.5, abs=0.03)


def test_position_bias_lowers_position_consistency(outcomes):
    rates = _by_judge(position_consistency(outcomes, SPEC), "position_consistency_rate")
    # Expected consistency of the fair judge: mean over the 15 pairs of p² + (1 − p)², p = σ(s_i − s_j).
    i, j = np.triu_indices(6, 1)
    p = 1 / (1 + np.exp(-(PLANTED[i] - PLANTED[j])))
    assert rates["fair"].value == pytest.approx(np.mean(p**2 + (1 - p) ** 2), abs=0.03)
    assert rates["biased_a"].ci_high < rates["fair"].ci_low


def test_leaderboard_recovers_the_planted_order(outcomes):
    board = leaderboard(outcomes, spec=SPEC)
    order = [s.responder for s in board.strengths]
    estimated = {s.responder: s.strength for s in board.strengths}
    tau = kendalltau([estimated[r] for r in RESPONDERS], PLANTED).statistic
    assert tau >= 0.9
    assert order == RESPONDERS
    assert [s.rank for s in board.strengths] == [1, 2, 3, 4, 5, 6]
    for s in board.strengths:
        assert s.ci_low <= s.strength <= s.ci_high
        assert s.rank_low <= s.rank <= s.rank_high
    assert sum(s.strength for s in board.strengths) == pytest.approx(0, abs=1e-9)
    assert all(n.separable for n in board.neighbours)  # 0.6 logits apart on 7,200 outcomes
    assert board.n_contexts == 120 and board.n_outcomes == 7200 and board.n_boot == 200


def test_win_rate_matrix_is_complementary(outcomes):
    board = leaderboard(outcomes, spec=SPEC)
    rates = {(w.responder, w.opponent): w for w in board.win_rates}
    assert len(rates) == 30
    for (r, o), w in rates.items():
        assert w.win_rate + rates[(o, r)].win_rate == pytest.approx(1)
        assert w.n == 4 * 120
    assert rates[("r0", "r5")].win_rate > 0.75
