"""MentalAlign-70k through the store and the CLI: import round trip, the paper's table, calibration targets.

Badawi, A. et al. (2025). When Can We Trust LLMs in Mental Health? Large-Scale Benchmarks for Reliable LLM
Evaluation. arXiv:2510.19032. Skipped with a message when ../shared/data/mentalalign is absent.
"""

from __future__ import annotations

import json

import pytest

from council.analysis import get_calibration, import_mentalalign_dataset, ratings_frame
from council.ratings import JUDGES, import_mentalalign
from council.store.store import Store

CLAUDE = "claude-3-7-sonnet-20250219"
FIELDS = ["rater", "reference", "attribute", "level", "statistic", "value", "ci_low", "ci_high", "n", "k"]
COLS = ["target", "rater", "attribute", "score", "responder", "rater_family", "responder_family"]


def test_import_into_a_file_and_read_back_equals_the_frame(ma_db, ma_dir) -> None:
    """Stored values are as given; hygiene at read time reproduces both importer frames exactly."""
    store = Store(ma_db)
    try:
        for paper in (True, False):
            expected = import_mentalalign(ma_dir, paper_compatible=paper).frame
            got = ratings_frame(store, dataset="mentalalign", paper_compatible=paper)
            assert got[COLS].reset_index(drop=True).equals(expected[COLS].reset_index(drop=True))
            assert (got["context"] == expected["context"].astype(str)).all()
        assert set(got.loc[got.rater.isin(JUDGES), "rater_kind"]) == {"external"}
        assert set(got.loc[got.rater == "human_expert", "rater_kind"]) == {"human"}
    finally:
        store.close()


def test_import_report_counts(ma_dir, tmp_path) -> None:
    """README anomalies: 409 blank and 239 out-of-scale human cells; 148 + 188 items excluded by default."""
    store = Store(tmp_path / "s.duckdb")
    rec = import_mentalalign_dataset(store, ma_dir, paper_compatible=True)
    human = [c for c in rec.report.counts if c.rater == "human_expert"]
    assert (
        sum(c.blank for c in human) == 57 * 7 + 10 and sum(c.out_of_scale_kept for c in human) == 33 * 7 + 8
    )
    assert rec.n_ratings == 350_000 and rec.excluded_targets == {
        "judge_saw_empty_response": 148,
        "context_mismatch": 188,
    }
    again = import_mentalalign_dataset(store, ma_dir)  # re-import replaces, never duplicates
    assert again.report.n_items_dropped == {"judge_saw_empty_response": 148, "context_mismatch": 188}
    assert store.query("SELECT count(*) AS n FROM ratings").n[0] == 350_000
    store.close()


def test_cli_reproduces_the_paper_system_level_values(ma_db, cli) -> None:
    """Claude-3.7-Sonnet, system level, own model excluded, values as given (Badawi et al. 2025):
    Guidance ICC(C,1)=0.881, ICC(A,1)=0.837, bias +0.248;
    Empathy ICC(C,1)=0.906, ICC(A,1)=0.474, bias +0.641."""
    code, out, err = cli(
        "agreement",
        "--dataset",
        "mentalalign",
        "--level",
        "system",
        "--exclude-self-family",
        "--paper-compatible",
        "--json",
        "--db",
        str(ma_db),
    )
    assert code == 0 and "report rep_" in err
    records = json.loads(out)
    assert all(list(r)[:10] == FIELDS for r in records)
    got = {(r["rater"], r["attribute"], r["statistic"]): r for r in records}
    paper = {
        ("guidance", "ICC(C,1)"): 0.881,
        ("guidance", "ICC(A,1)"): 0.837,
        ("guidance", "bias"): 0.248,
        ("empathy", "ICC(C,1)"): 0.906,
        ("empathy", "ICC(A,1)"): 0.474,
        ("empathy", "bias"): 0.641,
    }
    for (attr, stat), value in paper.items():
        rec = got[(CLAUDE, attr, stat)]
        assert rec["value"] == pytest.approx(value, abs=0.01), (attr, stat)
        assert (rec["n"], rec["k"], rec["level"], rec["reference"]) == (9, 2, "system", "human_expert")
    assert got[("gpt-4o", "guidance", "ICC(A,1)")]["n"] == 9  # own model only, as the paper (family: 8)
    assert got[("council", "guidance", "ICC(A,1)")]["n"] == 10


def test_cli_calibrate_meets_the_targets_and_round_trips(ma_db, cli) -> None:
    """Issue 3: calibrated council ICC(A,1) >= best raw judge + 0.08 on every attribute, mean >= 0.50,
    |bias| <= 0.02 (5-fold CV grouped by context, ridge on all judge x attribute scores + moment matching)."""
    code, out, _ = cli(
        "calibrate",
        "--dataset",
        "mentalalign",
        "--method",
        "ridge-mm",
        "--cv",
        "5",
        "--json",
        "--db",
        str(ma_db),
    )
    assert code == 0
    res = json.loads(out)
    assert len(res["rows"]) == 7 and res["grouped_by"] == "context"
    for row in res["rows"]:
        assert row["calibrated_icc_a1"] >= row["best_judge_icc_a1"] + 0.08, row["attribute"]
        assert abs(row["calibrated_bias"]) <= 0.02 and row["best_judge"] in JUDGES
    assert sum(r["calibrated_icc_a1"] for r in res["rows"]) / 7 >= 0.50
    assert all(c["passed"] for c in res["checks"])
    code, shown, _ = cli("calibrations", "show", res["calibration_id"], "--json", "--db", str(ma_db))
    assert code == 0
    store = Store(ma_db)
    try:
        cal = get_calibration(store, res["calibration_id"])
    finally:
        store.close()
    assert json.loads(shown) == json.loads(cal.model_dump_json())
    assert cal.raters == list(JUDGES) and cal.council is not None and cal.council.training.n_contexts > 900
