"""The review part of the service core: the human review queue over the core's store, scoped by owner.

Each call runs the :mod:`council.review` function in a worker thread (the store serialises access), so a
refit — a calibration's cross-validation — never stalls the event loop that serves the judge replicas.
"""

from __future__ import annotations

import asyncio
from typing import Any

from council.review import enqueue, enqueue_flagged, judge_scores, next_item, queue_status, refit, submit
from council.service.review_schemas import EnqueueRequest, RefitRequest, ReviewRatings
from council.store.store import Store

__all__ = ["ReviewService"]


class ReviewService:
    """Review endpoints over the core's store; every answer is JSON-ready."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def enqueue(self, owner: str, body: EnqueueRequest) -> dict[str, Any]:
        """Queue the batch's flagged candidates (``reasons``) and the explicit ``items``; answer the counts."""

        def run() -> dict[str, Any]:
            results = []
            if body.reasons:
                results.append(enqueue_flagged(self.store, owner, body.batch_id, body.reasons,
                                               min_uncertainty=body.min_uncertainty, double_share=body.double_share))
            if body.items or not body.reasons:
                results.append(enqueue(self.store, owner, body.batch_id, body.items, double_share=body.double_share))
            return {"batch_id": body.batch_id, "created": sum(r.created for r in results),
                    "reasons_added": sum(r.reasons_added for r in results),
                    "unchanged": sum(r.unchanged for r in results),
                    "queue_ids": list(dict.fromkeys(q for r in results for q in r.queue_ids))}

        return await asyncio.to_thread(run)

    async def next(self, owner: str, reviewer: str, batch_id: str | None) -> dict[str, Any]:
        """The reviewer's next entry (assigned to them), or ``{"item": null}`` when nothing is left for them."""
        task = await asyncio.to_thread(next_item, self.store, owner, reviewer, batch_id=batch_id)
        return {"item": task.model_dump(mode="json") if task is not None else None}

    async def ratings(self, owner: str, queue_id: str, body: ReviewRatings) -> dict[str, Any]:
        """Store a reviewer's scores of an entry as human ratings of its batch."""
        result = await asyncio.to_thread(submit, self.store, owner, body.reviewer, queue_id, body.scores, body.note)
        return result.model_dump(mode="json")

    async def queue(self, owner: str, batch_id: str | None) -> dict[str, Any]:
        """Counts per reason (pending / done), per reviewer and in total."""
        return (await asyncio.to_thread(queue_status, self.store, owner, batch_id)).model_dump(mode="json")

    async def scores(self, owner: str, queue_id: str) -> dict[str, Any]:
        """The judges' and the council's scores of an entry (for a reviewer who asks to see them)."""
        return await asyncio.to_thread(judge_scores, self.store, owner, queue_id)

    async def refit(self, owner: str, body: RefitRequest) -> dict[str, Any]:
        """Refit the calibration of each batch from all its human ratings, then the gate's thresholds."""
        result = await asyncio.to_thread(refit, self.store, owner, body.batch_ids, method=body.method, cv=body.cv,
                                         seed=body.seed)
        return result.model_dump(mode="json")
