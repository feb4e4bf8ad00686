"""MentalAlign-70k: import counts (dataset README) and the paper's system-level table.

Badawi, A. et al. (2025). When Can We Trust LLMs in Mental Health? arXiv:2510.19032. Expected
values: tests/data/mentalalign_paper_system_level.csv (provenance in tests/data/SOURCES.csv).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from council.ratings import JUDGES, PAPER_SELF_EXCLUSIONS, import_mentalalign
from council.stats.frames import paired, wide_scores
from council.stats.report import agreement_report, records_frame

EXPECTED = Path(__file__).resolve().parents[1] / "data" / "mentalalign_paper_system_level.csv"


def test_import_counts_match_readme(ma_paper, ma_default) -> None:
    """README: 57 null human JSONs and 10 null cells (409 blanks), 33 all-zero responses and 8 sixes
    (239 out-of-scale), judge parse failures Claude 3, Gemini 8, GPT-4o 0, o4-mini 4 (x 7 cells)."""
    r = ma_paper.report.to_frame().groupby("rater").sum(numeric_only=True)
    assert r.loc["human_expert", "blank"] == 57 * 7 + 10
    assert r.loc["human_expert", "out_of_scale_kept"] == 33 * 7 + 8
    blanks = {j: int(r.loc[j, "blank"]) for j in JUDGES}
    assert blanks == {JUDGES[0]: 21, JUDGES[1]: 56, JUDGES[2]: 0, JUDGES[3]: 28}
    assert ma_paper.report.n_items == 10_000 and ma_paper.report.n_items_dropped == {}
    d = ma_default.report
    assert d.n_items_dropped == {"judge_saw_empty_response": 148, "context_mismatch": 188}
    assert d.n_items == 10_000 - 148 - 188
    assert all(c.total == 10_000 for c in d.counts)  # nothing dropped silently
    f = ma_default.frame
    assert f["score"].min() >= 1 and f["score"].max() <= 5
    assert set(f["attribute"]) == {
        "guidance",
        "informativeness",
        "relevance",
        "safety",
        "empathy",
        "helpfulness",
        "understanding",
    }
    fam = f.drop_duplicates("rater").set_index("rater")["rater_family"].to_dict()
    assert fam["gpt-4o"] == fam["o4-mini"] == "openai" and fam["human_expert"] == "human"


def test_overall_kept_only_when_asked(ma_dir) -> None:
    res = import_mentalalign(ma_dir, include_overall=True)
    assert "overall" in set(res.frame["attribute"])
    assert "overall" not in set(res.frame.loc[res.frame.rater == "human_expert", "attribute"])


def test_paper_system_level_table(ma_paper) -> None:
    """Every judge x attribute of the authors' ICC(C,1), ICC(A,1) and bias table within +-0.01.

    Recipe: paper_compatible values; each judge's own model excluded (n = 9 systems); complete pairs
    per response; responder means; ICC on 9 systems x 2 raters (judge, human)."""
    exp = pd.read_csv(EXPECTED)
    got = records_frame(
        agreement_report(
            ma_paper.frame, level="system", include_council=False, exclude_self_family=PAPER_SELF_EXCLUSIONS
        )
    )
    val = got.set_index(["rater", "attribute", "statistic"])
    for row in exp.itertuples():
        for stat, col in (("ICC(C,1)", "icc_c1"), ("ICC(A,1)", "icc_a1"), ("bias", "bias")):
            rec = val.loc[(row.judge, row.attribute, stat)]
            assert rec["value"] == pytest.approx(getattr(row, f"{col}_published"), abs=0.01), (
                row.judge,
                row.attribute,
                stat,
            )
            assert rec["value"] == pytest.approx(getattr(row, f"{col}_recomputed"), abs=1e-6)
            assert (rec["n"], rec["k"]) == (9, 2)
    claude = "claude-3-7-sonnet-20250219"
    given = {
        ("guidance", "ICC(C,1)"): 0.881,
        ("guidance", "ICC(A,1)"): 0.837,
        ("guidance", "bias"): 0.248,
        ("empathy", "ICC(C,1)"): 0.906,
        ("empathy", "ICC(A,1)"): 0.474,
        ("empathy", "bias"): 0.641,
    }
    for (attr, stat), v in given.items():
        assert val.loc[(claude, attr, stat), "value"] == pytest.approx(v, abs=0.01)


def test_paper_item_level_means_and_mse(ma_paper) -> None:
    """The bias table's human mean, LLM mean and MSE are pooled over item pairs (same recipe)."""
    exp = pd.read_csv(EXPECTED)
    wide = wide_scores(ma_paper.frame)
    for row in exp.itertuples():
        p = paired(wide, row.judge, "human_expert", row.attribute, PAPER_SELF_EXCLUSIONS[row.judge])
        assert p.x.mean() == pytest.approx(row.human_mean_published, abs=0.01)
        assert p.y.mean() == pytest.approx(row.llm_mean_published, abs=0.01)
        assert ((p.y - p.x) ** 2).mean() == pytest.approx(row.mse_published, abs=0.01)


def test_family_exclusion_differs_from_paper_for_openai(ma_paper) -> None:
    """Family exclusion drops both OpenAI responders for gpt-4o and o4-mini (n = 8), unlike the paper."""
    got = records_frame(
        agreement_report(ma_paper.frame, level="system", exclude_self_family=True, attributes=["guidance"])
    )
    n = got[got.statistic == "ICC(A,1)"].set_index("rater")["n"].to_dict()
    assert n["gpt-4o"] == n["o4-mini"] == 8 and n["claude-3-7-sonnet-20250219"] == 9 and n["council"] == 10
