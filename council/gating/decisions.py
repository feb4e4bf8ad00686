"""Stored gate decisions of a batch (table ``gate_decisions``, migration 012) and what they add up to."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd

from council.store.store import Store

__all__ = ["gate_decisions", "gate_summary", "save_decisions"]

_COLUMNS = ["batch_id", "item_id", "candidate_id", "attribute_id", "gate_id", "decision", "tier", "reason", "score",
            "calibrated", "confidence", "created_at"]


def save_decisions(store: Store, batch_id: str, gate_id: str, frame: pd.DataFrame) -> None:
    """Replace the batch's decisions with a routing frame (plus ``item_id``, ``candidate_id``).

    Replacing keeps one decision per item when a gated batch is run again.
    """
    rows = pd.DataFrame({
        "batch_id": batch_id, "item_id": frame["item_id"].astype(str),
        "candidate_id": frame["candidate_id"].astype(str),
        "attribute_id": frame["attribute"].astype(str), "gate_id": gate_id, "decision": frame["decision"].astype(str),
        "tier": frame["tier"].astype(object).where(frame["tier"].notna(), None),
        "reason": frame["reason"].astype(str), "score": frame["score"].astype(float),
        "calibrated": frame["calibrated"].astype(float), "confidence": frame["confidence"].astype(float),
        "created_at": datetime.now(UTC)})[_COLUMNS]
    with store.transaction() as db:
        db.execute("DELETE FROM gate_decisions WHERE batch_id = ?", [batch_id])
        db.register("_gate_rows", rows)
        try:
            db.execute("INSERT INTO gate_decisions SELECT * FROM _gate_rows")
        finally:
            db.unregister("_gate_rows")


def gate_decisions(store: Store, batch_id: str) -> pd.DataFrame:
    """Every candidate × attribute decision of a gated batch, in batch order."""
    return store.query(
        "SELECT d.* EXCLUDE (batch_id, created_at) FROM gate_decisions d JOIN items i USING (batch_id, item_id) "
        "JOIN candidates c USING (batch_id, item_id, candidate_id) WHERE d.batch_id = ? "
        "ORDER BY i.position, c.position, d.attribute_id", [batch_id])


def gate_summary(store: Store, batch_id: str) -> dict[str, Any] | None:
    """Coverage per tier, items for people (by reason) and the predicted agreement of what was accepted.

    None when the batch was not gated. The predicted agreement is the mean calibrated confidence of the
    accepted items: what the gate expects their agreement with the human reference to be.
    """
    groups = store.query(
        "SELECT decision, tier, split_part(reason, ':', 1) AS reason, any_value(gate_id) AS gate_id, count(*) AS n, "
        "sum(confidence) AS confidence, count(confidence) AS n_conf FROM gate_decisions WHERE batch_id = ? "
        "GROUP BY ALL ORDER BY ALL", [batch_id])
    if groups.empty:
        return None
    n = int(groups.n.sum())
    accepted, review = groups[groups.decision == "accepted"], groups[groups.decision == "review"]
    tiers = accepted.groupby("tier", sort=True).n.sum()
    people = store.query("SELECT count(DISTINCT (item_id, candidate_id)) AS n FROM gate_decisions "
                         "WHERE batch_id = ? AND decision = 'review'", [batch_id])
    return {
        "gate_id": str(groups.gate_id.iloc[0]), "items": n,
        "accepted": {str(t): int(k) for t, k in tiers.items()},
        "coverage": {str(t): float(k) / n for t, k in tiers.items()},
        "review": int(review.n.sum()),
        "review_by_reason": {str(r): int(k) for r, k in review.groupby("reason", sort=True).n.sum().items()},
        "candidates_for_people": int(people.n[0]),
        "predicted_agreement": (float(accepted.confidence.sum() / accepted.n_conf.sum())
                                if accepted.n_conf.sum() else None),
    }
