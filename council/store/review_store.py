"""Store rows and reads of the human review queue (tables of migration 009), called by :mod:`council.review`.

SQL lives here; :mod:`council.review` decides what to queue, in which order, and what a rating is. Every read
filters by owner. Reviewers' scores go to the ``ratings`` table of migration 003 (rater = the reviewer, kind
``human``) with one ``imports`` row per submission, so agreement, bias and calibration read them like any
imported human rating, and the dashboard views' data version changes with every submission.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from council.store.analysis_store import RATING_COLUMNS
from council.store.store import Store

__all__ = ["QUEUE_ORDER", "claim_next", "complete_review", "entry_row", "open_assignment", "queue_counts",
           "reasons_of", "reviewer_counts", "upsert_entry"]

QUEUE_ORDER = "q.risk_rank DESC, q.uncertainty DESC, q.created_at, q.queue_id"
"""Risk first, then the uncertainty a rating would resolve; ties by age, then id (deterministic)."""


def _now() -> datetime:
    return datetime.now(UTC)


def upsert_entry(store: Store, row: dict[str, Any], reasons: Sequence[tuple[str, str]]) -> tuple[str, bool, int]:
    """Queue a candidate, or merge into its existing entry; return (queue_id, created, reasons added).

    ``row`` holds queue_id (used only when new), owner, batch_id, item_id, candidate_id, attributes (list),
    risk_rank, uncertainty and needed_reviews. An existing entry keeps its id, creation time and needed
    reviews; its attributes become the union, risk and uncertainty the larger of old and new. A reason it
    already has is not added again, so enqueueing the same candidate for the same reason twice changes nothing.
    """
    now = _now()
    with store.transaction() as db:
        found = db.execute(
            "SELECT queue_id, attributes, risk_rank, uncertainty FROM review_queue "
            "WHERE owner = ? AND batch_id = ? AND item_id = ? AND candidate_id = ?",
            [row["owner"], row["batch_id"], row["item_id"], row["candidate_id"]]).fetchone()
        if found is None:
            queue_id, created = row["queue_id"], True
            db.execute("INSERT INTO review_queue VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       [queue_id, row["owner"], row["batch_id"], row["item_id"], row["candidate_id"],
                        json.dumps(list(row["attributes"])), int(row["risk_rank"]), float(row["uncertainty"]),
                        int(row["needed_reviews"]), now, now])
        else:
            queue_id, created = found[0], False
            attributes = json.loads(found[1])
            merged = attributes + [a for a in row["attributes"] if a not in attributes]
            risk, uncertainty = max(found[2], int(row["risk_rank"])), max(found[3], float(row["uncertainty"]))
            if (merged, risk, uncertainty) != (attributes, found[2], found[3]):
                db.execute("UPDATE review_queue SET attributes = ?, risk_rank = ?, uncertainty = ?, updated_at = ? "
                           "WHERE queue_id = ?", [json.dumps(merged), risk, uncertainty, now, queue_id])
        have = {r[0] for r in db.execute("SELECT reason FROM review_reasons WHERE queue_id = ?", [queue_id]).fetchall()}
        new = [(reason, detail) for reason, detail in dict(reasons).items() if reason not in have]
        if new:
            db.executemany("INSERT INTO review_reasons VALUES (?, ?, ?, ?)",
                           [[queue_id, reason, detail, now] for reason, detail in new])
    return queue_id, created, len(new)


def entry_row(store: Store, owner: str, queue_id: str) -> dict[str, Any] | None:
    """An entry of this owner with its reviews done (``reviews_done``), or None (another owner's is None too)."""
    df = store.query(
        "SELECT q.*, (SELECT count(*) FROM review_assignments a WHERE a.queue_id = q.queue_id "
        "AND a.completed_at IS NOT NULL) AS reviews_done FROM review_queue q WHERE q.queue_id = ? AND q.owner = ?",
        [queue_id, owner])
    return None if df.empty else dict(df.iloc[0].to_dict())


def reasons_of(store: Store, queue_id: str) -> list[dict[str, str]]:
    """An entry's reasons with their details, in the order they were added."""
    df = store.query("SELECT reason, detail FROM review_reasons WHERE queue_id = ? ORDER BY created_at, reason",
                     [queue_id])
    return [{"reason": str(r.reason), "detail": str(r.detail)} for r in df.itertuples()]


def open_assignment(store: Store, owner: str, reviewer: str, batch_id: str | None = None) -> str | None:
    """The entry this reviewer was given and has not rated yet (the oldest), or None."""
    df = store.query(
        "SELECT a.queue_id FROM review_assignments a JOIN review_queue q USING (queue_id) "
        "WHERE q.owner = $owner AND a.reviewer = $reviewer AND a.completed_at IS NULL "
        "AND ($batch IS NULL OR q.batch_id = $batch) ORDER BY a.assigned_at, a.queue_id LIMIT 1",
        {"owner": owner, "reviewer": reviewer, "batch": batch_id})  # type: ignore[arg-type]
    return None if df.empty else str(df.queue_id[0])


def claim_next(store: Store, owner: str, reviewer: str, *, batch_id: str | None = None,
               lease_s: float = 1800.0) -> str | None:
    """Assign the first entry (in :data:`QUEUE_ORDER`) this reviewer may take; return its id, or None.

    An entry may be taken while fewer than its ``needed_reviews`` reviewers rated it or hold a live
    assignment (younger than ``lease_s``), and never by a reviewer who already rated or holds it: an entry
    needing two reviews goes to two different people.
    """
    cutoff = _now() - timedelta(seconds=lease_s)
    with store.transaction() as db:
        row = db.execute(
            f"""
            WITH a AS (SELECT queue_id,
                              count(*) FILTER (WHERE completed_at IS NOT NULL OR assigned_at > $cutoff) AS taken,
                              bool_or(reviewer = $reviewer) AS mine
                       FROM review_assignments GROUP BY queue_id)
            SELECT q.queue_id FROM review_queue q LEFT JOIN a USING (queue_id)
            WHERE q.owner = $owner AND ($batch IS NULL OR q.batch_id = $batch)
              AND NOT coalesce(a.mine, false) AND coalesce(a.taken, 0) < q.needed_reviews
            ORDER BY {QUEUE_ORDER} LIMIT 1""",
            {"cutoff": cutoff, "reviewer": reviewer, "owner": owner, "batch": batch_id}).fetchone()
        if row is None:
            return None
        db.execute("INSERT INTO review_assignments VALUES (?, ?, ?, NULL, NULL)", [row[0], reviewer, _now()])
    return str(row[0])


def complete_review(store: Store, entry: dict[str, Any], reviewer: str, ratings: pd.DataFrame,
                    import_row: dict[str, Any], note: str | None) -> bool:
    """Write a reviewer's ratings of one entry and mark the review done; return True when it replaced earlier ones.

    ``ratings`` has every :data:`~council.store.analysis_store.RATING_COLUMNS` column except ``seq``. The
    reviewer's earlier ratings of the same target (a re-rating) are deleted first, so a target holds one
    rating per reviewer and attribute.
    """
    with store.transaction() as db:
        target = str(ratings["target"].iloc[0])
        before = db.execute("SELECT count(*) FROM ratings WHERE owner = ? AND batch_id = ? AND target = ? AND "
                            "rater = ?", [entry["owner"], entry["batch_id"], target, reviewer]).fetchall()[0][0]
        db.execute("DELETE FROM ratings WHERE owner = ? AND batch_id = ? AND target = ? AND rater = ?",
                   [entry["owner"], entry["batch_id"], target, reviewer])
        start = db.execute("SELECT coalesce(max(seq), 0) + 1 FROM ratings").fetchall()[0][0]
        frame = ratings.assign(seq=range(start, start + len(ratings)))[list(RATING_COLUMNS)]
        db.register("_review_ratings", frame)
        try:
            db.execute(f"INSERT INTO ratings SELECT {', '.join(RATING_COLUMNS)} FROM _review_ratings")
        finally:
            db.unregister("_review_ratings")
        db.execute("INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [import_row["import_id"], entry["owner"], None, entry["batch_id"], import_row["source"],
                    json.dumps([reviewer]), len(frame), json.dumps(import_row["report"]), _now()])
        db.execute("INSERT OR REPLACE INTO review_assignments VALUES (?, ?, coalesce((SELECT assigned_at FROM "
                   "review_assignments WHERE queue_id = ? AND reviewer = ?), ?), ?, ?)",
                   [entry["queue_id"], reviewer, entry["queue_id"], reviewer, _now(), _now(), note])
    return bool(before)


def queue_counts(store: Store, owner: str, batch_id: str | None = None) -> pd.DataFrame:
    """Per reason: entries, pending (fewer reviews done than needed), done, double-review entries."""
    return store.query(
        """
        WITH d AS (SELECT queue_id, count(*) FILTER (WHERE completed_at IS NOT NULL) AS done
                   FROM review_assignments GROUP BY queue_id),
             q AS (SELECT q.queue_id, q.needed_reviews, coalesce(d.done, 0) AS done FROM review_queue q
                   LEFT JOIN d USING (queue_id) WHERE q.owner = $owner AND ($batch IS NULL OR q.batch_id = $batch))
        SELECT r.reason, count(*) AS entries, count(*) FILTER (WHERE q.done < q.needed_reviews) AS pending,
               count(*) FILTER (WHERE q.done >= q.needed_reviews) AS done,
               count(*) FILTER (WHERE q.needed_reviews = 2) AS double_review
        FROM q JOIN review_reasons r USING (queue_id) GROUP BY r.reason ORDER BY r.reason""",
        {"owner": owner, "batch": batch_id})  # type: ignore[arg-type]


def reviewer_counts(store: Store, owner: str, batch_id: str | None = None) -> pd.DataFrame:
    """Per reviewer: entries rated and entries assigned but not rated yet."""
    return store.query(
        """
        SELECT a.reviewer, count(*) FILTER (WHERE a.completed_at IS NOT NULL) AS rated,
               count(*) FILTER (WHERE a.completed_at IS NULL) AS assigned
        FROM review_assignments a JOIN review_queue q USING (queue_id)
        WHERE q.owner = $owner AND ($batch IS NULL OR q.batch_id = $batch) GROUP BY a.reviewer ORDER BY a.reviewer""",
        {"owner": owner, "batch": batch_id})  # type: ignore[arg-type]
