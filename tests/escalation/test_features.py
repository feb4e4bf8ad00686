"""Confidence features: score distributions, where stored, replace the written score's point mass."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from council.escalation.features import feature_names, item_table, tier_features


def frame(dist_a: dict | None) -> pd.DataFrame:
    rows = [("t1", "a", "empathy", 4.0, "c1", None if dist_a is None else json.dumps(dist_a)),
            ("t1", "b", "empathy", 4.0, "c1", None),
            ("t1", "human_expert", "empathy", 4.0, "c1", None)]
    return pd.DataFrame(rows, columns=["target", "rater", "attribute", "score", "context", "distribution"])


def features(df: pd.DataFrame) -> dict[str, float]:
    t = item_table(df, ["a", "b"], ["empathy"], "human_expert", (1, 5))
    x = tier_features(t.scores, t.dist, np.array([4.0]), t.attribute_index(), np.array([4.0]), k=0,
                      attributes=["empathy"], scale=(1, 5))
    return dict(zip(feature_names(["empathy"], [1, 2, 3, 4, 5]), x[0], strict=True))


def test_distribution_mass_and_confidence_enter_the_features():
    point = features(frame(None))
    assert point["share_agree"] == 1.0 and point["min_agree"] == 1.0 and point["mean_confidence"] == 1.0
    spread = features(frame({"3": 0.3, "4": 0.6, "5": 0.1}))
    # Judge a puts 0.6 on the answer 4, judge b (no distribution) its whole point mass: mean 0.8, min 0.6.
    assert spread["share_agree"] == pytest.approx(0.8) and spread["min_agree"] == pytest.approx(0.6)
    entropy = -(0.3 * np.log(0.3) + 0.6 * np.log(0.6) + 0.1 * np.log(0.1)) / np.log(5)
    assert spread["mean_confidence"] == pytest.approx((1 - entropy + 1) / 2)
    assert spread["cell:empathy=4"] == 1.0 and spread["spread"] == 0.0
