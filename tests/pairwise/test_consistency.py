"""Combining the two orders of a pair: agreement gives the winner, disagreement a tie; position rates by hand."""

import numpy as np
import pandas as pd
import pytest

from council.pairwise.consistency import combine_orders, first_position_preference, position_consistency
from council.pairwise.frames import verdicts_frame
from council.pairwise.types import PairVerdict
from council.stats.types import BootstrapSpec

RESPONDER = {"c0": "r0", "c1": "r1", "c2": "r2"}


def _v(item, first, second, order, verdict, judge="j", p=None, **kw):
    probs = {} if p is None else {"p_first": p[0], "p_second": p[1], "p_tie": p[2]}
    abstention = None if verdict is not None else "parse_failure"
    return PairVerdict(item_id=item, judge_id=judge, first_candidate=first, second_candidate=second,
                       first_responder=RESPONDER[first], second_responder=RESPONDER[second], order=order,
                       verdict=verdict, abstention=abstention, **probs, **kw)


def _pair(item, ab, ba, a="c0", b="c1", **kw):
    return [_v(item, a, b, "AB", ab, **kw), _v(item, b, a, "BA", ba, **kw)]


@pytest.mark.parametrize(("ab", "ba", "outcome", "consistent"), [
    ("A", "B", "a", True),     # a shown first wins, then a shown second wins: a both times
    ("B", "A", "b", True),
    ("tie", "tie", "tie", True),
    ("A", "A", "tie", False),  # the first-shown wins both times: position, not content
    ("B", "B", "tie", False),
    ("tie", "B", "tie", False),  # one order decides, the other does not
    ("A", "tie", "tie", False),
])
def test_two_orders_combine_to_one_outcome(ab, ba, outcome, consistent):
    out = combine_orders(verdicts_frame(_pair("i1", ab, ba))).outcomes
    assert len(out) == 1
    row = out.iloc[0]
    assert (row.candidate_a, row.candidate_b, row.responder_a, row.responder_b) == ("c0", "c1", "r0", "r1")
    assert row.outcome == outcome and bool(row.consistent) is consistent
    assert row.score_a == {"a": 1.0, "tie": 0.5, "b": 0.0}[outcome]


def test_a_pair_missing_an_order_gets_no_outcome_and_is_reported():
    verdicts = [*_pair("i1", "A", "B"), _v("i2", "c0", "c1", "AB", "A"), *_pair("i3", "A", None)]
    combined = combine_orders(verdicts_frame(verdicts))
    assert combined.outcomes["item_id"].tolist() == ["i1"]
    assert sorted(combined.incomplete["item_id"]) == ["i2", "i3"]  # i3's BA verdict is an abstention


def test_judging_the_same_order_twice_is_an_error():
    verdicts = [*_pair("i1", "A", "B"), _v("i1", "c0", "c1", "AB", "B")]
    with pytest.raises(ValueError, match="twice"):
        combine_orders(verdicts_frame(verdicts))


def test_malformed_frames_are_refused():
    frame = verdicts_frame(_pair("i1", "A", "B"))
    with pytest.raises(ValueError, match="order"):
        combine_orders(frame.assign(order="XY"))
    with pytest.raises(ValueError, match="columns"):
        combine_orders(frame.drop(columns="verdict"))
    with pytest.raises(ValueError):
        _v("i1", "c0", "c0", "AB", "A")


def test_probability_weighted_preference_averages_both_orders_in_a_s_favour():
    # AB: P(A) − P(B) = 0.6 for a; BA: P(A) − P(B) = 0.2 for b shown first, i.e. −0.2 for a. Mean 0.2 → 0.6.
    verdicts = [_v("i1", "c0", "c1", "AB", "A", p=(0.7, 0.1, 0.2)), _v("i1", "c1", "c0", "BA", "A", p=(0.5, 0.3, 0.2))]
    row = combine_orders(verdicts_frame(verdicts)).outcomes.iloc[0]
    assert row.preference_a_ab == pytest.approx(0.6) and row.preference_a_ba == pytest.approx(-0.2)
    assert row.soft_score_a == pytest.approx(0.6)
    assert row.outcome == "tie"  # both orders said A: inconsistent
    no_probs = combine_orders(verdicts_frame(_pair("i2", "A", "B"))).outcomes.iloc[0]
    assert np.isnan(no_probs.soft_score_a)


def test_position_rates_by_hand():
    # Judge j on 4 contexts: consistent (A,B), consistent (tie,tie), first-first (A,A), first-first (A,A).
    # Verdicts for the first shown: 1 + 0 + 2 + 2 = 5; for the second: 1 + 0 + 0 + 0 = 1; verdicts: 8.
    verdicts = [*_pair("i1", "A", "B"), *_pair("i2", "tie", "tie"), *_pair("i3", "A", "A"), *_pair("i4", "A", "A")]
    out = combine_orders(verdicts_frame(verdicts)).outcomes
    spec = BootstrapSpec(n_boot=50, seed=1)
    (consistency,) = position_consistency(out, spec)
    assert consistency.statistic == "position_consistency_rate"
    assert consistency.value == pytest.approx(2 / 4) and consistency.n == 4 and consistency.n_contexts == 4
    assert consistency.ci_method == "cluster-bootstrap(50, seed=1)" and consistency.n_boot == 50
    rates = {r.statistic: r for r in first_position_preference(out, spec)}
    assert rates["first_position_bias"].value == pytest.approx((5 - 1) / 8)
    assert rates["first_position_bias"].n == 8
    assert rates["first_position_rate_decisive"].value == pytest.approx(5 / 6)
    assert rates["first_position_rate_decisive"].n == 6


def test_rates_are_per_judge_and_attribute():
    verdicts = [*_pair("i1", "A", "B", judge="j1"), *_pair("i1", "A", "A", judge="j2"),
                *_pair("i2", "A", "B", judge="j1", attribute="empathy")]
    out = combine_orders(verdicts_frame(verdicts)).outcomes
    got = {(r.judge_id, r.attribute): r.value for r in position_consistency(out, BootstrapSpec(n_boot=10))}
    assert got == {("j1", "empathy"): 1.0, ("j1", "overall"): 1.0, ("j2", "overall"): 0.0}
    assert position_consistency(pd.DataFrame(columns=out.columns)) == []
