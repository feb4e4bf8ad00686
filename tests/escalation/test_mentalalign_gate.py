"""The gate on MentalAlign-70k (one split; bench/bench_escalation.py runs 20): held-out agreement and coverage."""

from __future__ import annotations

import numpy as np
import pytest

from council.escalation import AgreementTarget, TierSpec, fit_gate, route
from council.ratings.mentalalign import default_mentalalign_dir, import_mentalalign

pytestmark = pytest.mark.skipif(not (default_mentalalign_dir() / "ratings.jsonl").is_file(),
                                reason=f"MentalAlign-70k not found at {default_mentalalign_dir()} "
                                       "(../shared/data/mentalalign or $MENTALALIGN_DIR)")


def test_within_one_gate_holds_on_held_out_contexts():
    df = import_mentalalign().frame
    ctx = np.sort(df["context"].astype(str).unique())
    train = set(np.random.default_rng(5).choice(ctx, len(ctx) // 2, replace=False))
    held = ~df["context"].astype(str).isin(train)
    g, o = "gemini-2.5-flash-preview-04-17", "o4-mini"
    tiers = [TierSpec(name="t1", judges=[g]), TierSpec(name="t2", judges=[g, o])]
    gate = fit_gate(df[~held], tiers, AgreementTarget.parse("within1>=0.95", 0.1), seed=5)
    s = route(gate, df[held]).summary
    assert s.realised_agreement >= 0.95
    assert sum(s.coverage.values()) > 0.5  # a single judge is within one point on ~0.87–0.90 of all items
