"""Dashboard views over a tidy rating frame: Bland–Altman points, score histograms, the responder leaderboard.

Pure functions (no store, no Ray): :mod:`council.service.views` builds the frame once per scope and data
version and these shape it into small tables the dashboard draws as they come. Large cells are binned,
never sampled, so a chart over MentalAlign's ~10,000 responses per rater and attribute stays a few hundred
rows and still shows every response.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from council.stats.bootstrap import cluster_weights
from council.stats.types import BootstrapSpec

__all__ = [
    "bland_altman_points",
    "dataset_item",
    "dataset_items",
    "leaderboard",
    "per_target",
    "score_histograms",
]


def per_target(df: pd.DataFrame, rater: str, attribute: str) -> pd.Series:
    """One score per target (the mean over samples) of one rater on one attribute; NaNs dropped."""
    sub = df[(df["rater"] == rater) & (df["attribute"] == attribute)]
    return sub.groupby("target", sort=False)["score"].mean().dropna()


def bland_altman_points(
    df: pd.DataFrame, reference: str, raters: Sequence[str], attributes: Sequence[str], step: float = 0.1
) -> pd.DataFrame:
    """Binned Bland–Altman points: per rater × attribute, counts of (mean, difference) on a ``step`` grid.

    Each response contributes ``mean = (rater + reference) / 2`` and ``diff = rater - reference``;
    points on the same grid cell are counted together (``n``), so integer scales lose nothing.

    Returns:
        Columns ``rater, attribute, mean, diff, n``.

    """
    parts = []
    for a in attributes:
        ref = per_target(df, reference, a)
        for r in raters:
            x = per_target(df, r, a)
            both = pd.concat([x.rename("x"), ref.rename("y")], axis=1, join="inner").dropna()
            if both.empty:
                continue
            m = np.round(((both["x"] + both["y"]) / 2) / step) * step
            d = np.round((both["x"] - both["y"]) / step) * step
            g = pd.DataFrame({"mean": m.round(6), "diff": d.round(6)}).value_counts().reset_index(name="n")
            parts.append(g.assign(rater=r, attribute=a))
    if not parts:
        return pd.DataFrame(columns=["rater", "attribute", "mean", "diff", "n"])
    return pd.concat(parts, ignore_index=True)[["rater", "attribute", "mean", "diff", "n"]]


def score_histograms(
    df: pd.DataFrame, raters: Sequence[str], attributes: Sequence[str], step: float = 0.25
) -> pd.DataFrame:
    """Score distributions: per rater × attribute, the share of responses per score bin.

    Scores are averaged over samples and rounded to ``step`` (integer scales keep their values), so a
    judge and the human can be compared bar by bar; a pile at the top of the scale is the ceiling effect.

    Returns:
        Columns ``rater, attribute, score, n, share``.

    """
    parts = []
    for a in attributes:
        for r in raters:
            s = per_target(df, r, a)
            if s.empty:
                continue
            binned = (np.round(s / step) * step).round(6)
            counts = binned.value_counts().sort_index()
            parts.append(
                pd.DataFrame(
                    {
                        "rater": r,
                        "attribute": a,
                        "score": counts.index.astype(float),
                        "n": counts.to_numpy(),
                        "share": (counts / counts.sum()).to_numpy(),
                    }
                )
            )
    if not parts:
        return pd.DataFrame(columns=["rater", "attribute", "score", "n", "share"])
    return pd.concat(parts, ignore_index=True)


def _cell_sums(sub: pd.DataFrame, contexts: pd.Index, responders: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """Per context × responder: sum of scores and count (targets averaged over samples first)."""
    t = (
        sub.groupby("target", sort=False)
        .agg(score=("score", "mean"), context=("context", "first"), responder=("responder", "first"))
        .dropna()
    )
    ci = contexts.get_indexer(t["context"])
    ri = responders.get_indexer(t["responder"])
    s = np.zeros((len(contexts), len(responders)))
    n = np.zeros_like(s)
    np.add.at(s, (ci, ri), t["score"].to_numpy(dtype=float))
    np.add.at(n, (ci, ri), 1.0)
    return s, n


def _attribute_board(
    s: np.ndarray, n: np.ndarray, w: np.ndarray, responders: pd.Index, level: float
) -> list[dict[str, Any]]:
    """Rank responders by mean score; bootstrap CIs of means, ranks and neighbour differences."""
    with np.errstate(invalid="ignore", divide="ignore"):
        point = s.sum(0) / n.sum(0)
        reps = (w @ s) / (w @ n)  # (B, R): every replicate resamples whole contexts
    order = [
        int(i) for i in np.argsort(-np.nan_to_num(point, nan=-np.inf), kind="stable") if n[:, i].sum() > 0
    ]
    a = (1 - level) / 2
    ranks = (-np.nan_to_num(reps, nan=-np.inf)).argsort(1).argsort(1) + 1
    rows = []
    for pos, i in enumerate(order):
        lo, hi = np.nanquantile(reps[:, i], [a, 1 - a])
        row: dict[str, Any] = {
            "responder": str(responders[i]),
            "rank": pos + 1,
            "mean": float(point[i]),
            "ci_low": float(lo),
            "ci_high": float(hi),
            "n": int(n[:, i].sum()),
            "rank_low": int(np.quantile(ranks[:, i], a)),
            "rank_high": int(np.quantile(ranks[:, i], 1 - a)),
        }
        if pos + 1 < len(order):
            j = order[pos + 1]
            diff = reps[:, i] - reps[:, j]
            dlo, dhi = np.nanquantile(diff, [a, 1 - a])
            row.update(
                diff_next=float(point[i] - point[j]),
                diff_next_ci_low=float(dlo),
                diff_next_ci_high=float(dhi),
                separable_from_next=bool(dlo > 0 or dhi < 0),
            )
        rows.append(row)
    return rows


def leaderboard(
    df: pd.DataFrame,
    rater: str,
    attributes: Sequence[str],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Responders ranked by one rater's mean score per attribute, with seeded cluster-bootstrap CIs.

    Responses to one context share a help-seeker, so replicates resample whole contexts (the same
    weights for every attribute and responder, so differences between neighbours are paired). Two
    neighbouring ranks are *separable* when the percentile CI of their difference excludes 0.

    Args:
        df: Tidy frame with ``context`` and ``responder`` columns (composites already added if wanted).
        rater: Whose scores rank the responders (``council``, a judge, the human reference).
        attributes: Attributes and composites to rank on.
        n_boot: Bootstrap replicates.
        seed: Seed of the replicate weights.
        level: Confidence level of the percentile intervals.

    Returns:
        One row per attribute × responder: ``attribute, responder, rank, mean, ci_low, ci_high, n,
        rank_low, rank_high`` and, except for the last rank, ``diff_next`` with its CI and
        ``separable_from_next``.

    Raises:
        ValueError: Without responders or with fewer than 2 contexts.

    """
    sub = df[df["rater"] == rater].dropna(subset=["score"])
    if sub.empty or sub["responder"].isna().all():
        raise ValueError(f"no scores with responders for rater {rater!r}")
    contexts = pd.Index(pd.unique(sub["context"].astype(str)))
    responders = pd.Index(sorted(pd.unique(sub["responder"].dropna().astype(str))))
    sub = sub.assign(context=sub["context"].astype(str), responder=sub["responder"].astype(str))
    w = cluster_weights(len(contexts), BootstrapSpec(n_boot=n_boot, seed=seed, level=level))
    rows = []
    for a in attributes:
        cell = sub[sub["attribute"] == a]
        if cell.empty:
            continue
        s, n = _cell_sums(cell, contexts, responders)
        rows += [{"attribute": a, **r} for r in _attribute_board(s, n, w, responders, level)]
    return pd.DataFrame(rows)


def _judge_cells(df: pd.DataFrame, judges: Sequence[str]) -> pd.DataFrame:
    """Per target × attribute: the judges' spread (max − min) and SD, averaged over samples first."""
    sub = df[df["rater"].isin(list(judges))]
    per = sub.groupby(["target", "attribute", "rater"], sort=False)["score"].mean().dropna()
    g = per.groupby(level=["target", "attribute"], sort=False)
    return pd.DataFrame(
        {"spread": g.max() - g.min(), "sd": g.std(ddof=1), "n_scored": g.count()}
    ).reset_index()


def dataset_items(df: pd.DataFrame, judges: Sequence[str], reference: str | None) -> pd.DataFrame:
    """Contexts of a dataset ranked for review: judge disagreement per context, and the reference's mean.

    Returns:
        One row per context: ``context, responses, max_spread, mean_sd, reference_mean``.

    """
    cells = _judge_cells(df, judges)
    info = df.drop_duplicates("target").set_index("target")["context"].astype(str)
    cells["context"] = cells["target"].map(info)
    out = cells.groupby("context").agg(
        responses=("target", "nunique"), max_spread=("spread", "max"), mean_sd=("sd", "mean")
    )
    if reference is not None:
        ref = df[df["rater"] == reference].assign(context=lambda d: d["context"].astype(str))
        out["reference_mean"] = ref.groupby("context")["score"].mean()
    return out.reset_index().sort_values(["max_spread", "mean_sd"], ascending=False, kind="stable")


def dataset_item(df: pd.DataFrame, context: str, judges: Sequence[str]) -> pd.DataFrame:
    """One context of a dataset: every rater's score per response × attribute with the judges' spread.

    Returns:
        One row per target × attribute: ``target, responder, attribute``, one column per rater,
        ``spread`` and ``sd`` between the judges.

    """
    sub = df[df["context"].astype(str) == str(context)]
    if sub.empty:
        raise ValueError(f"no context {context!r}")
    wide = sub.pivot_table(
        index=["target", "responder", "attribute"], columns="rater", values="score", aggfunc="mean"
    ).reset_index()
    wide.columns.name = None
    cells = _judge_cells(sub, judges)[["target", "attribute", "spread", "sd"]]
    return wide.merge(cells, on=["target", "attribute"], how="left")
