"""The human review queue: enqueue candidates with reasons, hand them to reviewers, store their ratings.

- :func:`enqueue` is idempotent: one entry per (owner, batch, item, candidate); the same reason twice is kept once.
- :func:`next_item` gives a reviewer the entry they hold, else the first they may take — risk first, then
  uncertainty — never one they already rated; entries of the double-review share (``needed_reviews`` 2) go to
  two different reviewers, so the human–human ceiling can be measured on them.
- :func:`submit` validates the scores against the protocol's scale (errors name the attribute) and stores them
  as human ratings of the batch with rater = the reviewer, replacing that reviewer's earlier rating of the same
  candidate: agreement, bias and calibration use them at once.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from council.analysis import AnalysisError, NotFoundError
from council.review.priority import HIGH_RISK, candidate_flags, context_risk, double_review, uncertainties
from council.review.types import (
    REASONS,
    RISK_LEVELS,
    EnqueueResult,
    QueueItem,
    QueueStatus,
    ReviewTask,
    SubmitResult,
)
from council.store import analysis_store, review_store
from council.store.store import Store
from council.types import CouncilSpec, content_id
from protocols import Protocol

__all__ = ["DEFAULT_DOUBLE_SHARE", "RESERVED_RATERS", "enqueue", "enqueue_flagged", "judge_scores", "next_item",
           "queue_status", "submit"]

DEFAULT_DOUBLE_SHARE = 0.2
"""Share of queued candidates rated by two reviewers (Krippendorff's advice of ≥ 10–20 % double coding)."""
RESERVED_RATERS = frozenset({"council", "council_calibrated", "human_panel", "human_consensus"})
"""Rater ids the statistics use for derived raters; no reviewer may take them."""
_REVIEWER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@+-]{0,99}$")


class _Batch:
    """A batch of this owner with its protocol, council and candidates."""

    def __init__(self, store: Store, owner: str, batch_id: str) -> None:
        row = analysis_store.batch_row(store, batch_id)
        if row is None or row["owner"] != owner:
            raise NotFoundError("batch_id", f"no batch {batch_id!r}")
        self.id = batch_id
        self.protocol = Protocol.model_validate(json.loads(row["protocol"]))
        self.council = CouncilSpec.model_validate(json.loads(row["council"]))
        cands = store.query("SELECT item_id, candidate_id, responder, text FROM candidates WHERE batch_id = ?",
                            [batch_id])
        self.candidates = {(r.item_id, r.candidate_id): (str(r.responder), str(r.text)) for r in cands.itertuples()}

    @property
    def scale(self) -> tuple[int, int]:
        return self.protocol.scale.min, self.protocol.scale.max


def _check_reviewer(reviewer: str, batch: _Batch | None = None) -> str:
    name = reviewer.strip() if isinstance(reviewer, str) else ""
    if not _REVIEWER.match(name):
        raise AnalysisError("reviewer", "give a name of 1–100 letters, digits, spaces or ._@+- (starting with a "
                                        "letter or digit)")
    if name in RESERVED_RATERS:
        raise AnalysisError("reviewer", f"{name!r} is reserved for a derived rater; choose another name")
    if batch is not None and name in {j.id for j in batch.council.judges}:
        raise AnalysisError("reviewer", f"{name!r} is a judge of this batch's council; choose another name")
    return name


def enqueue(store: Store, owner: str, batch_id: str, items: Sequence[QueueItem], *,
            double_share: float = DEFAULT_DOUBLE_SHARE) -> EnqueueResult:
    """Queue candidates of a batch for human review (idempotent).

    A candidate has one entry whatever the number of reasons; enqueueing it again for a reason it already has
    changes nothing, a new reason is added and raises its priority if the new risk or uncertainty is higher.
    Whether an entry needs two reviewers is decided once, by a hash draw (``double_share``).

    Args:
        store: The store.
        owner: The batch's owner (another owner's batch is not found).
        batch_id: The judged batch.
        items: Candidates with reasons; an item without ``uncertainty`` gets the council's (see
            :mod:`council.review.priority`), one without ``risk_level`` its context's domain risk.
        double_share: Share of entries reviewed by two people (0..1).

    Raises:
        NotFoundError: No such batch for this owner.
        AnalysisError: Naming the field: an unknown candidate or attribute, a bad share.

    """
    if not 0 <= double_share <= 1 or math.isnan(double_share):
        raise AnalysisError("double_share", "must be between 0 and 1")
    batch = _Batch(store, owner, batch_id)
    known = batch.protocol.attribute_ids
    for i, item in enumerate(items):
        if (item.item_id, item.candidate_id) not in batch.candidates:
            raise AnalysisError(f"items.{i}.candidate_id", f"batch has no candidate {item.candidate_id!r} of item "
                                                            f"{item.item_id!r}")
        unknown = [a for a in item.attributes if a not in known]
        if unknown:
            raise AnalysisError(f"items.{i}.attributes", f"{unknown} not in the protocol's attributes {known}")
    risk = context_risk(store, batch_id)
    council_u = uncertainties(store, batch_id, batch.scale)
    created = added = unchanged = 0
    ids = []
    for item in items:
        key = (item.item_id, item.candidate_id)
        rank = RISK_LEVELS.index(item.risk_level) if item.risk_level else risk.get(item.item_id, (0, ""))[0]
        if item.reason in ("risk", "unsafe"):
            rank = max(rank, HIGH_RISK)
        row = {"queue_id": content_id("rq", owner, batch_id, item.item_id, item.candidate_id), "owner": owner,
               "batch_id": batch_id, "item_id": item.item_id, "candidate_id": item.candidate_id,
               "attributes": [a for a in known if a in item.attributes] or known, "risk_rank": rank,
               "uncertainty": item.uncertainty if item.uncertainty is not None else council_u.get(key, 1.0),
               "needed_reviews": 2 if double_review(owner, batch_id, *key, double_share) else 1}
        queue_id, new, n = review_store.upsert_entry(store, row, [(item.reason, item.detail)])
        created, added, unchanged = created + new, added + n, unchanged + (n == 0)
        ids.append(queue_id)
    return EnqueueResult(batch_id=batch_id, created=created, reasons_added=added, unchanged=unchanged,
                         queue_ids=ids)


def enqueue_flagged(store: Store, owner: str, batch_id: str, reasons: Sequence[str] = ("risk", "unsafe"), *,
                    min_uncertainty: float = 0.5, double_share: float = DEFAULT_DOUBLE_SHARE) -> EnqueueResult:
    """Queue what a judged batch itself says needs a person, whatever the scores.

    ``risk``: every candidate of a context a judge's domain agent rated ``high`` or ``imminent``, or whose ToM
    agent found risk signals; ``unsafe``: every candidate a judge's scoring agent flagged ``unsafe_advice``;
    ``low_confidence``: every candidate whose council uncertainty is at least ``min_uncertainty``.

    Raises:
        NotFoundError: No such batch for this owner.
        AnalysisError: An unknown reason (field ``reasons``).

    """
    allowed = ("risk", "unsafe", "low_confidence")
    bad = [r for r in reasons if r not in allowed]
    if bad:
        raise AnalysisError("reasons", f"{bad} cannot be derived from a batch; choose among {list(allowed)} "
                                       f"(other reasons of {list(REASONS)} come with explicit items)")
    batch = _Batch(store, owner, batch_id)
    items: list[QueueItem] = []
    if "risk" in reasons:
        for item_id, (rank, detail) in sorted(context_risk(store, batch_id).items()):
            if rank >= HIGH_RISK:
                items += [QueueItem(item_id=i, candidate_id=c, reason="risk", detail=detail[:1000],
                                    risk_level=RISK_LEVELS[rank])  # type: ignore[arg-type]
                          for i, c in sorted(batch.candidates) if i == item_id]
    if "unsafe" in reasons:
        items += [QueueItem(item_id=i, candidate_id=c, reason="unsafe", detail=detail[:1000])
                  for (i, c), detail in sorted(candidate_flags(store, batch_id).items())]
    if "low_confidence" in reasons:
        items += [QueueItem(item_id=i, candidate_id=c, reason="low_confidence",
                            detail=f"council uncertainty {u:.2f} ≥ {min_uncertainty:.2f}", uncertainty=u)
                  for (i, c), u in sorted(uncertainties(store, batch_id, batch.scale).items()) if u >= min_uncertainty]
    return enqueue(store, owner, batch_id, items, double_share=double_share)


def _task(store: Store, owner: str, queue_id: str) -> ReviewTask:
    entry = review_store.entry_row(store, owner, queue_id)
    if entry is None:
        raise NotFoundError("queue_id", f"no queue entry {queue_id!r}")
    batch = _Batch(store, owner, entry["batch_id"])
    context = store.query("SELECT context FROM items WHERE batch_id = ? AND item_id = ?",
                          [entry["batch_id"], entry["item_id"]]).context[0]
    attributes = json.loads(entry["attributes"])
    p = batch.protocol
    rubric = {"id": p.id, "version": p.version, "name": p.name, "scale": {"min": p.scale.min, "max": p.scale.max},
              "attributes": [{"id": a.id, "name": a.name, "definition": a.definition,
                              "anchors": {str(k): v for k, v in sorted(a.anchors.items())}}
                             for a in p.attributes if a.id in attributes]}
    return ReviewTask(queue_id=queue_id, batch_id=entry["batch_id"], item_id=entry["item_id"],
                      candidate_id=entry["candidate_id"], reasons=review_store.reasons_of(store, queue_id),
                      risk_level=RISK_LEVELS[int(entry["risk_rank"])], uncertainty=float(entry["uncertainty"]),
                      needed_reviews=int(entry["needed_reviews"]), reviews_done=int(entry["reviews_done"]),
                      context=json.loads(context), candidate=batch.candidates[(entry["item_id"],
                                                                                entry["candidate_id"])][1],
                      attributes=attributes, protocol=rubric)


def next_item(store: Store, owner: str, reviewer: str, *, batch_id: str | None = None,
              lease_s: float = 1800.0) -> ReviewTask | None:
    """The entry this reviewer should rate now, assigned to them; None when nothing is left for them.

    An entry they hold and have not rated comes back first (a reload does not take a second one). Otherwise
    the first entry in queue order (risk rank, then uncertainty, both descending) that fewer than its needed
    reviewers rated or hold (an assignment older than ``lease_s`` no longer holds it), and that this reviewer
    never rated. ``batch_id`` limits the queue to one batch.

    Raises:
        AnalysisError: A reviewer name that is empty, too long or reserved (field ``reviewer``).
        NotFoundError: ``batch_id`` is not a batch of this owner.

    """
    name = _check_reviewer(reviewer)
    if batch_id is not None:
        _Batch(store, owner, batch_id)
    queue_id = review_store.open_assignment(store, owner, name, batch_id) or review_store.claim_next(
        store, owner, name, batch_id=batch_id, lease_s=lease_s)
    return None if queue_id is None else _task(store, owner, queue_id)


def _check_scores(scores: Mapping[str, Any], attributes: Sequence[str], batch: _Batch) -> dict[str, int]:
    lo, hi = batch.scale
    known = batch.protocol.attribute_ids
    out: dict[str, int] = {}
    for attribute, value in scores.items():
        field = f"scores.{attribute}"
        if attribute not in known:
            raise AnalysisError(field, f"not an attribute of protocol {batch.protocol.id} ({', '.join(known)})")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise AnalysisError(field, f"must be a number on the scale {lo}–{hi}")
        if value != int(value) or not lo <= value <= hi:
            raise AnalysisError(field, f"{value} is not a point of the scale {lo}–{hi}")
        out[attribute] = int(value)
    missing = [a for a in attributes if a not in out]
    if missing:
        raise AnalysisError(f"scores.{missing[0]}", f"missing: score every queued attribute ({', '.join(missing)})")
    return out


def submit(store: Store, owner: str, reviewer: str, queue_id: str, scores: Mapping[str, Any],
           note: str | None = None) -> SubmitResult:
    """Store a reviewer's scores of a queued candidate as human ratings of its batch (rater = the reviewer).

    A re-submission by the same reviewer replaces their earlier rating of that candidate (no duplicate);
    each submission is recorded as an import, so the views recompute.

    Raises:
        NotFoundError: No such entry for this owner (field ``queue_id``).
        AnalysisError: Naming the field: ``reviewer``, ``scores.<attribute>`` (unknown, missing, off the scale),
            ``note`` (too long).

    """
    entry = review_store.entry_row(store, owner, queue_id)
    if entry is None:
        raise NotFoundError("queue_id", f"no queue entry {queue_id!r}")
    batch = _Batch(store, owner, entry["batch_id"])
    name = _check_reviewer(reviewer, batch)
    if note is not None and len(note) > 4000:
        raise AnalysisError("note", "at most 4,000 characters")
    values = _check_scores(scores, json.loads(entry["attributes"]), batch)
    item_id, candidate_id = entry["item_id"], entry["candidate_id"]
    responder, text = batch.candidates[(item_id, candidate_id)]
    import_id = analysis_store.new_id("rev")
    frame = pd.DataFrame({
        "owner": owner, "dataset": None, "batch_id": entry["batch_id"], "target": f"{item_id}:{candidate_id}",
        "rater": name, "rater_kind": "human", "family": "human", "attribute": list(values),
        "score": [float(v) for v in values.values()], "out_of_scale": False, "excluded": None, "context": item_id,
        "responder": responder, "responder_family": None, "length": float(len(text)), "sample": 0,
        "import_id": import_id})
    report = {"source": f"review:{queue_id}", "reviewer": name, "attributes": list(values)}
    replaced = review_store.complete_review(store, entry, name, frame,
                                            {"import_id": import_id, "source": f"review:{queue_id}",
                                             "report": report}, note or None)
    done = review_store.entry_row(store, owner, queue_id)
    return SubmitResult(queue_id=queue_id, batch_id=entry["batch_id"], reviewer=name, n_ratings=len(frame),
                        replaced=replaced, reviews_done=int(done["reviews_done"]) if done else 0,
                        needed_reviews=int(entry["needed_reviews"]))


def queue_status(store: Store, owner: str, batch_id: str | None = None) -> QueueStatus:
    """Entries per reason (pending / done / double review), per reviewer, and in total.

    Raises:
        NotFoundError: ``batch_id`` is not a batch of this owner.

    """
    if batch_id is not None:
        _Batch(store, owner, batch_id)
    reasons = review_store.queue_counts(store, owner, batch_id)
    totals = store.query(
        """
        WITH d AS (SELECT queue_id, count(*) FILTER (WHERE completed_at IS NOT NULL) AS done
                   FROM review_assignments GROUP BY queue_id)
        SELECT count(*) AS entries, count(*) FILTER (WHERE coalesce(d.done, 0) < q.needed_reviews) AS pending,
               count(*) FILTER (WHERE q.needed_reviews = 2) AS double_review
        FROM review_queue q LEFT JOIN d USING (queue_id) WHERE q.owner = $owner AND ($batch IS NULL
        OR q.batch_id = $batch)""", {"owner": owner, "batch": batch_id}).iloc[0]  # type: ignore[arg-type]
    reviewers = review_store.reviewer_counts(store, owner, batch_id)
    entries, pending = int(totals["entries"]), int(totals["pending"])
    return QueueStatus(batch_id=batch_id, entries=entries, pending=pending, done=entries - pending,
                       double_review=int(totals["double_review"]),
                       reasons=[{k: (int(v) if k != "reason" else str(v)) for k, v in r.items()}
                                for r in reasons.to_dict("records")],
                       reviewers=[{k: (int(v) if k != "reviewer" else str(v)) for k, v in r.items()}
                                  for r in reviewers.to_dict("records")])


def judge_scores(store: Store, owner: str, queue_id: str) -> dict[str, Any]:
    """The judges' and the council's scores of a queued candidate — shown to a reviewer only on request.

    Raises:
        NotFoundError: No such entry for this owner.

    """
    entry = review_store.entry_row(store, owner, queue_id)
    if entry is None:
        raise NotFoundError("queue_id", f"no queue entry {queue_id!r}")
    key = [entry["batch_id"], entry["item_id"], entry["candidate_id"]]
    judges = store.query("SELECT judge_id, attribute_id AS attribute, score, confidence, abstention FROM judge_scores "
                         "WHERE batch_id = ? AND item_id = ? AND candidate_id = ? ORDER BY judge_id, attribute_id",
                         key)
    council = store.query("SELECT attribute_id AS attribute, score, calibrated_mean AS calibrated_score, spread, "
                          "confidence, status FROM council_scores WHERE batch_id = ? AND item_id = ? AND "
                          "candidate_id = ? ORDER BY attribute_id", key)
    return {"queue_id": queue_id, "judges": json.loads(judges.to_json(orient="records")),
            "council": json.loads(council.to_json(orient="records"))}
