"""Agreement of a simulated jury with simulated humans whose preferences follow a planted Bradley–Terry order.

Humans: each of two raters states one preference per pair of every context, preferring the planted-stronger
candidate with p = σ(|s_i − s_j|) (Bradley & Terry 1952), no ties. The "oracle" judge has strengths ×100, so it
names the stronger candidate in both orders (σ(60) ≈ 1). With two humans the panel verdict is the stronger
candidate with probability p², the weaker with (1 − p)², and a tie (split panel) with 2p(1 − p); so, averaged
over the 15 responder pairs (each once per context):

- oracle ``pair_agreement_rate`` = mean p²; ``decisive_agreement_rate`` = mean p² / mean (p² + (1 − p)²);
- a judge answering "A" whatever it sees is a tie on every pair (its orders disagree): its exact agreement is
  mean 2p(1 − p) and it has no decisive pair;
- the leave-one-out ceiling (one human vs the other) = mean (p² + (1 − p)²), decisive alike (no human ties).

Kendall τ-b is ``scipy.stats.kendalltau`` (Kendall 1945); with 300 contexts both Bradley–Terry fits recover the
planted order, so τ = 1, and −1 against humans with the order reversed.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from council.pairwise.consistency import combine_orders
from council.pairwise.human import COUNCIL, human_agreement, panel_verdicts
from council.stats.types import BootstrapSpec
from tests.pairwise.simulate import PLANTED, RESPONDERS, SimJudge, simulate

SPEC = BootstrapSpec(n_boot=200, seed=3)
N_CONTEXTS = 300
PAIRS = [(i, j) for i in range(6) for j in range(i + 1, 6)]
P = np.array([expit(abs(PLANTED[i] - PLANTED[j])) for i, j in PAIRS])  # P(human prefers the stronger), per pair


def planted_humans(raters=("ann", "bo"), strengths=PLANTED, n_contexts=N_CONTEXTS, seed=11) -> pd.DataFrame:
    """One preference per rater, pair and context; which candidate is listed as 'a' is random."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_contexts):
        for i, j in PAIRS:
            for rater in raters:
                first, second = (i, j) if rng.random() < 0.5 else (j, i)
                p_first = expit(strengths[first] - strengths[second])
                rows.append({"item_id": f"i{c:03d}", "attribute": "overall", "rater": rater,
                             "candidate_a": f"c{first}", "candidate_b": f"c{second}",
                             "responder_a": RESPONDERS[first], "responder_b": RESPONDERS[second],
                             "preference": "A" if rng.random() < p_first else "B"})
    return pd.DataFrame(rows)


def jury(*judges: SimJudge, scale: float = 100.0) -> pd.DataFrame:
    verdicts, _ = simulate(list(judges), n_contexts=N_CONTEXTS, seed=5, strengths=PLANTED * scale)
    return combine_orders(verdicts).outcomes


def _rate(result, rater, statistic, reference="human_majority"):
    rates = result.ceiling if reference == "other_humans" else result.agreement
    (found,) = [r for r in rates if r.rater == rater and r.statistic == statistic and r.reference == reference]
    return found


@pytest.fixture(scope="module")
def humans():
    return planted_humans()


@pytest.fixture(scope="module")
def result(humans):
    return human_agreement(jury(SimJudge("oracle"), SimJudge("first", first_bias=1.0)), humans, spec=SPEC)


def test_rankings_agree_perfectly_with_the_planted_human_order(result):
    (tau,) = result.rankings
    assert tau.statistic == "kendall_tau_b" and tau.reference == "human_pairwise_bt"
    assert tau.value == pytest.approx(1.0) and tau.ci_low == pytest.approx(1.0)
    assert tau.n_responders == 6 and tau.n_contexts == N_CONTEXTS and tau.ci_method == SPEC.method


def test_oracle_pair_agreement_matches_the_bradley_terry_expectation(result):
    exact, decisive = _rate(result, "oracle", "pair_agreement_rate"), _rate(result, "oracle", "decisive_agreement_rate")
    n = N_CONTEXTS * len(PAIRS)
    assert exact.n == n and exact.k == 2 and exact.n_contexts == N_CONTEXTS and exact.ci_method == SPEC.method
    assert exact.value == pytest.approx(np.mean(P**2), abs=0.02)  # SE ≈ 0.008 at n = 4500
    assert exact.ci_low < np.mean(P**2) < exact.ci_high
    assert decisive.value == pytest.approx(np.mean(P**2) / np.mean(P**2 + (1 - P) ** 2), abs=0.02)
    assert decisive.n == pytest.approx(n * np.mean(P**2 + (1 - P) ** 2), rel=0.05)  # split panels left out


def test_a_judge_that_always_answers_first_is_a_tie_everywhere(result):
    exact, decisive = _rate(result, "first", "pair_agreement_rate"), _rate(result, "first", "decisive_agreement_rate")
    assert exact.value == pytest.approx(np.mean(2 * P * (1 - P)), abs=0.02)  # it matches split human panels only
    assert decisive.n == 0 and np.isnan(decisive.value) and decisive.n_contexts == 0


def test_human_ceiling_is_agreement_between_the_two_humans(result):
    exact = _rate(result, "human", "pair_agreement_rate", "other_humans")
    decisive = _rate(result, "human", "decisive_agreement_rate", "other_humans")
    expected = np.mean(P**2 + (1 - P) ** 2)
    assert exact.value == pytest.approx(expected, abs=0.02) and exact.ci_low < expected < exact.ci_high
    assert exact.n == 2 * N_CONTEXTS * len(PAIRS) and exact.k == 2
    assert decisive.value == pytest.approx(exact.value) and decisive.n == exact.n  # humans never tie here
    assert result.n_pairs == result.n_pairs_judged == result.n_pairs_multi_rated == N_CONTEXTS * len(PAIRS)
    assert result.n_preferences == 2 * N_CONTEXTS * len(PAIRS) and result.n_raters == 2


def test_council_is_the_panel_verdict_of_its_judges(humans, result):
    # oracle + "first": every pair has one vote for the stronger and one tie -> split -> the council says tie
    assert _rate(result, COUNCIL, "pair_agreement_rate").value == pytest.approx(
        _rate(result, "first", "pair_agreement_rate").value)
    # two oracles outvote the always-first judge: the council is the oracle
    three = human_agreement(jury(SimJudge("o1"), SimJudge("o2"), SimJudge("first", first_bias=1.0)), humans, spec=SPEC)
    for statistic in ("pair_agreement_rate", "decisive_agreement_rate"):
        council, oracle = _rate(three, COUNCIL, statistic), _rate(result, "oracle", statistic)
        assert (council.value, council.n) == (pytest.approx(oracle.value), oracle.n)


def test_humans_with_the_reverse_order_disagree():
    reversed_humans = planted_humans(strengths=-PLANTED, n_contexts=100, seed=13)
    got = human_agreement(jury(SimJudge("oracle")), reversed_humans, spec=SPEC)
    assert got.rankings[0].value == pytest.approx(-1.0)
    assert _rate(got, "oracle", "pair_agreement_rate").value == pytest.approx(np.mean((1 - P) ** 2), abs=0.03)
    # the ceiling does not depend on what the humans prefer, only on how consistently they do
    assert _rate(got, "human", "pair_agreement_rate", "other_humans").value == pytest.approx(
        np.mean(P**2 + (1 - P) ** 2), abs=0.03)


def test_panel_verdicts_by_hand():
    votes = pd.DataFrame({"pair": ["x"] * 3 + ["y"] * 2 + ["z"] * 2 + ["w"] * 3,
                          "label": ["a", "a", "b", "a", "b", "a", "tie", "tie", "tie", "b"]})
    got = panel_verdicts(votes, ["pair"]).set_index("pair")
    assert got.loc["x", "verdict"] == "a" and got.loc["x", "votes"] == 3  # 2 of 3
    assert got.loc["y", "verdict"] == "tie"  # one a, one b: split
    assert got.loc["z", "verdict"] == "tie"  # one a, one tie: split
    assert got.loc["w", "verdict"] == "tie" and (got.loc["w", "tie"], got.loc["w", "b"]) == (2, 1)


def test_ceiling_leaves_the_rater_out_and_single_rated_pairs_out():
    # pair c0/c1 of i000: ann A, bo A, cy B -> ann vs {bo A, cy B} = split = tie (no), bo likewise (no),
    # cy vs {ann, bo} = a, cy says b (no) -> 0/3 exact; decisive units: only cy (0/1).
    # pair c0/c2 of i001: ann A, bo A -> each vs the other: a = a -> 2/2. Pair c1/c2 of i001: ann only -> left out.
    prefs = pd.DataFrame([
        ("i000", "ann", "c0", "c1", "A"), ("i000", "bo", "c1", "c0", "B"), ("i000", "cy", "c0", "c1", "B"),
        ("i001", "ann", "c0", "c2", "A"), ("i001", "bo", "c0", "c2", "A"), ("i001", "ann", "c1", "c2", "tie"),
    ], columns=["item_id", "rater", "candidate_a", "candidate_b", "preference"])
    prefs = prefs.assign(attribute="overall", responder_a=prefs["candidate_a"].str.replace("c", "r"),
                         responder_b=prefs["candidate_b"].str.replace("c", "r"))
    outcomes = jury(SimJudge("oracle"))
    got = human_agreement(outcomes[outcomes["item_id"].isin(["i000", "i001"])], prefs,
                          spec=BootstrapSpec(n_boot=20))
    exact = _rate(got, "human", "pair_agreement_rate", "other_humans")
    decisive = _rate(got, "human", "decisive_agreement_rate", "other_humans")
    assert (exact.n, exact.value, exact.k) == (5, pytest.approx(2 / 5), 3)
    assert (decisive.n, decisive.value) == (3, pytest.approx(2 / 3))
    assert got.n_pairs == 3 and got.n_pairs_multi_rated == 2
    # the oracle (c0 > c1 > c2) against the human panels: i000 c0/c1 majority a (2 of 3) -> agrees;
    # i001 c0/c2 a -> agrees; i001 c1/c2 tie (ann alone) -> the oracle says a -> no.
    oracle = _rate(got, "oracle", "pair_agreement_rate")
    assert (oracle.n, oracle.value) == (3, pytest.approx(2 / 3))
    assert got.rankings[0].n_responders == 3 and not got.notes  # r0, r1, r2 are ranked by both
    c0_c1 = prefs[prefs["item_id"] == "i000"]  # only responders r0 and r1, in two contexts
    two = human_agreement(outcomes[outcomes["item_id"].isin(["i000", "i001"])],
                          pd.concat([c0_c1, c0_c1.assign(item_id="i001")]), spec=BootstrapSpec(n_boot=20))
    assert two.rankings == [] and "no Kendall τ" in two.notes[0] and "3 responders" in two.notes[0]


def test_empty_inputs_are_errors():
    with pytest.raises(ValueError, match="no human preferences"):
        human_agreement(jury(SimJudge("oracle")), planted_humans(n_contexts=1).iloc[:0])
