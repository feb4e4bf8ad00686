"""Apply fitted calibrations to new tidy frames."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from council.calibration.fit import design, predict_attribute
from council.calibration.model import CouncilCalibration, RaterMap
from council.stats.frames import validate_tidy


class ApplyReport(BaseModel):
    """What happened when a calibration was applied."""

    model_config = ConfigDict(frozen=True)

    n_targets: int = Field(description="Targets seen.")
    n_scored: dict[str, int] = Field(description="attribute -> targets with a calibrated score.")
    n_unscored: dict[str, int] = Field(description="attribute -> targets without any judge score (NaN).")
    n_imputed: dict[str, int] = Field(
        description="feature -> targets where it was imputed by its training mean."
    )
    missing_judges: list[str] = Field(
        default_factory=list, description="Judges absent from the frame entirely."
    )


class ApplyResult(NamedTuple):
    """Calibrated tidy frame and the apply report."""

    frame: pd.DataFrame
    report: ApplyReport


def apply_rater_map(m: RaterMap, values: np.ndarray) -> np.ndarray:
    """Map raw scores of ``m.rater`` on ``m.attribute`` to the reference scale (NaN stays NaN)."""
    v = np.asarray(values, dtype=float)
    if m.method == "linear":
        out = m.params["intercept"] + m.params["slope"] * v  # type: ignore[operator]
    else:
        out = np.interp(v, np.asarray(m.params["x"]), np.asarray(m.params["y"]))
    out = np.clip(out, *m.scale)
    out[np.isnan(v)] = np.nan
    return out


def apply_rater_maps(maps: list[RaterMap], df: pd.DataFrame) -> pd.DataFrame:
    """Replace each mapped rater × attribute score in ``df`` by its calibrated value (copy)."""
    df = validate_tidy(df).copy()
    for m in maps:
        sel = (df["rater"] == m.rater) & (df["attribute"] == m.attribute)
        df.loc[sel, "score"] = apply_rater_map(m, df.loc[sel, "score"].to_numpy())
    return df


def apply_calibration(
    cal: CouncilCalibration, df: pd.DataFrame, rater: str = "council_calibrated"
) -> ApplyResult:
    """Calibrated council scores, one row per target × attribute, as a tidy frame.

    Missing judge scores are imputed with the feature's training mean and counted in the report;
    a target that no judge scored on any feature gets NaN (unscored), never a default score.

    Args:
        cal: The calibration.
        df: Tidy frame holding (some of) ``cal.judges``.
        rater: Rater id of the output rows.

    Returns:
        :class:`ApplyResult`; the frame keeps ``context``/``responder`` when present.

    """
    df = validate_tidy(df)
    present = set(df["rater"].unique())
    d = design(df, cal.training.reference, cal.judges, cal.attributes)
    parts, scored, unscored, imputed = [], {}, {}, {}
    for m in cal.models:
        x = d.features.reindex(columns=m.features).to_numpy(dtype=float)
        pred = predict_attribute(m, x, cal.scale)
        none = np.isnan(pred)
        for j, f in enumerate(m.features):
            imputed.setdefault(f, int((np.isnan(x[:, j]) & ~none).sum()))
        scored[m.attribute], unscored[m.attribute] = int((~none).sum()), int(none.sum())
        parts.append(pd.DataFrame({"target": d.features.index, "attribute": m.attribute, "score": pred}))
    out = pd.concat(parts, ignore_index=True).assign(rater=rater)
    info = [c for c in ("context", "responder", "length", "responder_family") if c in df.columns]
    if info:
        out = out.merge(df.groupby("target")[info].first().reset_index(), on="target", how="left")
    if "rater_family" in df.columns:
        out["rater_family"] = "council"
    report = ApplyReport(
        n_targets=len(d.features),
        n_scored=scored,
        n_unscored=unscored,
        n_imputed=imputed,
        missing_judges=sorted(set(cal.judges) - present),
    )
    first = ["target", "rater", "attribute", "score"]
    return ApplyResult(out[first + [c for c in out.columns if c not in first]], report)
