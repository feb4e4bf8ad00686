"""HTTP routes of the human review queue: ``/v1/review/...`` (bearer auth, scoped by owner).

Routes only validate and forward to the core deployment's ``review_call``
(:class:`council.service.review_service.ReviewService`). The judges' scores of an entry have their own route,
so a reviewer sees them only on request.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from council.service.http import Owner, call_core, valid_text
from council.service.review_schemas import EnqueueRequest, RefitRequest, ReviewRatings

__all__ = ["router"]

router = APIRouter(prefix="/v1/review", tags=["review"], dependencies=[Depends(valid_text)])

QueueId = Annotated[str, Path(min_length=1, max_length=200, description="A queue entry id (rq_...).")]
BatchFilter = Annotated[str | None, Query(min_length=1, max_length=200, description="Only this batch's entries.")]


async def _call(request: Request, method: str, owner: str, *args: Any) -> Any:
    return await call_core(request, "review_call", method, owner, *args)


@router.post("/enqueue")
async def enqueue(request: Request, body: EnqueueRequest, owner: Owner) -> dict[str, Any]:
    """Queue a judged batch's candidates for human review.

    Derived reasons: ``risk`` (every candidate of a context a judge's domain agent rated high/imminent, or with
    ToM risk signals), ``unsafe`` (flagged unsafe_advice), ``low_confidence``; plus explicit ``items`` (e.g. the
    confidence gate's escalations). Idempotent: the same candidate and reason is queued once.
    """
    return await _call(request, "enqueue", owner, body)


@router.get("/next")
async def next_item(request: Request, owner: Owner,
                    reviewer: Annotated[str, Query(min_length=1, max_length=100, description="Who reviews.")],
                    batch_id: BatchFilter = None) -> dict[str, Any]:
    """The reviewer's next entry — context, candidate, rubric with anchors, why it was queued — assigned to them.

    Risk first, then council uncertainty; never an entry this reviewer already rated; ``{"item": null}`` when
    nothing is left for them. The judges' scores are not included (``GET /v1/review/{queue_id}/scores``).
    """
    return await _call(request, "next", owner, reviewer, batch_id)


@router.post("/{queue_id}/ratings", status_code=201)
async def rate(request: Request, queue_id: QueueId, body: ReviewRatings, owner: Owner) -> dict[str, Any]:
    """Store a reviewer's score per attribute (and note) as human ratings of the batch, rater = the reviewer.

    Scores must be points of the protocol's scale (errors name ``scores.<attribute>``); a re-rating by the
    same reviewer replaces the earlier one.
    """
    return await _call(request, "ratings", owner, queue_id, body)


@router.get("/{queue_id}/scores")
async def scores(request: Request, queue_id: QueueId, owner: Owner) -> dict[str, Any]:
    """The judges' and the council's scores of a queued candidate (shown to reviewers on request only)."""
    return await _call(request, "scores", owner, queue_id)


@router.get("/queue")
async def queue(request: Request, owner: Owner, batch_id: BatchFilter = None) -> dict[str, Any]:
    """Queue counts: entries per reason (pending, done, double review), per reviewer, and in total."""
    return await _call(request, "queue", owner, batch_id)


@router.post("/refit")
async def refit(request: Request, body: RefitRequest, owner: Owner) -> dict[str, Any]:
    """Refit each batch's calibration from all its human ratings (a new version) and the gate's thresholds.

    The gate part answers ``not_configured`` when this build has no confidence gate to refit.
    """
    return await _call(request, "refit", owner, body)
