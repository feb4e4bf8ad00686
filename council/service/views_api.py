"""HTTP routes of the dashboard's read-only views: ``GET /v1/views/...`` (bearer auth, scoped by owner).

Routes only validate query parameters and forward to the core deployment's ``views_call``; the views are
computed and cached next to the store (:mod:`council.service.views`). Scope parameters: exactly one of
``dataset`` or ``batch_id``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from council.service.http import Owner, call_core

__all__ = ["router"]

router = APIRouter(prefix="/v1/views", tags=["views"])

Dataset = Annotated[str | None, Query(max_length=200, description="A dataset name ...")]
BatchId = Annotated[str | None, Query(max_length=200, description="... or a batch id.")]
Seed = Annotated[int, Query(ge=0, le=2**32 - 1, description="Seed of the bootstrap.")]


async def _call(request: Request, method: str, owner: str, *args: Any) -> Any:
    return await call_core(request, "views_call", method, owner, *args)


@router.get("/overview")
async def overview(request: Request, owner: Owner) -> dict[str, Any]:
    """Batches (status, progress, tokens, cost, council members), abstention rate per judge, and datasets."""
    return await _call(request, "overview", owner)


@router.get("/agreement")
async def agreement(
    request: Request,
    owner: Owner,
    dataset: Dataset = None,
    batch_id: BatchId = None,
    n_boot: Annotated[int, Query(ge=0, le=2000)] = 0,
    seed: Seed = 0,
) -> dict[str, Any]:
    """Agreement of every judge and the council (raw and calibrated) with the human reference.

    Per attribute and composite, item and system level (six ICC forms with CIs, correlations, κ, α, CCC, bias ...), the
    human–human ceiling when present, and pairwise judge–judge records. ``n_boot`` > 0 adds
    cluster-bootstrap CIs over contexts.
    """
    return await _call(request, "agreement", owner, dataset, batch_id, n_boot, seed)


@router.get("/bias")
async def bias(
    request: Request,
    owner: Owner,
    dataset: Dataset = None,
    batch_id: BatchId = None,
    attribute: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Bias records, binned Bland–Altman points and score histograms.

    Source-model, self-preference, length and run-spread bias records; Bland–Altman points of one
    attribute; score histograms of every rater and attribute.
    """
    return await _call(request, "bias", owner, dataset, batch_id, attribute)


@router.get("/leaderboard")
async def leaderboard(
    request: Request,
    owner: Owner,
    dataset: Dataset = None,
    batch_id: BatchId = None,
    rater: Annotated[str, Query(max_length=200)] = "council",
    n_boot: Annotated[int, Query(ge=10, le=5000)] = 1000,
    seed: Seed = 0,
) -> dict[str, Any]:
    """Responders ranked by a rater's mean score per attribute and composite.

    With seeded cluster-bootstrap CIs over contexts, rank intervals, and whether each rank is separable from the next.
    """
    return await _call(request, "leaderboard", owner, dataset, batch_id, rater, n_boot, seed)


@router.get("/items")
async def items(
    request: Request, owner: Owner, dataset: Dataset = None, batch_id: BatchId = None
) -> dict[str, Any]:
    """Items ranked for human review.

    A batch's items with judge disagreement (spread, SD), risk level and abstentions, or a dataset's
    contexts with judge disagreement: what a human should review first.
    """
    return await _call(request, "items", owner, dataset, batch_id)


@router.get("/items/{item_id}")
async def item(
    request: Request, item_id: str, owner: Owner, dataset: Dataset = None, batch_id: BatchId = None
) -> dict[str, Any]:
    """One item in detail.

    Context, candidates, each judge's ToM and domain outputs, scores, rationales (batch); or one
    context's scores by every rater (dataset).
    """
    return await _call(request, "item", owner, item_id, dataset, batch_id)
