"""Refit a gated batch's gate from the human ratings its reviewers added: the next version of the same gate."""

from __future__ import annotations

import json
from typing import Any

from council.analysis.errors import AnalysisError, NotFoundError
from council.escalation import fit_and_store_gate, get_gate
from council.store.store import Store

__all__ = ["batch_gate_id", "refit_gate"]


def batch_gate_id(store: Store, batch_id: str, owner: str) -> str | None:
    """The gate a batch was judged under (its ``gate`` option), or None for an ungated batch.

    Raises:
        NotFoundError: This owner has no such batch (field ``batch_id``).
    """
    row = store.query("SELECT options FROM batches WHERE batch_id = ? AND owner = ?", [batch_id, owner])
    if row.empty:
        raise NotFoundError("batch_id", f"no batch {batch_id!r}")
    return json.loads(row.options[0] or "{}").get("gate")


def refit_gate(store: Store, *, owner: str, batch_id: str, calibration_id: str | None = None) -> dict[str, Any]:
    """Fit the batch's gate again (same name, tiers and target) on the batch's ratings; store it as a new version.

    ``calibration_id`` (the calibration refitted in the same action) is recorded for the record: each tier's
    gate carries its own calibrator, fitted on the same ratings. An ungated batch is reported, not refitted;
    too few ratings to fit is reported with the reason, never papered over.
    """
    gate_id = batch_gate_id(store, batch_id, owner)
    if gate_id is None:
        return {"batch_id": batch_id, "status": "not_gated", "detail": "the batch was not judged under a gate"}
    previous = get_gate(store, gate_id, owner)
    try:
        info = fit_and_store_gate(store, previous.tiers, previous.target, batch_id=batch_id, name=previous.name,
                                  owner=owner)
    except AnalysisError as e:
        return {"batch_id": batch_id, "status": "not_refitted", "gate": previous.name, "field": e.field,
                "detail": str(e)}
    return {"batch_id": batch_id, "status": "refitted", "gate": info.name, "version": info.version,
            "gate_id": info.gate_id, "thresholds": info.thresholds, "calibration_id": calibration_id}
