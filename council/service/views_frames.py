"""The frame every statistical dashboard view starts from: a scope's ratings plus the council, raw and calibrated.

Built once per scope and data version (:func:`data_version`) and cached by :mod:`council.service.views`:

- the tidy frame of :func:`council.analysis.ratings_frame` (judges, humans, external raters);
- ``council``: for a batch the stored council score (its aggregation and quorum, ``council_scores``); for a
  dataset the mean of its judges (as the agreement report defines it);
- ``council_calibrated`` (rounded to 0.01): for a batch the calibrated scores written beside the raw ones (an applied
  calibration); for a dataset the **out-of-fold** predictions of its newest calibration, re-fitted on the
  calibration's own grouped folds (method, folds and seed as stored), so the numbers are held-out ones,
  never in-sample.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import pandas as pd

from council.analysis import AnalysisError, Scope, ratings_frame
from council.analysis.calibrate import maps_predictor
from council.analysis.scope import batch_target, judges_in, pick_reference, raters_by_kind
from council.calibration.cv import council_predictor, out_of_fold
from council.calibration.fit import design
from council.stats.frames import add_council
from council.store.store import Store

__all__ = ["COUNCIL", "CALIBRATED", "Prepared", "data_version", "prepare_frame"]

COUNCIL = "council"
CALIBRATED = "council_calibrated"


class Prepared(NamedTuple):
    """A scope's frame with the council raters added, and what the views need to know about it."""

    scope: Scope
    frame: pd.DataFrame
    reference: str | None
    """The human reference rater, or None when the scope has no human ratings."""
    judges: list[str]
    humans: list[str]
    calibration: dict[str, Any] | None
    """Where ``council_calibrated`` comes from: calibration id, name, method, source; None without one."""


def data_version(store: Store, scope: Scope) -> str:
    """Return a string that changes whenever the data behind a scope's views changes.

    New ratings, judgments, calibrations or applications change it; cache keys include it, so nothing stale
    is ever served.
    """
    col = "dataset" if scope.kind == "dataset" else "batch_id"
    row = store.query(
        f"""
        SELECT (SELECT count(*) || '/' || coalesce(max(created_at)::VARCHAR, '') FROM imports
                WHERE owner = $o AND {col} = $k) AS imports,
               (SELECT count(*) || '/' || coalesce(max(created_at)::VARCHAR, '') FROM calibrations
                WHERE owner = $o AND {col} = $k) AS calibrations,
               (SELECT coalesce(max(updated_at)::VARCHAR, '') || status FROM batches WHERE batch_id = $k
                GROUP BY status) AS batch,
               (SELECT count(*) || '/' || count(score) FROM judgments WHERE batch_id = $k) AS judgments,
               (SELECT coalesce(max(applied_at)::VARCHAR, '') FROM calibration_applications
                WHERE batch_id = $k) AS applied""",
        {"o": scope.owner, "k": scope.key},
    )  # type: ignore[arg-type]
    return "|".join(str(v) for v in row.iloc[0].tolist())


def _batch_council(store: Store, scope: Scope, info: pd.DataFrame) -> pd.DataFrame:
    """The batch's stored council scores (raw and calibrated) as tidy rows."""
    cs = store.query(
        "SELECT item_id, candidate_id, attribute_id AS attribute, score, calibrated_mean "
        "FROM council_scores WHERE batch_id = ?",
        [scope.key],
    )
    cs["target"] = [batch_target(i, c) for i, c in zip(cs["item_id"], cs["candidate_id"], strict=True)]
    parts = [cs.assign(rater=COUNCIL)[["target", "attribute", "score", "rater"]]]
    if cs["calibrated_mean"].notna().any():
        parts.append(
            cs.assign(rater=CALIBRATED, score=cs["calibrated_mean"].round(2))[
                ["target", "attribute", "score", "rater"]
            ]
        )
    out = pd.concat(parts, ignore_index=True).merge(info, on="target", how="inner")
    return out.assign(rater_kind="external", rater_family="council", score=out["score"].astype(float))


def _latest_calibration(store: Store, scope: Scope) -> dict[str, Any] | None:
    col = "dataset" if scope.kind == "dataset" else "batch_id"
    df = store.query(
        f"SELECT * FROM calibrations WHERE owner = ? AND {col} = ? ORDER BY created_at DESC LIMIT 1",
        [scope.owner, scope.key],
    )
    return None if df.empty else dict(df.iloc[0].to_dict())


def _oof_scores(df: pd.DataFrame, ref: str, cal: dict[str, Any], scale: tuple[float, float]) -> pd.DataFrame:
    """Out-of-fold calibrated council scores under the calibration's method, folds and seed."""
    judges, attributes = json.loads(cal["raters"]), json.loads(cal["attributes"])
    cv, params = json.loads(cal["cv"] or "{}"), json.loads(cal["parameters"])
    alpha = float(params.get("alpha", 1.0)) if isinstance(params, dict) else 1.0
    d = design(df, ref, judges, attributes)
    predict = (council_predictor(list(d.features.columns), cal["method"], alpha, scale) if cal["kind"] == "council"
               else maps_predictor(judges, cal["method"], scale))
    pooled = out_of_fold(d, judges, attributes, predict, n_splits=int(cv.get("n_splits", 5)),
                         seed=int(cv.get("seed", 0)))
    out = {a: oof for a, (_, oof, _) in pooled.items()}
    # 0.01 steps: invisible on a 1-5 scale, and keeps the distinct values few, which Krippendorff's alpha
    # (a V x V coincidence matrix over distinct values) needs to stay fast on ~10,000 continuous predictions
    wide = pd.DataFrame(out, index=d.features.index).round(2)
    return wide.reset_index().melt(id_vars="target", var_name="attribute", value_name="score")


def _dataset_calibrated(
    df: pd.DataFrame, scope: Scope, ref: str, cal: dict[str, Any] | None, info: pd.DataFrame
) -> pd.DataFrame | None:
    if cal is None or not set(json.loads(cal["raters"])) <= set(df["rater"]):
        return None
    oof = _oof_scores(df, ref, cal, scope.scale).merge(info, on="target", how="inner")
    return oof.assign(rater=CALIBRATED, rater_kind="external", rater_family="council")


def _calibration_info(cal: dict[str, Any], source: str) -> dict[str, Any]:
    return {
        "calibration_id": cal["calibration_id"],
        "name": cal["name"],
        "version": int(cal["version"]),
        "method": cal["method"],
        "source": source,
    }


def prepare_frame(store: Store, scope: Scope) -> Prepared:
    """Build the views' frame of one scope (see the module docstring).

    Raises:
        AnalysisError: If the scope holds no ratings at all.

    """
    df = ratings_frame(store, scope=scope)
    if df.empty:
        raise AnalysisError(
            "dataset" if scope.kind == "dataset" else "batch_id", "no ratings or judgments yet"
        )
    kinds = raters_by_kind(df)
    try:
        ref: str | None = pick_reference(df, None)
    except AnalysisError:
        ref = None
    judges = judges_in(scope, df)
    info_cols = [
        c for c in ("target", "context", "responder", "responder_family", "length") if c in df.columns
    ]
    info = df[info_cols].drop_duplicates("target")
    cal = _latest_calibration(store, scope)
    calibration = None
    if scope.kind == "batch":
        extra = _batch_council(store, scope, info)
        if (extra["rater"] == CALIBRATED).any():
            applied = store.query(
                "SELECT c.* FROM calibration_applications a JOIN calibrations c USING "
                "(calibration_id) WHERE a.batch_id = ?",
                [scope.key],
            )
            calibration = (
                _calibration_info(dict(applied.iloc[0].to_dict()), "applied to this batch")
                if not applied.empty
                else {"source": "applied to this batch"}
            )
        df = pd.concat([df, extra[[c for c in df.columns if c in extra.columns]]], ignore_index=True)
    else:
        if len(judges) >= 2:
            df = add_council(df, judges, name=COUNCIL)
            df.loc[df["rater"] == COUNCIL, "rater_kind"] = "external"
        calibrated = _dataset_calibrated(df, scope, ref, cal, info) if ref else None
        if calibrated is not None and cal is not None:
            df = pd.concat(
                [df, calibrated[[c for c in df.columns if c in calibrated.columns]]], ignore_index=True
            )
            calibration = _calibration_info(cal, "out-of-fold (held-out) predictions of its cross-validation")
    return Prepared(scope, df, ref, judges, kinds["human"], calibration)
