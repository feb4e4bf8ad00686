"""Suspected manipulation in a batch: screen its texts, store the flags, route flagged candidates to people.

Every candidate reply and every seeker message of a batch is screened by the deterministic detector
(:func:`judges.injection.screen`) when the batch is prepared; flagged texts get a row in ``manipulation_flags``
(migration 011). Flagged candidates are still judged: their council score is reported beside the flag (view
``flagged_council_scores``, the CLI's table), never dropped. When the run finishes, every flagged candidate (its
reply flagged, or its item's seeker message) goes to the human review queue with reason
``suspected_manipulation`` through :func:`route_flags`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict

from council.store.store import Store
from council.types import Batch
from judges.injection import DETECTOR_VERSION, Screening, screen

__all__ = ["Flag", "flag_batch", "flagged_scores", "flags_frame", "route_flags", "screen_batch"]

REASON = "suspected_manipulation"


class Flag(BaseModel):
    """One flagged text of a batch."""

    model_config = ConfigDict(frozen=True)

    item_id: str
    """The item."""
    candidate_id: str
    """The candidate ('' when the seeker's message is flagged)."""
    target: Literal["candidate", "context"]
    """Which text is flagged."""
    screening: Screening
    """The detector's findings."""


def screen_batch(batch: Batch) -> list[Flag]:
    """Screen every candidate and every seeker turn of a batch; return the flagged texts (pure, no store)."""
    flags: list[Flag] = []
    for item in batch.items:
        seeker = "\n".join(t.text for t in item.as_context().turns if t.role == "seeker")
        found = screen(seeker)
        if found.suspected_manipulation:
            flags.append(Flag(item_id=item.id, candidate_id="", target="context", screening=found))
        for c in item.candidates:
            found = screen(c.text)
            if found.suspected_manipulation:
                flags.append(Flag(item_id=item.id, candidate_id=c.id, target="candidate", screening=found))
    return flags


def _save(store: Store, batch_id: str, flags: Sequence[Flag]) -> None:
    now = datetime.now(UTC)
    rows = [[batch_id, f.item_id, f.candidate_id, f.target, json.dumps(f.screening.reasons),
             json.dumps([x.model_dump() for x in f.screening.findings], ensure_ascii=False), f.screening.version,
             None, now] for f in flags]
    with store.transaction() as db:
        db.execute("DELETE FROM manipulation_flags WHERE batch_id = ? AND detector_version <> ?",
                   [batch_id, DETECTOR_VERSION])
        for row in rows:  # keep ``routed`` of a flag already stored (a re-prepared batch is not re-routed)
            db.execute("INSERT INTO manipulation_flags VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", row)


def flag_batch(store: Store, batch_id: str, batch: Batch) -> list[Flag]:
    """Screen a stored batch and store its flags (idempotent); return them."""
    flags = screen_batch(batch)
    _save(store, batch_id, flags)
    return flags


def flags_frame(store: Store, batch_id: str) -> pd.DataFrame:
    """The batch's stored flags (one row per flagged text, ``reasons`` as a list)."""
    df = store.query("SELECT item_id, candidate_id, target, reasons, findings, detector_version, routed "
                     "FROM manipulation_flags WHERE batch_id = ? ORDER BY item_id, candidate_id", [batch_id])
    return df.assign(reasons=df["reasons"].map(json.loads), findings=df["findings"].map(json.loads))


def flagged_scores(store: Store, batch_id: str) -> pd.DataFrame:
    """The council's scores of the batch's flagged candidates, beside their flags (view ``flagged_council_scores``)."""
    df = store.query("SELECT item_id, candidate_id, attribute_id, mean, n_scored, flagged_text, flag_reasons, routed "
                     "FROM flagged_council_scores WHERE batch_id = ? ORDER BY item_id, candidate_id, attribute_id",
                     [batch_id])
    return df.assign(flag_reasons=df["flag_reasons"].map(json.loads))


Enqueue = Callable[[Store, str, str, list[dict[str, Any]]], Any]
"""``enqueue(store, owner, batch_id, items)`` of the review queue; items: item_id, candidate_id, reason, detail."""


def _review_queue() -> Enqueue | None:
    """The review queue's ``enqueue`` (``council.review``, issue 10) when it is installed, else None."""
    try:
        from council.review import QueueItem, enqueue  # type: ignore[import-not-found,attr-defined]
    except ImportError:
        return None

    def call(store: Store, owner: str, batch_id: str, items: list[dict[str, Any]]) -> Any:
        return enqueue(store, owner, batch_id, [QueueItem(**i) for i in items])

    return call


def route_flags(store: Store, batch_id: str, owner: str | None = None, enqueue: Enqueue | None = None) -> int:
    """Send every flagged, not yet routed candidate of a batch to human review; return how many were sent.

    A flagged seeker message routes every candidate of its item. ``owner`` defaults to the batch's owner;
    ``enqueue`` to the review queue's (``council.review.enqueue``); without one installed the flags are marked
    ``pending`` and stay listed.
    """
    if owner is None:
        found = store.query("SELECT owner FROM batches WHERE batch_id = ?", [batch_id])
        owner = str(found["owner"].iloc[0]) if not found.empty else "local"
    flags = store.query("SELECT item_id, candidate_id, target, reasons FROM manipulation_flags "
                        "WHERE batch_id = ? AND routed IS NULL", [batch_id])
    if flags.empty:
        return 0
    items: dict[tuple[str, str], dict[str, Any]] = {}
    for f in flags.itertuples():
        ids = [f.candidate_id] if f.target == "candidate" else list(store.query(
            "SELECT candidate_id FROM candidates WHERE batch_id = ? AND item_id = ? ORDER BY position",
            [batch_id, f.item_id])["candidate_id"])
        detail = f"{'reply' if f.target == 'candidate' else 'seeker message'}: {', '.join(json.loads(f.reasons))}"
        for cid in ids:
            entry = items.setdefault((f.item_id, cid), {"item_id": f.item_id, "candidate_id": cid, "reason": REASON,
                                                        "detail": ""})
            entry["detail"] = "; ".join(filter(None, [entry["detail"], detail]))[:1000]
    queue = enqueue or _review_queue()
    if queue is not None:
        queue(store, owner, batch_id, list(items.values()))
    with store.transaction() as db:
        db.execute("UPDATE manipulation_flags SET routed = ? WHERE batch_id = ? AND routed IS NULL",
                   ["review_queue" if queue is not None else "pending", batch_id])
    return len(items)
