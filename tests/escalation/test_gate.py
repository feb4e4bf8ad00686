"""Fitting a tiered gate, routing items through it, and storing it as versions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from council.analysis.errors import NotFoundError
from council.escalation import (
    AgreementTarget,
    EscalationGate,
    TierSpec,
    fit_gate,
    get_gate,
    latest_gate,
    list_gates,
    route,
    save_gate,
)
from council.store.migrations import migrate
from council.store.store import Store
from tests.escalation.simulate import ratings

TIERS = [TierSpec(name="cheap", judges=["cheap"]), TierSpec(name="strong", judges=["cheap", "strong"])]
TARGET = AgreementTarget(criterion="exact", level=0.9, risk=0.1)


@pytest.fixture(scope="module")
def gate() -> EscalationGate:
    return fit_gate(ratings(600, seed=1), TIERS, TARGET, seed=0)


def test_gate_holds_its_level_on_fresh_items_and_uses_both_tiers(gate):
    fresh = ratings(1500, seed=2)
    r = route(gate, fresh)
    s = r.summary
    assert s.realised_agreement is not None and s.realised_agreement >= TARGET.level
    # The cheap judge alone is right on 0.92·0.4 + 0.45·0.6 ≈ 0.64 of items: the gate must select, not accept all.
    assert 0.2 < s.coverage["cheap"] < 0.7 and s.coverage["strong"] > 0.05
    assert s.n_review == s.n_items - sum(s.accepted.values()) and s.n_awaiting == 0
    acc = r.frame[r.frame["decision"] == "accepted"]
    lam = {th.tier: th.threshold for th in gate.thresholds}
    assert acc["score"].notna().all() and (acc["confidence"] >= acc["tier"].map(lam)).all()
    assert s.predicted_agreement == pytest.approx(acc["confidence"].mean())
    # The cheap tier takes the cheap judge's 5s, where it is reliable, and leaves most of its low scores.
    cheap = fresh[fresh["rater"] == "cheap"].set_index(["target", "attribute"])["score"]
    at_cheap = (r.frame["tier"] == "cheap").to_numpy()
    own = cheap.reindex(pd.MultiIndex.from_frame(r.frame[["target", "attribute"]])).to_numpy()
    assert at_cheap[own == 5].mean() > 0.9 and at_cheap[own <= 3].mean() < 0.3


def test_thresholds_record_the_fixed_sequence_evidence(gate):
    for th in gate.thresholds:
        assert th.delta == pytest.approx(TARGET.risk / len(TIERS))  # Bonferroni across tiers
        if th.threshold is not None:
            assert th.agreement_lower >= TARGET.level and th.n_accepted >= gate.training.min_accepted
    assert gate.thresholds[1].n_reaching < gate.thresholds[0].n_reaching


def test_routing_in_steps_awaits_the_next_tier_and_forces_risk_to_review(gate):
    df = ratings(50, seed=3)
    only_cheap = df[df["rater"] != "strong"]
    first = route(gate, only_cheap, judged_tiers=1)
    waiting = first.frame[first.frame["decision"] == "awaiting"]
    assert len(waiting) and (waiting["tier"] == "strong").all()
    assert first.summary.accepted["strong"] == 0
    full = route(gate, df)
    # Items accepted by tier 1 stay accepted; the awaiting ones are decided by tier 2 once it has run.
    merged = first.frame.merge(full.frame, on=["target", "attribute"], suffixes=("_1", "_2"))
    assert (merged.loc[merged["decision_1"] == "accepted", "decision_2"] == "accepted").all()
    assert set(merged.loc[merged["decision_1"] == "awaiting", "decision_2"]) <= {"accepted", "review"}
    risky = {"c0:r0": "unsafe", "c1:r2": "high-risk context"}
    forced = route(gate, df, force_review=risky)
    hit = forced.frame[forced.frame["target"].isin(risky)]
    assert (hit["decision"] == "review").all() and hit["reason"].str.startswith("risk:").all()
    assert forced.summary.n_risk == len(hit) == 4


def test_items_no_judge_scored_go_to_people(gate):
    df = ratings(20, seed=4)
    df.loc[df["target"] == "c0:r0", "score"] = np.nan
    df = df[~((df["target"] == "c0:r0") & (df["rater"] == "human_expert"))]
    f = route(gate, df).frame
    lost = f[f["target"] == "c0:r0"]
    assert (lost["decision"] == "review").all() and (lost["reason"] == "unscored").all()


def test_gate_storage_versions_and_round_trip(tmp_path, gate):
    store = Store(tmp_path / "g.duckdb")
    a = save_gate(store, gate, name="mentalalign-exact", dataset="mentalalign")
    b = save_gate(store, gate, name="mentalalign-exact")
    other = save_gate(store, gate, name="mentalalign-exact", owner="someone-else")
    assert (a.version, b.version, other.version) == (1, 2, 1)
    got = get_gate(store, a.gate_id)
    assert got.gate == gate and got.dataset == "mentalalign" and got.target == TARGET
    assert got.thresholds == [t.threshold for t in gate.thresholds]
    assert latest_gate(store, "mentalalign-exact").gate_id == b.gate_id
    assert [g.version for g in list_gates(store)] == [2, 1]
    with pytest.raises(NotFoundError, match="gate_id"):
        get_gate(store, other.gate_id)  # another owner's gate does not exist for this owner
    df = ratings(30, seed=5)
    pd.testing.assert_frame_equal(route(got.gate, df).frame, route(gate, df).frame)


def test_migration_010_creates_the_table(tmp_path):
    import duckdb

    db = duckdb.connect(str(tmp_path / "m.duckdb"))
    assert "010_escalation_gates" in migrate(db)
    cols = [r[0] for r in db.execute("DESCRIBE escalation_gates").fetchall()]
    assert cols[:8] == ["gate_id", "owner", "name", "version", "criterion", "k", "level", "risk"]


def test_targets_and_tiers_are_validated():
    with pytest.raises(ValueError, match="k"):
        AgreementTarget(criterion="within_k", k=0, level=0.9, risk=0.1)
    assert AgreementTarget.parse("within1>=0.95", 0.1).k == 1
    with pytest.raises(ValueError, match="tiers"):
        fit_gate(ratings(20), [TierSpec(name="a", judges=["cheap"])] * 2, TARGET)
    with pytest.raises(ValueError, match="reference"):
        fit_gate(ratings(20), TIERS, TARGET, reference="nobody")


def test_a_tier_whose_new_judge_has_not_run_does_not_answer(gate):
    """Routing as if every tier had run, with the strong judge absent: nothing may be accepted at tier 2."""
    df = ratings(30, seed=6)
    f = route(gate, df[df["rater"] != "strong"]).frame
    assert (f["tier"] != "strong").all()
    escalated = f[f["decision"] != "accepted"]
    assert len(escalated) and (escalated["reason"] == "escalated").all()
