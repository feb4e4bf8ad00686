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
    total = store.query("SELECT count(*) AS n, any_value(gate_id) AS gate_id FROM gate_decisions WHERE batch_id = ?",
                        [batch_id])
    n = int(total.n[0])
    if n == 0:
        return None
    tiers = store.query(
        "SELECT tier, count(*) AS n, avg(confidence) AS predicted FROM gate_decisions "
        "WHERE batch_id = ? AND decision = 'accepted' GROUP BY tier ORDER BY tier", [batch_id])
    review = store.query(
        "SELECT split_part(reason, ':', 1) AS reason, count(*) AS n FROM gate_decisions "
        "WHERE batch_id = ? AND decision = 'review' GROUP BY ALL ORDER BY ALL", [batch_id])
    accepted = store.query(
        "SELECT count(*) AS n, avg(confidence) AS predicted, count(DISTINCT (item_id, candidate_id)) AS candidates "
        "FROM gate_decisions WHERE batch_id = ? AND decision = 'accepted'", [batch_id])
    people = store.query(
        "SELECT count(DISTINCT (item_id, candidate_id)) AS n FROM gate_decisions WHERE batch_id = ? "
        "AND decision = 'review'", [batch_id])
    predicted = accepted.predicted[0]
    return {
        "gate_id": str(total.gate_id[0]), "items": n,
        "accepted": {str(r.tier): int(r.n) for r in tiers.itertuples()},
        "coverage": {str(r.tier): float(r.n) / n for r in tiers.itertuples()},
        "review": int(review.n.sum()) if not review.empty else 0,
        "review_by_reason": {str(r.reason): int(r.n) for r in review.itertuples()},
        "candidates_for_people": int(people.n[0]),
        "predicted_agreement": None if pd.isna(predicted) else float(predicted),
    }
