"""Cross-validation of the council calibrator, grouped by context."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from council.calibration.fit import (
    Design,
    Method,
    design,
    feature_name,
    fit_attribute,
    fit_council,
    predict_attribute,
)
from council.calibration.model import CouncilCalibration, CVReport, CVRow
from council.stats._threads import single_threaded_blas
from council.stats.frames import ATTRIBUTES
from council.stats.icc import icc_matrix


def heldout_metrics(y: np.ndarray, p: np.ndarray) -> tuple[float, float, float]:
    """(ICC(A,1), bias = mean(p − y), MAE) over complete pairs; NaNs when fewer than 3 pairs."""
    ok = ~np.isnan(y) & ~np.isnan(p)
    if ok.sum() < 3:
        return float("nan"), float("nan"), float("nan")
    icc = next(r.value for r in icc_matrix(np.column_stack([y[ok], p[ok]])) if r.form == "ICC(A,1)")
    d = p[ok] - y[ok]
    return float(icc), float(d.mean()), float(np.abs(d).mean())


def _row(attribute: str, y: np.ndarray, oof: np.ndarray, judge_x: np.ndarray, judges: Sequence[str]) -> CVRow:
    with np.errstate(invalid="ignore"), pd.option_context("mode.chained_assignment", None):
        council = np.nanmean(judge_x, axis=1) if judge_x.size else np.full(len(y), np.nan)
    mask = ~np.isnan(y) & ~np.isnan(oof) & ~np.isnan(council)
    yy = np.where(mask, y, np.nan)
    per_judge = [(j, *heldout_metrics(yy, judge_x[:, i])) for i, j in enumerate(judges)]
    best = max(per_judge, key=lambda t: -np.inf if np.isnan(t[1]) else t[1])
    c, k = heldout_metrics(yy, council), heldout_metrics(yy, oof)
    return CVRow(
        attribute=attribute,
        n=int(mask.sum()),
        best_judge=best[0],
        best_judge_icc_a1=best[1],
        best_judge_bias=best[2],
        best_judge_mae=best[3],
        council_icc_a1=c[0],
        council_bias=c[1],
        council_mae=c[2],
        calibrated_icc_a1=k[0],
        calibrated_bias=k[1],
        calibrated_mae=k[2],
    )


FoldPredictor = Callable[[str, np.ndarray, np.ndarray, list[int], np.ndarray], np.ndarray]
"""(attribute, training features, training reference, columns of the judges' scores on the attribute,
held-out features) → predictions for the held-out rows. Features are the full design matrix."""


def out_of_fold(d: Design, judges: Sequence[str], attributes: Sequence[str], predict: FoldPredictor, *,
                n_splits: int, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per attribute: the reference, the pooled out-of-fold predictions and the judges' raw scores.

    The one K-fold loop grouped by context (shuffled ``GroupKFold``) behind every calibration's CV table and
    the dashboard's calibrated scores, so the same calibration always gets the same folds.
    """
    x = d.features.to_numpy(dtype=float)
    names = list(d.features.columns)
    folds = list(GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(x, groups=d.context))
    out = {}
    with single_threaded_blas():
        for a in attributes:
            y = d.reference[a].to_numpy(dtype=float)
            cols = [names.index(feature_name(j, a)) for j in judges]
            oof = np.full(len(y), np.nan)
            for tr, te in folds:
                oof[te] = predict(a, x[tr], y[tr], cols, x[te])
            out[a] = (y, oof, x[:, cols])
    return out


def council_predictor(names: Sequence[str], method: Method, alpha: float,
                      scale: tuple[float, float]) -> FoldPredictor:
    """Fold predictions of the council calibrator (``names``: the design's feature names)."""

    def predict(a: str, x_tr: np.ndarray, y_tr: np.ndarray, cols: list[int], x_te: np.ndarray) -> np.ndarray:
        model = fit_attribute(x_tr, y_tr, list(names), a, method, alpha, scale, cols)
        return predict_attribute(model, x_te, scale)

    return predict


def cross_validate_council(
    df: pd.DataFrame,
    reference: str = "human_expert",
    judges: Sequence[str] | None = None,
    attributes: Sequence[str] = ATTRIBUTES,
    *,
    method: Method = "ridge-mm",
    alpha: float = 1.0,
    n_splits: int = 5,
    seed: int = 0,
    scale: tuple[float, float] = (1, 5),
) -> CVReport:
    """K-fold CV grouped by context: held-out ICC(A,1), bias and MAE per attribute.

    Every response of a context falls in the same fold, so a model never sees the help-seeker it
    is evaluated on. Out-of-fold predictions of all folds are pooled and compared with the
    reference on the targets where the reference, the raw council and the calibrated score exist;
    the raw judges (not fitted) are scored on the same targets, and the best by ICC(A,1) is named.

    Args:
        df: Tidy frame with the reference, the judges and a ``context`` column.
        reference: Reference rater.
        judges: Judges (features); default every other rater.
        attributes: Attributes to calibrate and evaluate.
        method: See :func:`council.calibration.fit.fit_council`.
        alpha: Ridge penalty.
        n_splits: Folds.
        seed: Seed of the shuffled group assignment (``GroupKFold(shuffle=True)``).
        scale: Rating scale.

    Returns:
        :class:`CVReport`.

    Raises:
        ValueError: Without a ``context`` column.

    References:
        Roberts, D. R. et al. (2017). Cross-validation strategies for data with temporal, spatial,
        hierarchical, or phylogenetic structure. Ecography, 40(8), 913–929.

    """
    judges = list(judges) if judges is not None else sorted(set(df["rater"].unique()) - {reference})
    d = design(df, reference, judges, attributes)
    if d.context is None:
        raise ValueError("grouped cross-validation needs a 'context' column")
    predict = council_predictor(list(d.features.columns), method, alpha, scale)
    pooled = out_of_fold(d, judges, attributes, predict, n_splits=n_splits, seed=seed)
    rows = [_row(a, y, oof, judge_x, judges) for a, (y, oof, judge_x) in pooled.items()]
    label = method if method == "mean-mm" else f"{method}(alpha={alpha})"
    return CVReport(method=label, n_splits=n_splits, seed=seed, rows=rows)


def fit_validated_council(
    df: pd.DataFrame,
    reference: str = "human_expert",
    judges: Sequence[str] | None = None,
    attributes: Sequence[str] = ATTRIBUTES,
    *,
    method: Method = "ridge-mm",
    alpha: float = 1.0,
    n_splits: int = 5,
    seed: int = 0,
    scale: tuple[float, float] = (1, 5),
    description: str = "",
) -> CouncilCalibration:
    """Fit the council calibrator on all of ``df`` and attach its grouped cross-validation.

    The returned object serialises with its CV metrics, so a stored calibration says how well it
    is expected to do on contexts it has not seen.
    """
    cv = cross_validate_council(
        df,
        reference,
        judges,
        attributes,
        method=method,
        alpha=alpha,
        n_splits=n_splits,
        seed=seed,
        scale=scale,
    )
    cal = fit_council(
        df, reference, judges, attributes, method=method, alpha=alpha, scale=scale, description=description
    )
    return cal.model_copy(update={"cv": cv})
