"""One action after a review session: refit the calibration, and the confidence gate's thresholds, from all ratings.

The calibration is refitted by :func:`council.analysis.fit_and_store_calibration` on every human rating of
the batch (imported or from the review queue) and stored as the next version of ``review-<batch>-<method>``.
The gate's thresholds belong to :mod:`council.escalation`; its refit is called through the hook
:data:`GATE_HOOK` (``council.gating.refit_gate(store, *, owner, batch_id, calibration_id)``) when that
module provides it, and reported as ``not_configured`` — never as done — when it does not.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Sequence
from typing import Any

from council.analysis import AnalysisError, CalibrationMethod, NotFoundError, fit_and_store_calibration
from council.review.types import RefitResult
from council.store import analysis_store
from council.store.store import Store

__all__ = ["GATE_HOOK", "refit"]

GATE_HOOK = ("council.gating", "refit_gate")
"""Module and function the gate refit is delegated to; its absence is reported, not hidden."""


def _gate(store: Store, owner: str, batch_ids: Sequence[str], calibrations: dict[str, str]) -> dict[str, Any]:
    module_name, function = GATE_HOOK
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        module = None
    hook = getattr(module, function, None) if module is not None else None
    if hook is None:
        return {"status": "not_configured",
                "detail": f"{module_name}.{function} is not available in this build: the confidence gate's "
                          "thresholds were not refitted"}
    results = [hook(store, owner=owner, batch_id=b, calibration_id=calibrations.get(b)) for b in batch_ids]
    return {"status": "refitted", "results": [r.model_dump(mode="json") if hasattr(r, "model_dump") else r
                                              for r in results]}


def refit(store: Store, owner: str, batch_ids: Sequence[str], *, method: CalibrationMethod = "ridge-mm",
          cv: int = 5, seed: int = 0) -> RefitResult:
    """Refit each batch's calibration from all its human ratings (a new version), then the gate's thresholds.

    A batch whose ratings cannot support a fit yet (e.g. fewer rated contexts than folds) gets an ``error``
    entry naming why, and the others still refit.

    Raises:
        NotFoundError: A batch that is not this owner's (field ``batch_ids``).
        AnalysisError: No batch given.

    """
    if not batch_ids:
        raise AnalysisError("batch_ids", "give at least one batch")
    for b in batch_ids:
        row = analysis_store.batch_row(store, b)
        if row is None or row["owner"] != owner:
            raise NotFoundError("batch_ids", f"no batch {b!r}")
    out: list[dict[str, Any]] = []
    fitted: dict[str, str] = {}
    for b in dict.fromkeys(batch_ids):
        name = f"review-{b}-{method}"
        try:
            fit = fit_and_store_calibration(store, batch_id=b, method=method, cv=cv, seed=seed, name=name,
                                            owner=owner)
        except NotFoundError:
            raise
        except AnalysisError as e:
            out.append({"batch_id": b, "error": str(e), "field": e.field})
            continue
        row = store.query("SELECT version, training FROM calibrations WHERE calibration_id = ?",
                          [fit.calibration_id]).iloc[0]
        training = json.loads(row["training"])
        fitted[b] = fit.calibration_id
        out.append({"batch_id": b, "calibration_id": fit.calibration_id, "name": name, "version": int(row["version"]),
                    "reference": training.get("reference"), "n_targets": training.get("n_targets")})
    return RefitResult(calibrations=out, gate=_gate(store, owner, list(fitted), fitted))
