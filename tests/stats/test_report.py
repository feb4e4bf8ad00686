"""The agreement report over a synthetic frame: shape of the records, council, composites, exclusions."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from council.stats.frames import ATTRIBUTES, add_composites, add_council, self_exclusions, validate_tidy
from council.stats.report import agreement_report, records_frame
from council.stats.types import AgreementRecord

MANDATORY = ["rater", "reference", "attribute", "level", "statistic", "value", "ci_low", "ci_high", "n", "k"]


def synthetic(seed: int = 0, n_ctx: int = 60) -> pd.DataFrame:
    """Three judges (families fa, fb, fb) and a human, 4 responders per context, 7 attributes."""
    rng = np.random.default_rng(seed)
    fam = {"ja": "fa", "jb": "fb", "jc": "fb", "human": "human"}
    resp_fam = {"ra": "fa", "rb": "fb", "rc": "rc", "rd": "rd"}
    rows = []
    for c in range(n_ctx):
        for resp, rf in resp_fam.items():
            quality = rng.normal(3.2, 0.8) + (0.3 if resp == "ra" else 0)
            for a in ATTRIBUTES:
                for rater, off in (("human", 0.0), ("ja", 0.6), ("jb", 0.3), ("jc", -0.2)):
                    s = float(np.clip(np.round(quality + off + rng.normal(0, 0.6)), 1, 5))
                    rows.append((f"{c}:{resp}", rater, a, s, c, resp, fam[rater], rf))
    return pd.DataFrame(
        rows,
        columns=[
            "target",
            "rater",
            "attribute",
            "score",
            "context",
            "responder",
            "rater_family",
            "responder_family",
        ],
    )


def test_record_fields_and_coverage() -> None:
    df = synthetic()
    recs = agreement_report(df, reference="human")
    assert list(AgreementRecord.model_fields)[: len(MANDATORY)] == MANDATORY
    f = records_frame(recs)
    assert set(f["rater"]) == {"ja", "jb", "jc", "council"}
    assert set(f["attribute"]) == set(ATTRIBUTES) | {"cognitive_support", "affective_resonance"}
    expected = {
        "ICC(1,1)",
        "ICC(A,1)",
        "ICC(C,1)",
        "ICC(1,k)",
        "ICC(A,k)",
        "ICC(C,k)",
        "pearson",
        "spearman",
        "kendall",
        "qwk",
        "krippendorff_alpha_interval",
        "krippendorff_alpha_ordinal",
        "ccc",
        "mae",
        "rmse",
        "bias",
        "bland_altman_loa_low",
        "bland_altman_loa_high",
        "sd_ratio",
        "ceiling_rate_rater",
        "ceiling_rate_reference",
    }
    assert set(f["statistic"]) == expected
    assert not f.duplicated(["rater", "attribute", "level", "statistic", "ci_method"]).any()
    icc = f[(f.statistic == "ICC(A,1)") & (f.rater == "ja") & (f.attribute == "empathy")].iloc[0]
    assert icc.ci_method == "F" and icc.k == 2 and icc.n == 240 and icc.extra["df2"] == 239
    bias = f[(f.statistic == "bias") & (f.rater == "ja") & (f.attribute == "empathy")].iloc[0]
    emp = df[df.attribute == "empathy"].pivot(index="target", columns="rater", values="score")
    assert bias.value == pytest.approx((emp.ja - emp.human).mean(), abs=1e-12) and bias.ci_method == "t"
    json.loads(recs[0].model_dump_json())  # NaN-safe JSON for the CLI


def test_system_level_and_exclusions() -> None:
    df = synthetic()
    f = records_frame(agreement_report(df, reference="human", level="system", exclude_self_family=True))
    n = f[f.statistic == "ICC(A,1)"].groupby("rater")["n"].first().to_dict()
    # ja loses responder ra; jb and jc (family fb) lose rb; the council keeps all four.
    assert n == {"ja": 3, "jb": 3, "jc": 3, "council": 4}
    assert "qwk" not in set(f["statistic"]) and "ceiling_rate_rater" not in set(f["statistic"])
    assert self_exclusions(df, {"ja": ["rc"]}) == {"ja": frozenset({"rc"})}
    both = records_frame(agreement_report(df, reference="human", level=("item", "system")))
    assert set(both["level"]) == {"item", "system"}


def test_bootstrap_records() -> None:
    f = records_frame(
        agreement_report(
            synthetic(),
            reference="human",
            bootstrap={"n_boot": 100, "seed": 1},
            raters=["ja"],
            attributes=["guidance"],
        )
    )
    boot = f[f.ci_method == "cluster-bootstrap(100, seed=1)"]
    assert len(boot) == 14
    a1 = boot[boot.statistic == "ICC(A,1)"].iloc[0]
    point = f[(f.statistic == "ICC(A,1)") & (f.ci_method == "F")].iloc[0]
    assert a1.value == point.value and a1.ci_low < a1.value < a1.ci_high
    assert a1.extra["n_contexts"] == 60


def test_missing_values_are_counted_not_imputed() -> None:
    df = synthetic()
    df.loc[(df.rater == "ja") & (df.attribute == "safety") & (df.context < 5), "score"] = np.nan
    f = records_frame(agreement_report(df, reference="human", raters=["ja"], attributes=["safety"]))
    row = f[f.statistic == "ICC(A,1)"].iloc[0]
    assert row.n == 220 and row.extra["n_dropped"] == 20


def test_frame_helpers() -> None:
    df = synthetic(n_ctx=3)
    with pytest.raises(ValueError):
        validate_tidy(df.drop(columns="score"))
    with pytest.raises(ValueError):
        validate_tidy(pd.concat([df, df.iloc[:1]]))
    with pytest.raises(ValueError):
        add_council(df, ["ja", "nobody"])
    council = add_council(df, ["ja", "jb", "jc"])
    t = df.target.iloc[0]
    manual = df[(df.target == t) & (df.attribute == "empathy") & (df.rater != "human")].score.mean()
    got = council[
        (council.target == t) & (council.attribute == "empathy") & (council.rater == "council")
    ].score
    assert got.iloc[0] == pytest.approx(manual)
    comp = add_composites(
        df.assign(score=np.where((df.attribute == "safety") & (df.target == t), np.nan, df.score))
    )
    cog = comp[(comp.attribute == "cognitive_support") & (comp.target == t)]
    assert cog.score.isna().all()  # a missing component makes the composite missing, not a 3-item mean
    with pytest.raises(ValueError):
        agreement_report(df, reference="human", level="population")
    with pytest.raises(ValueError):
        agreement_report(df, reference="nobody")


def test_judge_matrix_and_human_ceiling() -> None:
    from council.stats.matrix import agreement_matrix, human_ceiling, pairwise_records

    df = synthetic()
    recs = pairwise_records(df, ["ja", "jb", "jc"], ["empathy"])
    m = agreement_matrix(recs, "empathy", "ICC(A,1)")
    assert list(m.index) == ["ja", "jb", "jc"] and np.allclose(m.to_numpy(), m.to_numpy().T)
    assert np.allclose(np.diag(m.to_numpy()), 1.0)
    b = agreement_matrix(recs, "empathy", "bias")
    emp = df[df.attribute == "empathy"].pivot(index="target", columns="rater", values="score")
    assert b.loc["ja", "jb"] == pytest.approx((emp.ja - emp.jb).mean(), abs=1e-12)
    assert b.loc["jb", "ja"] == pytest.approx(-b.loc["ja", "jb"])
    assert human_ceiling(df, ["human"]) == []
    two = pd.concat([df, df[df.rater == "human"].assign(rater="human2")], ignore_index=True)
    ceil = human_ceiling(two, ["human", "human2"], ["safety"])
    a1 = [r for r in ceil if r.rater == "human_panel" and r.statistic == "ICC(A,1)"][0]
    assert a1.value == pytest.approx(1.0) and a1.k == 2


def test_cube_equals_pandas_path() -> None:
    """build_cube (numpy) == add_council + add_composites + wide_scores (pandas), NaNs included."""
    from council.stats.cube import build_cube
    from council.stats.frames import COMPOSITES, wide_arrays, wide_scores

    df = synthetic()
    df.loc[df.sample(frac=0.05, random_state=0).index, "score"] = np.nan
    cube = build_cube(df, council="council", judges=["ja", "jb", "jc"], composites=COMPOSITES)
    pd_path = wide_arrays(wide_scores(add_composites(add_council(df, ["ja", "jb", "jc"]))))
    order = pd.Index(pd_path.target).get_indexer(cube.target)
    assert set(cube.scores) == set(pd_path.scores)
    for key, values in cube.scores.items():
        np.testing.assert_allclose(values, pd_path.scores[key][order], rtol=0, atol=1e-12, equal_nan=True)
    assert np.array_equal(cube.context, pd_path.context[order])
    assert np.array_equal(cube.responder, pd_path.responder[order])
