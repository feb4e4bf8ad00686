"""Benchmark: calibrated council vs raw judges on MentalAlign-70k (held-out, grouped by context).

Targets (issue 3): item level, default hygiene, 5-fold CV grouped by context; the calibrated
council's ICC(A,1) against the human expert beats the best single raw judge by >= 0.08 on every
attribute, its mean over attributes is >= 0.50, and |bias| <= 0.02. Alternative methods are
printed for comparison (plain ridge shows the shrinkage problem moment matching fixes).

Run: .venv/bin/python bench/bench_calibration.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from council.calibration import cross_validate_council  # noqa: E402
from council.ratings import JUDGES, import_mentalalign  # noqa: E402

SHORT = {
    "claude-3-7-sonnet-20250219": "claude-3.7",
    "gemini-2.5-flash-preview-04-17": "gemini-2.5f",
    "gpt-4o": "gpt-4o",
    "o4-mini": "o4-mini",
}


def fmt_row(cells: list[str]) -> str:
    """One table line: attribute, n | best judge block | council block | calibrated block | gain."""
    widths = [16, 5, 12, 8, 7, 6, 8, 7, 6, 10, 7, 6, 6]
    text = [
        c.ljust(w) if i in (0, 2) else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    ]
    return " | ".join(
        [" ".join(text[0:2]), " ".join(text[2:6]), " ".join(text[6:9]), " ".join(text[9:12]), text[12]]
    )


def main() -> None:
    res = import_mentalalign()
    df = res.frame
    dropped = res.report.n_items_dropped
    print(f"MentalAlign-70k, default hygiene: {res.report.n_items} responses, dropped {dropped}")
    t0 = time.perf_counter()
    cv = cross_validate_council(df, "human_expert", list(JUDGES), n_splits=5, seed=0, method="ridge-mm")
    elapsed = time.perf_counter() - t0
    print(
        f"method {cv.method}, {cv.n_splits}-fold GroupKFold by context (shuffled, seed {cv.seed}); "
        f"CV took {elapsed:.2f} s\n"
    )
    head = fmt_row(
        [
            "attribute",
            "n",
            "best raw judge",
            "ICC(A,1)",
            "bias",
            "MAE",
            "council",
            "bias",
            "MAE",
            "calibrated",
            "bias",
            "MAE",
            "gain",
        ]
    )
    print(head + "\n" + "-" * len(head))
    for r in cv.rows:
        print(
            fmt_row(
                [
                    r.attribute,
                    str(r.n),
                    SHORT.get(r.best_judge, r.best_judge),
                    f"{r.best_judge_icc_a1:.3f}",
                    f"{r.best_judge_bias:+.3f}",
                    f"{r.best_judge_mae:.3f}",
                    f"{r.council_icc_a1:.3f}",
                    f"{r.council_bias:+.3f}",
                    f"{r.council_mae:.3f}",
                    f"{r.calibrated_icc_a1:.3f}",
                    f"{r.calibrated_bias:+.4f}",
                    f"{r.calibrated_mae:.3f}",
                    f"{r.gain:+.3f}",
                ]
            )
        )

    def mean(k: str) -> str:
        return f"{sum(getattr(r, k) for r in cv.rows) / len(cv.rows):.3f}"

    print(
        fmt_row(
            [
                "mean",
                "",
                "",
                mean("best_judge_icc_a1"),
                "",
                mean("best_judge_mae"),
                mean("council_icc_a1"),
                "",
                mean("council_mae"),
                mean("calibrated_icc_a1"),
                "",
                mean("calibrated_mae"),
                mean("gain"),
            ]
        )
    )
    print()
    for c in cv.check(min_gain=0.08, min_mean_icc=0.50, max_abs_bias=0.02):
        op = "<=" if c.name.startswith("abs_bias") else ">="
        print(f"  {'PASS' if c.passed else 'FAIL'}  {c.name:26s} {c.value:7.4f} {op} {c.bound}")
    print("\nother methods (same folds), mean calibrated ICC(A,1) and worst |bias|:")
    for method in ("ridge", "mean-mm"):
        alt = cross_validate_council(df, "human_expert", list(JUDGES), n_splits=5, seed=0, method=method)
        worst = max(abs(r.calibrated_bias) for r in alt.rows)
        print(
            f"  {alt.method:22s} mean ICC(A,1) {alt.mean_calibrated_icc_a1:.3f}, "
            f"min gain {min(r.gain for r in alt.rows):+.3f}, worst |bias| {worst:.4f}"
        )


if __name__ == "__main__":
    main()
