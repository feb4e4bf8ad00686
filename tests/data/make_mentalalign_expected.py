"""Regenerate tests/data/mentalalign_paper_system_level.csv.

Input: mentalalign_paper_published.csv, transcribed by hand from the authors' repository
(abeerbadawi/MentalBench-Align, Results/ICC Reliability Analysis.md and Results/Systematic Bias
Decomposition.md). Output: the same rows plus the values recomputed by this package from
../shared/data/mentalalign with the paper's recipe:

- import with paper_compatible=True (every value as given: 0s and 6s kept, nothing dropped);
- each judge loses only its own model's responses (PAPER_SELF_EXCLUSIONS; n = 9 systems);
- pairs are complete per response and attribute (human and judge both present);
- system level: per-responder means of those pairs; ICC over 9 systems x 2 raters;
- bias = mean over systems of (judge mean - human mean); human/LLM mean and MSE pooled over items.

Run: .venv/bin/python tests/data/make_mentalalign_expected.py
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from council.ratings import PAPER_SELF_EXCLUSIONS, import_mentalalign
from council.stats.frames import paired, wide_scores
from council.stats.report import agreement_report, records_frame

HERE = Path(__file__).resolve().parent


def main() -> None:
    published = pd.read_csv(HERE / "mentalalign_paper_published.csv")
    df = import_mentalalign(paper_compatible=True).frame
    recs = records_frame(
        agreement_report(df, level="system", exclude_self_family=PAPER_SELF_EXCLUSIONS, include_council=False)
    )
    val = recs.set_index(["rater", "attribute", "statistic"])
    wide = wide_scores(df)
    rows = []
    for r in published.itertuples():
        p = paired(wide, r.judge, "human_expert", r.attribute, PAPER_SELF_EXCLUSIONS[r.judge])
        rows.append(
            {
                "icc_c1_recomputed": val.loc[(r.judge, r.attribute, "ICC(C,1)"), "value"],
                "icc_a1_recomputed": val.loc[(r.judge, r.attribute, "ICC(A,1)"), "value"],
                "bias_recomputed": val.loc[(r.judge, r.attribute, "bias"), "value"],
                "human_mean_recomputed": p.x.mean(),
                "llm_mean_recomputed": p.y.mean(),
                "mse_recomputed": ((p.y - p.x) ** 2).mean(),
                "n_systems": int(val.loc[(r.judge, r.attribute, "ICC(A,1)"), "n"]),
                "k": int(val.loc[(r.judge, r.attribute, "ICC(A,1)"), "k"]),
                "n_items": len(p.x),
            }
        )
    out = pd.concat(
        [
            published.add_suffix("_published").rename(
                columns={"judge_published": "judge", "attribute_published": "attribute"}
            ),
            pd.DataFrame(rows),
        ],
        axis=1,
    )
    out.round(6).to_csv(HERE / "mentalalign_paper_system_level.csv", index=False)


if __name__ == "__main__":
    main()
