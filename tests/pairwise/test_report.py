"""The pairwise report's additions: families, self-preference, length preference and τ against absolute scores.

On the planted simulation of tests/pairwise/simulate.py (a selfish judge, fair judges, a length-loving judge) the
report must find what was planted and say what it skipped; the family rules are checked one by one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau

from council.pairwise.families import declared_families, resolve_families
from council.pairwise.report import report_from_verdicts
from council.stats.types import BootstrapSpec
from judges.types import JudgeSpec
from tests.pairwise.simulate import PLANTED, RESPONDERS, SimJudge, simulate

SPEC = BootstrapSpec(n_boot=200, seed=3)


def _judge(judge_id: str, family: str | None, model: str | None = None) -> JudgeSpec:
    return JudgeSpec(id=judge_id, model=model or f"openai/{judge_id}", family=family)


def test_family_rules_declared_then_judge_model_then_prefix_and_the_rest_skipped() -> None:
    judges = [_judge("qwen-judge", "qwen", "openai/qwen2.5-1.5b-instruct"), _judge("gpt", "openai", "openai/gpt-4o"),
              _judge("nameless", None)]
    responders = ["qwen2.5-1.5b-instruct", "gpt", "openai/gpt-4o-mini", "qwen/qwen2.5-7b", "human:expert",
                  "mistral/large", "declared-bot"]
    fam = resolve_families(judges, responders, {"declared-bot": "qwen", "gpt": "anthropic"})
    assert fam.judges == {"qwen-judge": "qwen", "gpt": "openai"}
    assert fam.judges_without_family == ["nameless"]
    assert fam.responders == {"qwen2.5-1.5b-instruct": "qwen", "gpt": "anthropic", "openai/gpt-4o-mini": "openai",
                              "qwen/qwen2.5-7b": "qwen", "declared-bot": "qwen"}
    # a declaration wins over the name rule ("gpt" is a judge id, but declared anthropic)
    assert fam.responder_sources == {"qwen2.5-1.5b-instruct": "judge_model", "gpt": "declared",
                                     "openai/gpt-4o-mini": "prefix", "qwen/qwen2.5-7b": "prefix",
                                     "declared-bot": "declared"}
    assert fam.responders_without_family == ["human:expert", "mistral/large"]  # mistral: no mistral judge


def test_declared_families_merge_over_items_and_refuse_contradictions() -> None:
    metas = [{"topic": "x"}, {"responder_families": {"a": "f1"}}, {"responder_families": {"a": "f1", "b": "f2"}}]
    assert declared_families(metas) == {"a": "f1", "b": "f2"}
    with pytest.raises(ValueError, match=r"meta\.responder_families: responder 'a' is declared as both 'f1' and 'f9'"):
        declared_families([*metas, {"responder_families": {"a": "f9"}}])
    with pytest.raises(ValueError, match="responder_families: expected an object"):
        declared_families([{"responder_families": ["a", "f1"]}])


@pytest.fixture(scope="module")
def planted() -> tuple[pd.DataFrame, pd.DataFrame]:
    judges = [SimJudge("selfish", own_responder="r2", own_bias=0.4), SimJudge("fair_y"), SimJudge("fair_z"),
              SimJudge("wordy", length_bias=0.5)]
    return simulate(judges, n_contexts=100, seed=21)


def test_report_finds_planted_self_and_length_preference_and_names_what_it_skipped(planted) -> None:
    verdicts, lengths = planted
    judges = [_judge("selfish", "fam_x"), _judge("fair_y", "fam_y"), _judge("fair_z", "fam_z"), _judge("wordy", None)]
    families = resolve_families(judges, RESPONDERS, {"r2": "fam_x", "r4": "fam_y"})
    report = report_from_verdicts(verdicts, SPEC, families=families, lengths=lengths)
    selfish = {r.judge_id: r for r in report.self_preference}
    # planted: 0.4 × (1 − mean σ(s_r2 − s_opponent)) = 0.4 × (1 − 0.572) ≈ 0.17 (see test_judge_bias_and_agreement)
    assert selfish["selfish"].difference == pytest.approx(0.17, abs=0.05) and selfish["selfish"].ci_low > 0
    assert selfish["fair_y"].ci_low < 0 < selfish["fair_y"].ci_high
    assert "wordy" not in selfish and "fair_z" not in selfish  # no family / no own-family responder
    assert report.families is not None and report.families.judges_without_family == ["wordy"]
    assert any("wordy" in n for n in report.notes)
    assert any("r0, r1, r3, r5" in n and "meta.responder_families" in n for n in report.notes)
    longer = {r.judge_id: r for r in report.length_preference}
    assert set(longer) == {"selfish", "fair_y", "fair_z", "wordy"}
    assert longer["wordy"].ci_low > longer["fair_y"].ci_high
    assert longer["fair_z"].ci_low < 0.5 < longer["fair_z"].ci_high  # lengths are drawn apart from strength
    assert report.absolute is None and report.human == []


def test_report_without_lengths_or_absolute_batch_says_so(planted) -> None:
    verdicts, _ = planted
    report = report_from_verdicts(verdicts, SPEC, absolute=(None, "none", None))
    assert report.length_preference == [] and any("length preference" in n for n in report.notes)
    assert report.absolute is not None and report.absolute.chosen == "none" and report.absolute.agreements == []
    assert "no absolute batch" in report.absolute.notes[0]
    assert report.self_preference == [] and report.families is None


def test_report_tau_against_absolute_scores_per_attribute(planted) -> None:
    verdicts, _ = planted
    rng = np.random.default_rng(8)
    # absolute scores that follow the planted order on 'empathy', and the reverse order on 'safety'
    rows = [{"item_id": f"i{c:03d}", "responder": r, "attribute": a, "score": 3 + sign * 0.8 * s + rng.normal(0, 1)}
            for c in range(100) for r, s in zip(RESPONDERS, PLANTED, strict=True)
            for a, sign in (("empathy", 1), ("safety", -1))]
    scores = pd.DataFrame(rows)
    same = report_from_verdicts(verdicts, SPEC, absolute=("b_abs", "given", scores[scores.attribute == "empathy"]))
    assert same.absolute is not None and same.absolute.absolute_batch == "b_abs" and same.absolute.chosen == "given"
    (tau,) = same.absolute.agreements
    assert tau.value >= 0.85 and tau.ci_low <= tau.value <= tau.ci_high and tau.n_responders == 6
    assert tau.reference == "absolute_mean" and tau.n_contexts == 100
    reverse = report_from_verdicts(verdicts, SPEC, absolute=("b_abs", "given", scores[scores.attribute == "safety"]))
    assert reverse.absolute.agreements[0].value <= -0.85  # type: ignore[union-attr]
    # 'overall' is compared with each responder's mean over every attribute's scores
    both = report_from_verdicts(verdicts, SPEC, absolute=("b_abs", "given", scores))
    means = scores.groupby("responder")["score"].mean()
    bt = {s.responder: s.strength for s in both.leaderboards[0].strengths}
    expected = kendalltau([bt[r] for r in RESPONDERS], [means[r] for r in RESPONDERS]).statistic
    assert both.absolute.agreements[0].value == pytest.approx(expected)  # type: ignore[union-attr]
    # an attribute's leaderboard is compared with that attribute's scores only
    on_empathy = report_from_verdicts(verdicts.assign(attribute="empathy"), SPEC, absolute=("b", "given", scores))
    assert on_empathy.absolute.agreements[0].value >= 0.85  # type: ignore[union-attr]
    none_of_it = report_from_verdicts(verdicts.assign(attribute="relevance"), SPEC, absolute=("b", "given", scores))
    assert none_of_it.absolute.agreements == []  # type: ignore[union-attr]
    assert none_of_it.absolute.notes == ["relevance: the absolute batch has no score of this attribute"]  # type: ignore[union-attr]
