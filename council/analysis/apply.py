"""Apply a stored calibration to a batch: calibrated scores beside the raw ones.

Per-judge maps write ``judgments.calibrated_score`` (so ``judge_scores.calibrated_score`` and the
council's ``calibrated_mean`` follow); a council calibrator writes one score per candidate and
attribute to ``council_calibrated``, which ``council_scores.calibrated_mean`` (and the results
readers' ``calibrated_score``) then show. A calibration's rater names are judge ids: a council can use
a calibration only if its judges carry those ids (e.g. the four MentalAlign judge names).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pandas as pd

from council.analysis.calibrate import get_calibration
from council.analysis.errors import CalibrationMismatchError, NotFoundError
from council.analysis.records import ApplyRecord, StoredCalibration
from council.analysis.scope import batch_target, ratings_frame, resolve_scope
from council.calibration import apply_calibration, apply_rater_map
from council.store import analysis_store as db
from council.store.store import Store
from council.types import CouncilSpec
from protocols import Protocol

__all__ = ["apply_calibration_to_batch", "check_council_calibration"]


def _check_compatible(
    cal: StoredCalibration, judge_ids: Sequence[str], attributes: Sequence[str], scale: tuple[float, float]
) -> None:
    missing = [r for r in cal.raters if r not in judge_ids]
    if missing:
        raise CalibrationMismatchError(
            "calibration_id",
            f"calibration {cal.calibration_id} ({cal.name} v{cal.version}) was fitted on judges "
            f"{cal.raters}; the council lacks {missing} (its judges: {list(judge_ids)}). "
            "Give the council's judges "
            "these ids, or fit a calibration on this council's own judgments",
        )
    absent = [a for a in cal.attributes if a not in attributes]
    if absent:
        raise CalibrationMismatchError(
            "calibration_id",
            f"calibration {cal.calibration_id} calibrates attributes {absent} that the "
            f"protocol lacks (protocol attributes: {list(attributes)})",
        )
    if tuple(float(s) for s in scale) != tuple(float(s) for s in cal.scale):
        raise CalibrationMismatchError(
            "calibration_id",
            f"calibration {cal.calibration_id} is on scale {cal.scale}, the protocol on {scale}",
        )


def check_council_calibration(
    store: Store, council: CouncilSpec, protocol: Protocol, owner: str = "local"
) -> StoredCalibration | None:
    """Check, before any judging, that the council's calibration exists and fits its judges and protocol.

    Raises:
        NotFoundError: If this owner has no such calibration.
        CalibrationMismatchError: Naming the judges, attributes or scale that do not match.

    """
    if not council.calibration_id:
        return None
    cal = get_calibration(store, council.calibration_id, owner)
    _check_compatible(
        cal, [j.id for j in council.judges], protocol.attribute_ids, (protocol.scale.min, protocol.scale.max)
    )
    return cal


def _maps_rows(cal: StoredCalibration, j: pd.DataFrame) -> pd.DataFrame:
    out = j[["item_id", "candidate_id", "judge_id", "attribute_id", "sample"]].copy()
    out["calibrated_score"] = float("nan")
    for m in cal.maps:
        sel = (j["judge_id"] == m.rater) & (j["attribute_id"] == m.attribute)
        out.loc[sel, "calibrated_score"] = apply_rater_map(m, j.loc[sel, "score"].to_numpy(dtype=float))
    return out[out["judge_id"].isin(cal.raters) & out["attribute_id"].isin(cal.attributes)]


def apply_calibration_to_batch(
    store: Store, batch_id: str, calibration_id: str, *, owner: str | None = None
) -> ApplyRecord:
    """Write a batch's calibrated scores with a stored calibration (replacing earlier calibrated values).

    Called automatically at the end of :func:`council.run.run_batch` when the council names a
    ``calibration_id``; callable any time to (re)calibrate a stored batch. The calibration must belong
    to the batch's owner.

    Args:
        store: The store.
        batch_id: The batch.
        calibration_id: The calibration.
        owner: When given, the caller's owner: another owner's batch is reported as not found.

    Returns:
        :class:`~council.analysis.records.ApplyRecord`.

    Raises:
        NotFoundError: If the batch or the calibration does not exist (for this owner).
        CalibrationMismatchError: If the council's judges, the protocol's attributes or scale do not match.

    """
    row = db.batch_row(store, batch_id)
    if row is None or (owner is not None and row["owner"] != owner):
        raise NotFoundError("batch_id", f"no batch {batch_id!r}")
    scope = resolve_scope(store, batch_id=batch_id, owner=row["owner"])
    cal = get_calibration(store, calibration_id, row["owner"])
    _check_compatible(cal, scope.council_judges, scope.attributes, scope.scale)
    judgments, council, detail = None, None, {}
    if cal.kind == "rater_maps":
        judgments = _maps_rows(cal, db.read_judgments(store, batch_id))
        values = judgments["calibrated_score"]
    else:
        if cal.council is None:
            raise CalibrationMismatchError(
                "calibration_id", f"calibration {calibration_id} has no council model"
            )
        df = ratings_frame(store, scope=scope)
        df = df[df["rater"].isin(cal.raters)]
        res = apply_calibration(cal.council, df)
        cands = store.query("SELECT item_id, candidate_id FROM candidates WHERE batch_id = ?", [batch_id])
        keys = {
            batch_target(i, c): (i, c) for i, c in zip(cands["item_id"], cands["candidate_id"], strict=True)
        }
        f = res.frame
        council = pd.DataFrame(
            {
                "item_id": f["target"].map(lambda t: keys[t][0]),
                "candidate_id": f["target"].map(lambda t: keys[t][1]),
                "attribute_id": f["attribute"],
                "score": f["score"].astype(float),
            }
        )
        values, detail = council["score"], json.loads(res.report.model_dump_json())
    record = ApplyRecord(
        batch_id=batch_id,
        calibration_id=calibration_id,
        kind=cal.kind,
        n_written=len(values),
        n_missing=int(values.isna().sum()),
        judges_used=list(cal.raters),
        judges_ignored=[j for j in scope.council_judges if j not in cal.raters],
        detail=detail,
        applied_at=db.now(),
    )
    db.write_calibrated(
        store,
        batch_id,
        calibration_id,
        row["owner"],
        judgments=judgments,
        council=council,
        report=json.loads(record.model_dump_json()),
    )
    return record
