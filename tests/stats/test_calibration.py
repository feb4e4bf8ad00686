"""Calibration: synthetic data with a known truth, serialisation, apply, and the MentalAlign targets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from council.calibration import (
    CouncilCalibration,
    apply_calibration,
    apply_rater_map,
    apply_rater_maps,
    cross_validate_council,
    fit_council,
    fit_rater_map,
    fit_rater_maps,
    fit_validated_council,
)
from council.ratings import JUDGES

ATTRS = ("empathy", "safety")


def synthetic(seed: int = 0, n_ctx: int = 250, per: int = 4) -> pd.DataFrame:
    """Truth t per response; the human sees t + noise; judges are inflated, compressed, noisy views.

    judge_k = c_k + b_k t + e_k: ja (+1.6, 0.7), jb (+0.8, 0.8), jc (+0.3, 1.0); scores rounded and
    clipped to 1-5 like real Likert ratings.
    """
    rng = np.random.default_rng(seed)
    spec = {"ja": (1.6, 0.7, 0.6), "jb": (0.8, 0.8, 0.7), "jc": (0.3, 1.0, 0.8)}
    rows = []
    for c in range(n_ctx):
        for r in range(per):
            tgt = f"{c}:{r}"
            for a in ATTRS:
                t = rng.uniform(1, 5)
                rows.append((tgt, "human", a, float(np.clip(np.round(t + rng.normal(0, 0.5)), 1, 5)), c))
                for j, (off, slope, sd) in spec.items():
                    s = np.clip(np.round(off + slope * t + rng.normal(0, sd)), 1, 5)
                    rows.append((tgt, j, a, float(s), c))
    return pd.DataFrame(rows, columns=["target", "rater", "attribute", "score", "context"])


def test_linear_map_recovers_known_line() -> None:
    """y = (x − 0.5)/0.8 exactly → OLS gives slope 1.25 and intercept −0.625."""
    x = np.linspace(1, 4.5, 50)
    m = fit_rater_map(x, (x - 0.5) / 0.8, "linear")
    assert m.params["slope"] == pytest.approx(1.25) and m.params["intercept"] == pytest.approx(-0.625)
    assert apply_rater_map(m, np.array([0.5 + 0.8 * 3, np.nan]))[0] == pytest.approx(3.0)
    iso = fit_rater_map(x, np.clip(x**2 / 4, 1, 5), "isotonic")
    out = apply_rater_map(iso, x)
    assert np.all(np.diff(out) >= 0) and out.min() >= 1 and out.max() <= 5
    with pytest.raises(ValueError):
        fit_rater_map(x, x, "spline")  # type: ignore[arg-type]


def test_rater_maps_remove_bias_on_synthetic() -> None:
    df = synthetic()
    maps = fit_rater_maps(df, "human", ["ja", "jb", "jc"], ATTRS)
    cal = apply_rater_maps(maps, df)
    w = cal.pivot_table(index=["target", "attribute"], columns="rater", values="score")
    raw = df.pivot_table(index=["target", "attribute"], columns="rater", values="score")
    assert (raw.ja - raw.human).mean() > 0.4
    assert abs((w.ja - w.human).mean()) < 0.05


def test_council_calibration_on_synthetic_truth() -> None:
    """Held-out: calibrated council beats every single judge in ICC(A,1), bias ~ 0, SD matched."""
    df = synthetic()
    cv = cross_validate_council(df, "human", ["ja", "jb", "jc"], ATTRS, n_splits=5, seed=0)
    for row in cv.rows:
        assert row.calibrated_icc_a1 > row.best_judge_icc_a1 + 0.05
        assert row.calibrated_icc_a1 > row.council_icc_a1
        assert abs(row.calibrated_bias) < 0.05
    cal = fit_council(df, "human", ["ja", "jb", "jc"], ATTRS)
    out = apply_calibration(cal, df).frame
    for a in ATTRS:
        human = df[(df.rater == "human") & (df.attribute == a)].score
        got = out[out.attribute == a].score
        assert got.mean() == pytest.approx(human.mean(), abs=0.01)
        assert got.std(ddof=0) == pytest.approx(human.std(ddof=0), abs=0.01)


def test_moment_matching_beats_plain_ridge_in_absolute_agreement() -> None:
    df = synthetic(seed=1)
    mm = cross_validate_council(df, "human", ["ja", "jb", "jc"], ATTRS, method="ridge-mm")
    plain = cross_validate_council(df, "human", ["ja", "jb", "jc"], ATTRS, method="ridge")
    for a, b in zip(mm.rows, plain.rows, strict=True):
        assert a.calibrated_icc_a1 > b.calibrated_icc_a1


def test_json_round_trip_and_apply_with_missing_judges(tmp_path) -> None:
    df = synthetic(n_ctx=60)
    cal = fit_council(df, "human", ["ja", "jb", "jc"], ATTRS, description="synthetic")
    path = tmp_path / "cal.json"
    cal.to_json(path)
    back = CouncilCalibration.from_json(path)
    assert back == cal and CouncilCalibration.from_json(cal.to_json()) == cal
    assert back.training.n_targets == 240 and back.training.n_contexts == 60
    new = df[df.rater != "human"].copy()
    first = new.target.iloc[0]
    new = new[~((new.target == first) & (new.rater == "jc"))]  # jc missing on one target: imputed
    second = new.target[new.target != first].iloc[0]
    new = new[new.target != second]
    new = pd.concat(
        [
            new,
            pd.DataFrame(
                {
                    "target": [second],
                    "rater": ["ja"],
                    "attribute": ["empathy"],
                    "score": [np.nan],
                    "context": [0],
                }
            ),
        ]
    )  # no judge score at all
    res = apply_calibration(back, new)
    assert res.report.n_imputed["jc|empathy"] == 1 and res.report.n_unscored["empathy"] == 1
    assert res.frame.loc[res.frame.target == second, "score"].isna().all()
    assert res.frame["score"].dropna().between(1, 5).all()
    assert apply_calibration(back, new[new.rater != "jb"]).report.missing_judges == ["jb"]


def test_mentalalign_calibration_targets(ma_default) -> None:
    """Issue 3 targets on MentalAlign-70k (item level, default hygiene, 5-fold CV grouped by context):
    calibrated council ICC(A,1) >= best raw judge + 0.08 on every attribute, mean >= 0.50,
    |bias| <= 0.02. Method: ridge on all 28 judge x attribute scores + moment matching after clipping."""
    cv = cross_validate_council(ma_default.frame, "human_expert", list(JUDGES), n_splits=5, seed=0)
    checks = cv.check(min_gain=0.08, min_mean_icc=0.50, max_abs_bias=0.02)
    failed = [c for c in checks if not c.passed]
    assert not failed, failed
    assert len(cv.rows) == 7 and all(r.n > 9000 for r in cv.rows)


def test_validated_calibration_carries_cv_in_json() -> None:
    df = synthetic(n_ctx=80)
    cal = fit_validated_council(df, "human", ["ja", "jb", "jc"], ATTRS, n_splits=4, description="synthetic")
    back = CouncilCalibration.from_json(cal.to_json())
    assert back.cv is not None and back.cv.n_splits == 4 and len(back.cv.rows) == 2
    assert back.cv.rows[0].best_judge in {"ja", "jb", "jc"} and back == cal
