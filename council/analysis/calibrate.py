"""Fit a calibration on a dataset or batch, cross-validate it grouped by context, and store it as a version.

Two kinds: a council calibrator (``ridge-mm`` — the default and the one that meets the issue's targets
on MentalAlign —, ``ridge``, ``mean-mm``; one score per candidate and attribute from every judge's
scores) and per-judge maps (``linear``, ``isotonic``; each judge's score mapped to the human scale, the
calibrated council being the mean of the mapped judges).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from council.analysis.errors import AnalysisError, NotFoundError
from council.analysis.records import (
    COUNCIL_METHODS,
    MAP_METHODS,
    CalibrationFit,
    CalibrationInfo,
    CalibrationMethod,
    StoredCalibration,
)
from council.analysis.scope import judges_in, pick_reference, ratings_frame, resolve_scope
from council.calibration import CouncilCalibration, CVReport, RaterMap, TrainingInfo, fit_validated_council
from council.calibration.apply import apply_rater_map
from council.calibration.cv import FoldPredictor, out_of_fold
from council.calibration.cv import _row as cv_row
from council.calibration.fit import design, fit_rater_map, fit_rater_maps
from council.store import analysis_store as db
from council.store.store import Store

__all__ = ["cross_validate_maps", "fit_and_store_calibration", "get_calibration", "list_calibrations"]


def _mapped_mean(maps: dict[str, RaterMap], x: np.ndarray, judges: Sequence[str]) -> np.ndarray:
    """Mean over judges of their mapped scores (a judge without a map is left out)."""
    cols = [apply_rater_map(maps[j], x[:, i]) for i, j in enumerate(judges) if j in maps]
    if not cols:
        return np.full(len(x), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: no judge scored -> NaN, on purpose
        return np.nanmean(np.column_stack(cols), axis=1)


def maps_predictor(judges: Sequence[str], method: str, scale: tuple[float, float]) -> FoldPredictor:
    """Fold predictions of per-judge maps: each judge with ≥ 2 scored training rows mapped, then averaged."""

    def predict(a: str, x_tr: np.ndarray, y_tr: np.ndarray, cols: list[int], x_te: np.ndarray) -> np.ndarray:
        maps = {}
        for j, c in zip(judges, cols, strict=True):
            ok = ~np.isnan(x_tr[:, c]) & ~np.isnan(y_tr)
            if ok.sum() >= 2:
                maps[j] = fit_rater_map(x_tr[:, c], y_tr, method, scale, j, a)  # type: ignore[arg-type]
        return _mapped_mean(maps, x_te[:, cols], judges)

    return predict


def cross_validate_maps(
    df: pd.DataFrame,
    reference: str,
    judges: Sequence[str],
    attributes: Sequence[str],
    *,
    method: str = "linear",
    n_splits: int = 5,
    seed: int = 0,
    scale: tuple[float, float] = (1, 5),
) -> CVReport:
    """K-fold CV grouped by context of per-judge maps, the calibrated council being the mapped judges' mean.

    Same folds and same table as :func:`council.calibration.cross_validate_council`, so the two kinds
    of calibration compare row by row.
    """
    d = design(df, reference, judges, attributes)
    pooled = out_of_fold(d, judges, attributes, maps_predictor(judges, method, scale), n_splits=n_splits, seed=seed)
    rows = [cv_row(a, y, oof, judge_x, judges) for a, (y, oof, judge_x) in pooled.items()]
    return CVReport(method=method, n_splits=n_splits, seed=seed, rows=rows)


def _fit(
    df: pd.DataFrame,
    ref: str,
    judges: list[str],
    attributes: list[str],
    method: str,
    cv: int,
    seed: int,
    scale: tuple[float, float],
    description: str,
) -> tuple[CouncilCalibration | None, list[RaterMap], CVReport]:
    if method in COUNCIL_METHODS:
        cal = fit_validated_council(
            df,
            ref,
            judges,
            attributes,
            method=method,
            n_splits=cv,  # type: ignore[arg-type]
            seed=seed,
            scale=scale,
            description=description,
        )
        return cal, [], cal.cv  # type: ignore[return-value]
    report = cross_validate_maps(
        df, ref, judges, attributes, method=method, n_splits=cv, seed=seed, scale=scale
    )
    return None, fit_rater_maps(df, ref, judges, attributes, method, scale), report  # type: ignore[arg-type]


def fit_and_store_calibration(
    store: Store,
    *,
    dataset: str | None = None,
    batch_id: str | None = None,
    method: CalibrationMethod = "ridge-mm",
    cv: int = 5,
    seed: int = 0,
    reference: str | None = None,
    name: str | None = None,
    paper_compatible: bool = False,
    owner: str = "local",
) -> CalibrationFit:
    """Fit a calibration on all of a dataset's or batch's ratings, cross-validate it, and store it.

    The CV table gives, per attribute, the held-out ICC(A,1), bias and MAE of the best single raw judge
    (named), the raw council (judge mean) and the calibrated council, over K folds grouped by context.
    The stored calibration is the next version of ``name`` (default ``<dataset or batch>-<method>``).

    Args:
        store: The store.
        dataset: Training data: a dataset, or
        batch_id: a batch with human ratings imported for it.
        method: ridge-mm | ridge | mean-mm (council calibrator) or linear | isotonic (per-judge maps).
        cv: Number of folds (≥ 2).
        seed: Seed of the shuffled grouped folds.
        reference: Reference rater; default ``human_expert`` or the only human.
        name: Calibration name; versions count up per name.
        paper_compatible: Train on values as given (not recommended; default hygiene drops 0s and 6s).
        owner: Owner of the data and the calibration.

    Returns:
        :class:`~council.analysis.records.CalibrationFit` (calibration_id, cv report).

    Raises:
        AnalysisError: Naming the field (method, cv, too few judges or contexts).
        NotFoundError: If the dataset or batch does not exist for this owner.

    """
    if method not in COUNCIL_METHODS + MAP_METHODS:
        raise AnalysisError(
            "method", f"unknown method {method!r}; choose one of {COUNCIL_METHODS + MAP_METHODS}"
        )
    if cv < 2:
        raise AnalysisError("cv", "need at least 2 folds")
    scope = resolve_scope(store, dataset=dataset, batch_id=batch_id, owner=owner)
    df = ratings_frame(store, scope=scope, paper_compatible=paper_compatible)
    ref = pick_reference(df, reference)
    judges = judges_in(scope, df)
    if not judges:
        raise AnalysisError("dataset" if dataset else "batch_id", "no judge scores to calibrate")
    attributes = [a for a in scope.attributes if a in set(df.loc[df["rater"] == ref, "attribute"])]
    description = (
        f"{scope.kind} {scope.key}; reference {ref}; "
        f"{'values as given' if paper_compatible else 'default hygiene'}"
    )
    try:
        council, maps, report = _fit(df, ref, judges, attributes, method, cv, seed, scope.scale, description)
    except ValueError as e:
        raise AnalysisError("ratings", str(e)) from e
    training = (
        council.training if council is not None else _maps_training(df, ref, judges, attributes, description)
    )
    params = council.model_dump_json() if council is not None else json.dumps([m.model_dump() for m in maps])
    row = {
        "calibration_id": db.new_id("cal"),
        "owner": owner,
        "name": name or f"{scope.key}-{method}",
        "method": method,
        "kind": "council" if council is not None else "rater_maps",
        "dataset": scope.dataset,
        "batch_id": scope.batch_id,
        "training": training.model_dump_json(),
        "cv": report.model_dump_json(),
        "parameters": params,
        "raters": judges,
        "attributes": attributes,
        "scale": scope.scale,
        "created_at": db.now(),
    }
    db.save_calibration(store, row)
    return CalibrationFit(row["calibration_id"], report)


def _maps_training(
    df: pd.DataFrame, ref: str, judges: list[str], attributes: list[str], description: str
) -> TrainingInfo:
    d = design(df, ref, judges, attributes)
    has_ref = d.reference.notna().any(axis=1).to_numpy()
    return TrainingInfo(
        description=description,
        reference=ref,
        judges=judges,
        attributes=attributes,
        n_targets=int(has_ref.sum()),
        n_contexts=None if d.context is None else int(pd.Series(d.context[has_ref]).nunique()),
    )


def _info(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in ("calibration_id", "owner", "name", "version", "method", "kind", "created_at")}
    out.update(
        dataset=row["dataset"] if isinstance(row["dataset"], str) else None,
        batch_id=row["batch_id"] if isinstance(row["batch_id"], str) else None,
        training=TrainingInfo.model_validate_json(row["training"]),
        raters=json.loads(row["raters"]),
        attributes=json.loads(row["attributes"]),
        scale=(row["scale_min"], row["scale_max"]),
        cv=CVReport.model_validate_json(row["cv"]) if isinstance(row["cv"], str) else None,
    )
    return out


def get_calibration(store: Store, calibration_id: str, owner: str = "local") -> StoredCalibration:
    """Return a stored calibration with its parameters.

    Raises:
        NotFoundError: If this owner has no such calibration.

    """
    rows = db.list_rows(store, "calibrations", owner, "calibration_id", calibration_id)
    if rows.empty:
        raise NotFoundError("calibration_id", f"no calibration {calibration_id!r}")
    row = rows.iloc[0].to_dict()
    if row["kind"] == "council":
        return StoredCalibration(
            **_info(row), council=CouncilCalibration.model_validate_json(row["parameters"])
        )
    maps = [RaterMap.model_validate(m) for m in json.loads(row["parameters"])]
    return StoredCalibration(**_info(row), maps=maps)


def list_calibrations(store: Store, owner: str = "local") -> list[CalibrationInfo]:
    """List the owner's calibrations, newest first (without parameters)."""
    rows = db.list_rows(store, "calibrations", owner, "calibration_id")
    return [CalibrationInfo(**_info(r)) for r in rows.to_dict("records")]
