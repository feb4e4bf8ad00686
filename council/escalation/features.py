"""Items and confidence features of one tier: judges' scores (and distributions), spread, calibrated score.

An *item* is one target (candidate) × attribute. For a tier the answer is its calibrated score rounded to
the nearest scale point (half up, as the quadratic κ elsewhere in the project); the features describe how
much to trust that answer: the attribute × answer cell, how far the calibrated score was from the rounded
point, the judges' spread and how many of them (or how much of their probability mass, when score
distributions are stored) agree with the answer under the criterion, and the target's general level.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from council.calibration.fit import Design, design, feature_name
from council.stats.frames import validate_tidy

__all__ = ["ItemTable", "answers", "feature_names", "item_table", "scale_points", "tier_features"]


class ItemTable(NamedTuple):
    """Every target × attribute of a frame, attribute-major, with the judges' scores and distributions.

    ``design`` is the calibration design (targets × 'judge|attribute') shared by every tier; item i is
    target ``i % n_targets`` on attribute ``attributes[i // n_targets]``.
    """

    keys: pd.DataFrame
    design: Design
    attributes: list[str]
    judges: list[str]
    scores: np.ndarray
    dist: np.ndarray | None
    reference: np.ndarray

    @property
    def n_targets(self) -> int:
        """Targets in the table."""
        return len(self.design.features)

    def attribute_index(self) -> np.ndarray:
        """Position of each item's attribute in ``attributes``."""
        return np.repeat(np.arange(len(self.attributes)), self.n_targets)

    def target_rows(self) -> np.ndarray:
        """Row of each item's target in ``design.features``."""
        return np.tile(np.arange(self.n_targets), len(self.attributes))


def scale_points(scale: tuple[float, float]) -> list[int]:
    """The integer points of a scale, e.g. [1, 2, 3, 4, 5]."""
    return list(range(int(np.ceil(scale[0])), int(np.floor(scale[1])) + 1))


def answers(calibrated: np.ndarray, scale: tuple[float, float]) -> np.ndarray:
    """The tier's answer: the calibrated score rounded half up to a scale point (NaN stays NaN)."""
    return np.clip(np.floor(np.asarray(calibrated, float) + 0.5), *scale)


def _parse_dist(value: Any) -> dict[str, float] | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    d = json.loads(value) if isinstance(value, str) else value
    return {str(k): float(v) for k, v in dict(d).items()} if d else None


def _distributions(df: pd.DataFrame, keys: pd.DataFrame, judges: Sequence[str],
                   points: Sequence[int]) -> np.ndarray | None:
    """Items × judges × points: each judge's distribution (mean over samples), NaN where absent."""
    if "distribution" not in df.columns:
        return None
    rows = df[df["rater"].isin(judges) & df["distribution"].notna()]
    if rows.empty:
        return None
    parsed = rows["distribution"].map(_parse_dist)
    mat = np.array([[(d or {}).get(str(p), 0.0) for p in points] for d in parsed], dtype=float)
    cols = [f"p{p}" for p in points]
    wide = pd.concat([rows[["target", "attribute", "rater"]].reset_index(drop=True),
                      pd.DataFrame(mat, columns=cols)], axis=1)
    wide = wide[[d is not None for d in parsed]].groupby(["target", "attribute", "rater"])[cols].mean()
    out = np.full((len(keys), len(judges), len(points)), np.nan)
    index = pd.MultiIndex.from_frame(keys[["target", "attribute"]].astype(str))
    for j, judge in enumerate(judges):
        try:
            sub = wide.xs(judge, level="rater")
        except KeyError:
            continue
        sub.index = sub.index.set_levels([sub.index.levels[0].astype(str), sub.index.levels[1].astype(str)])
        out[:, j, :] = sub.reindex(index).to_numpy()
    return out


def item_table(df: pd.DataFrame, judges: Sequence[str], attributes: Sequence[str], reference: str,
               scale: tuple[float, float]) -> ItemTable:
    """Build the items of a tidy frame for a gate's judges (reference ratings optional).

    ``df`` may carry a ``distribution`` column (scale point → probability, dict or JSON text) on judge rows,
    as probability-weighted scoring stores it; items without one use the written score as a point mass.
    """
    df = validate_tidy(df)
    d = design(df, reference, list(judges), list(attributes))
    targets = d.features.index.astype(str)
    keys = pd.DataFrame({
        "target": np.tile(targets, len(attributes)),
        "attribute": np.repeat(list(attributes), len(targets)),
    })
    if d.context is not None:
        keys["context"] = np.tile(np.asarray(d.context).astype(str), len(attributes))
    scores = np.column_stack([
        np.concatenate([d.features[feature_name(j, a)].to_numpy(float) for a in attributes]) for j in judges
    ])
    ref = np.concatenate([d.reference[a].to_numpy(float) for a in attributes])
    dist = _distributions(df, keys, judges, scale_points(scale))
    return ItemTable(keys, d, list(attributes), list(judges), scores, dist, ref)


def feature_names(attributes: Sequence[str], points: Sequence[int]) -> list[str]:
    """Names of :func:`tier_features` columns, in order."""
    cells = [f"cell:{a}={p}" for a in attributes for p in points]
    return cells + ["residual", "abs_residual", "mean_minus_answer", "spread", "share_agree", "min_agree",
                    "mean_confidence", "target_mean", "judges_scored"]


def _agreement_mass(scores: np.ndarray, dist: np.ndarray | None, answer: np.ndarray, k: int,
                    points: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Per item × judge: probability mass agreeing with the answer, and the judge's confidence."""
    with np.errstate(invalid="ignore"):
        mass = np.where(np.isnan(scores), np.nan, (np.abs(scores - answer[:, None]) <= k + 1e-9).astype(float))
    conf = np.where(np.isnan(scores), np.nan, 1.0)
    if dist is not None:
        pts = np.asarray(points, float)
        near = (np.abs(pts[None, :] - answer[:, None]) <= k + 1e-9).astype(float)  # items × points
        has = ~np.isnan(dist).any(axis=2)
        m = np.einsum("ijp,ip->ij", np.nan_to_num(dist), near)
        p = np.clip(np.nan_to_num(dist), 1e-12, 1.0)
        ent = -(np.nan_to_num(dist) * np.log(p)).sum(axis=2) / np.log(len(points))
        mass = np.where(has, m, mass)
        conf = np.where(has, 1.0 - ent, conf)
    return mass, conf


def tier_features(scores: np.ndarray, dist: np.ndarray | None, calibrated: np.ndarray, attr_idx: np.ndarray,
                  target_mean: np.ndarray, *, k: int, attributes: Sequence[str],
                  scale: tuple[float, float]) -> np.ndarray:
    """Confidence features of one tier, one row per item (columns as :func:`feature_names`).

    Args:
        scores: items × the tier's judges (NaN = not scored).
        dist: items × judges × scale points, or None (scores only).
        calibrated: The tier's calibrated score per item.
        attr_idx: Position of each item's attribute in ``attributes``.
        target_mean: Mean of the tier's judges' scores over all attributes of the item's target.
        k: Tolerance of the criterion (0 = exact).
        attributes: The gate's attributes.
        scale: Rating scale.

    Returns:
        Feature matrix without NaN (missing parts are 0; ``judges_scored`` tells how many judges scored).

    """
    points = scale_points(scale)
    ans = answers(calibrated, scale)
    mass, conf = _agreement_mass(scores, dist, ans, k, points)
    n_pts = len(points)
    cells = np.zeros((len(ans), len(attributes) * n_pts))
    ok = ~np.isnan(ans)
    col = attr_idx[ok] * n_pts + (ans[ok] - points[0]).astype(int)
    cells[np.flatnonzero(ok), col] = 1.0
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: unscored items, zeroed below
        rest = np.column_stack([
            calibrated - ans,
            np.abs(calibrated - ans),
            np.nanmean(scores, axis=1) - ans,
            np.nanmax(scores, axis=1) - np.nanmin(scores, axis=1),
            np.nanmean(mass, axis=1),
            np.nanmin(mass, axis=1),
            np.nanmean(conf, axis=1),
            target_mean,
            (~np.isnan(scores)).mean(axis=1),
        ])
    return np.nan_to_num(np.column_stack([cells, rest]), nan=0.0)
