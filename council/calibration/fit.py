"""Fit calibrations: per-rater maps (linear, isotonic) and the council calibrator.

Why moment matching: a regression of human scores on judge scores predicts E[human | judges],
which is pulled toward the mean (its variance is R² times the human variance). Agreement
statistics that penalise scale differences, such as ICC(A,1), then drop although the ranking
improved. Rescaling the prediction to the training human mean and SD restores the scale; since
clipping to 1–5 would again shift mean and SD, offset and spread are solved *after* clipping.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd
from scipy.optimize import least_squares
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LinearRegression, Ridge

from council.calibration.model import AttributeModel, CouncilCalibration, RaterMap, TrainingInfo
from council.stats.cube import build_cube
from council.stats.frames import ATTRIBUTES, validate_tidy

Method = Literal["ridge-mm", "ridge", "mean-mm"]


class Design(NamedTuple):
    """Feature matrix (targets × 'rater|attribute'), reference matrix (targets × attribute), groups."""

    features: pd.DataFrame
    reference: pd.DataFrame
    context: np.ndarray | None


def feature_name(rater: str, attribute: str) -> str:
    """Name of the feature holding ``rater``'s score on ``attribute``."""
    return f"{rater}|{attribute}"


def design(df: pd.DataFrame, reference: str, judges: Sequence[str], attributes: Sequence[str]) -> Design:
    """Pivot a tidy frame into judge features and reference targets, one row per target.

    Samples are averaged per judge. Targets scored by no judge at all are kept (all-NaN features).
    """
    df = validate_tidy(df)
    sub = df[df["rater"].isin([*judges, reference]) & df["attribute"].isin(list(attributes))]
    cube = build_cube(sub)
    index = pd.Index(cube.target, name="target")
    empty = np.full(len(index), np.nan)
    feats = pd.DataFrame(
        {feature_name(j, a): cube.scores.get((a, j), empty) for j in judges for a in attributes}, index=index
    )
    ref = pd.DataFrame({a: cube.scores.get((a, reference), empty) for a in attributes}, index=index)
    return Design(feats, ref, cube.context)


def fit_rater_map(
    x: np.ndarray,
    y: np.ndarray,
    method: Literal["linear", "isotonic"] = "linear",
    scale: tuple[float, float] = (1, 5),
    rater: str = "",
    attribute: str = "",
) -> RaterMap:
    """Fit a map from a rater's scores ``x`` to the reference scores ``y`` (complete pairs).

    Raises:
        ValueError: With fewer than 2 complete pairs or an unknown method.

    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = ~np.isnan(x) & ~np.isnan(y)
    x, y = x[ok], y[ok]
    if len(x) < 2:
        raise ValueError("need at least 2 complete pairs")
    if method == "linear":
        lr = LinearRegression().fit(x[:, None], y)
        params: dict[str, float | list[float]] = {
            "intercept": float(lr.intercept_),
            "slope": float(lr.coef_[0]),
        }
    elif method == "isotonic":
        iso = IsotonicRegression(y_min=scale[0], y_max=scale[1], out_of_bounds="clip").fit(x, y)
        params = {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()}
    else:
        raise ValueError(f"unknown method {method!r}")
    return RaterMap(rater=rater, attribute=attribute, method=method, params=params, scale=scale, n=len(x))


def fit_rater_maps(
    df: pd.DataFrame,
    reference: str,
    raters: Sequence[str],
    attributes: Sequence[str] = ATTRIBUTES,
    method: Literal["linear", "isotonic"] = "linear",
    scale: tuple[float, float] = (1, 5),
) -> list[RaterMap]:
    """One :class:`RaterMap` per rater × attribute present in ``df``."""
    d = design(df, reference, raters, attributes)
    out = []
    for r in raters:
        for a in attributes:
            f = feature_name(r, a)
            if d.features[f].notna().any():
                out.append(
                    fit_rater_map(d.features[f].to_numpy(), d.reference[a].to_numpy(), method, scale, r, a)
                )
    return out


def _moment_match(
    p: np.ndarray, y: np.ndarray, scale: tuple[float, float]
) -> tuple[float, float, float, float]:
    """(p_mean, p_sd, offset, spread) so that clip(offset + spread z) has y's mean and SD."""
    p_mean, p_sd = float(p.mean()), float(p.std())
    z = (p - p_mean) / p_sd if p_sd > 0 else np.zeros_like(p)
    target = np.array([y.mean(), y.std()])

    def resid(th: np.ndarray) -> np.ndarray:
        q = np.clip(th[0] + th[1] * z, *scale)
        return np.array([q.mean(), q.std()]) - target

    sol = least_squares(
        resid, x0=target, bounds=([scale[0] - 10, 0.0], [scale[1] + 10, 10 * (scale[1] - scale[0])])
    )
    return p_mean, (p_sd if p_sd > 0 else 1.0), float(sol.x[0]), float(sol.x[1])


def fit_attribute(
    x: np.ndarray,
    y: np.ndarray,
    features: Sequence[str],
    attribute: str,
    method: Method,
    alpha: float,
    scale: tuple[float, float],
    mean_columns: Sequence[int] | None = None,
) -> AttributeModel:
    """Fit one attribute's council model on a feature matrix ``x`` and reference ``y``.

    Rows with a missing ``y`` or no feature at all are ignored; missing features are imputed with
    the training column means. ``mean-mm`` averages ``mean_columns`` (that attribute's judges)
    instead of regressing.

    Raises:
        ValueError: With fewer than 10 usable rows.

    """
    ok = ~np.isnan(y) & ~np.isnan(x).all(axis=1)
    x, y = x[ok], y[ok]
    if len(y) < 10:
        raise ValueError(f"{attribute}: only {len(y)} training rows")
    means = np.nanmean(x, axis=0)
    means = np.where(np.isnan(means), np.nanmean(y), means)
    xi = np.where(np.isnan(x), means, x)
    if method == "mean-mm":
        if not mean_columns:
            raise ValueError("mean-mm needs the attribute's judge columns")
        coef = np.zeros(x.shape[1])
        coef[list(mean_columns)] = 1.0 / len(mean_columns)
        intercept = 0.0
    else:
        reg = Ridge(alpha=alpha).fit(xi, y)
        coef, intercept = reg.coef_, float(reg.intercept_)
    p = xi @ coef + intercept
    matched = method != "ridge"
    p_mean, p_sd, offset, spread = _moment_match(p, y, scale) if matched else (0.0, 1.0, 0.0, 1.0)
    return AttributeModel(
        attribute=attribute,
        features=list(features),
        coef=[float(c) for c in coef],
        intercept=intercept,
        feature_means=[float(m) for m in means],
        p_mean=p_mean,
        p_sd=p_sd,
        offset=offset,
        spread=spread,
        matched=matched,
        n=len(y),
        target_mean=float(y.mean()),
        target_sd=float(y.std()),
    )


def predict_attribute(model: AttributeModel, x: np.ndarray, scale: tuple[float, float]) -> np.ndarray:
    """Calibrated scores for a feature matrix in ``model.features`` order; NaN where no feature exists."""
    none = np.isnan(x).all(axis=1)
    xi = np.where(np.isnan(x), np.asarray(model.feature_means), x)
    p = xi @ np.asarray(model.coef) + model.intercept
    if model.matched:
        p = model.offset + model.spread * (p - model.p_mean) / model.p_sd
    out = np.clip(p, *scale)
    out[none] = np.nan
    return out


def fit_council(
    df: pd.DataFrame,
    reference: str = "human_expert",
    judges: Sequence[str] | None = None,
    attributes: Sequence[str] = ATTRIBUTES,
    *,
    method: Method = "ridge-mm",
    alpha: float = 1.0,
    scale: tuple[float, float] = (1, 5),
    description: str = "",
) -> CouncilCalibration:
    """Fit the council calibrator: every judge × attribute score predicts each attribute.

    Args:
        df: Tidy frame with the reference and the judges.
        reference: The rater whose scale is the target.
        judges: Feature raters; default every rater except the reference.
        attributes: Attributes to calibrate (features use all of them).
        method: 'ridge-mm' (ridge on all features + moment matching, the default), 'ridge' (no
            matching; shrinks toward the mean) or 'mean-mm' (moment-matched judge mean).
        alpha: Ridge penalty.
        scale: Rating scale for clipping.
        description: Training-data description stored with the calibration.

    Returns:
        :class:`CouncilCalibration` (no CV; see :func:`council.calibration.cv.cross_validate_council`).

    References:
        Hoerl, A. E., & Kennard, R. W. (1970). Ridge regression. Technometrics, 12(1), 55–67.

    """
    judges = list(judges) if judges is not None else sorted(set(df["rater"].unique()) - {reference})
    d = design(df, reference, judges, attributes)
    x = d.features.to_numpy(dtype=float)
    models = []
    for a in attributes:
        cols = [i for i, f in enumerate(d.features.columns) if f.endswith("|" + a)]
        models.append(
            fit_attribute(
                x,
                d.reference[a].to_numpy(dtype=float),
                list(d.features.columns),
                a,
                method,
                alpha,
                scale,
                cols,
            )
        )
    has_ref = d.reference.notna().any(axis=1).to_numpy()
    info = TrainingInfo(
        description=description,
        reference=reference,
        judges=judges,
        attributes=list(attributes),
        n_targets=int(has_ref.sum()),
        n_contexts=None if d.context is None else int(pd.Series(d.context[has_ref]).nunique()),
    )
    return CouncilCalibration(
        method=method,
        alpha=0.0 if method == "mean-mm" else alpha,
        scale=scale,
        judges=judges,
        attributes=list(attributes),
        models=models,
        training=info,
    )
