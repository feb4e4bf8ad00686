"""The FastAPI application of the service: routes under /v1, bearer-key auth, limits, error bodies.

Routes only authenticate, validate and forward to the core deployment (through
:func:`council.service.http.call_core`); they compute nothing. Errors follow one contract
(:mod:`council.service.errors`, :mod:`council.service.handlers`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, Response

from council.service.gates_api import router as gates_router
from council.service.handlers import install_handlers
from council.service.http import Owner, call_core, valid_text
from council.service.middleware import BodyLimit, CorrelationId
from council.service.review_api import router as review_router
from council.service.schemas import (
    AgreementRequest,
    ApplyCalibration,
    BatchAccepted,
    BatchRequest,
    BatchStatus,
    CalibrationRequest,
    Estimate,
    PairwiseUpload,
    ProtocolSummary,
    RatingsUpload,
)
from council.service.views_api import router as views_router

__all__ = ["make_api"]

router = APIRouter(dependencies=[Depends(valid_text)])


@router.get("/healthz", tags=["ops"])
async def healthz(request: Request) -> dict[str, Any]:
    """Liveness and readiness: the core answers and its store is open (``{"status": "ok"}``, nothing else)."""
    return await call_core(request, "health")


@router.get("/metrics", tags=["ops"], response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus metrics: LLM calls (made, cached, failed), tokens, judgments by outcome, and Ray Serve's own."""
    text = await call_core(request, "metrics_text")
    return Response(text, media_type="text/plain; version=0.0.4")


@router.post("/v1/batches", status_code=202, response_model=BatchAccepted | Estimate, tags=["batches"],
          responses={200: {"model": Estimate, "description": "dry run: the estimate, nothing stored"}})
async def submit_batch(request: Request, body: BatchRequest, owner: Owner,
                       idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> Any:
    """Validate and queue a batch (202 with its id); `dry_run: true` answers the estimate (200) instead."""
    if body.dry_run:
        return JSONResponse((await call_core(request, "estimate", owner, body)).model_dump(), 200)
    return await call_core(request, "submit", owner, body, idempotency_key)


@router.post("/v1/estimate", response_model=Estimate, tags=["batches"])
async def estimate(request: Request, body: BatchRequest, owner: Owner) -> Estimate:
    """Calls and tokens a batch would need (upper bounds), without storing or running it."""
    return await call_core(request, "estimate", owner, body)


@router.get("/v1/batches", tags=["batches"])
async def list_batches(request: Request, owner: Owner,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 1000) -> list[dict[str, Any]]:
    """This key's batches, newest first (at most `limit`)."""
    return await call_core(request, "list_batches", owner, limit)


@router.get("/v1/batches/{batch_id}", response_model=BatchStatus, tags=["batches"])
async def batch_status(request: Request, batch_id: str, owner: Owner) -> BatchStatus:
    """Status, progress counts (contexts, candidates, calls done / cached / failed), abstentions, tokens, cost."""
    return await call_core(request, "status", owner, batch_id)


@router.get("/v1/batches/{batch_id}/results", tags=["batches"],
         responses={200: {"content": {"application/json": {}, "text/csv": {}, "application/vnd.apache.parquet": {}}}})
async def batch_results(request: Request, batch_id: str, owner: Owner,
                        format: Annotated[str, Query(pattern="^(json|csv|parquet)$")] = "json",
                        traces: bool = False, limit: Annotated[int | None, Query(ge=1)] = None,
                        offset: Annotated[int, Query(ge=0, le=10**12)] = 0) -> Response:
    """Raw per-judge, council and calibrated scores as JSON, CSV or Parquet; agent traces with `traces=true`.

    One page of rows: `limit` (default and maximum: the service's `max_page`) from `offset`; when more rows
    follow, the JSON body's `next_offset` and the `X-Next-Offset` header say where the next page starts.
    """
    media_type, content, next_offset = await call_core(request, "results", owner, batch_id, format, traces,
                                                       limit, offset)
    headers = {"X-Next-Offset": str(next_offset)} if next_offset is not None else None
    return Response(content, media_type=media_type, headers=headers)


@router.get("/v1/batches/{batch_id}/pairwise", tags=["batches"])
async def batch_pairwise(request: Request, batch_id: str, owner: Owner,
                         n_boot: Annotated[int, Query(ge=10)] = 1000,
                         seed: Annotated[int, Query(ge=0, le=2**32 - 1)] = 0,
                         absolute_batch: Annotated[str | None, Query(max_length=200)] = None) -> dict[str, Any]:
    """A pairwise batch's report, every statistic with a cluster-bootstrap CI over contexts.

    Bradley–Terry leaderboards (strength, rank interval, separability of neighbours); per judge position
    consistency, first-position preference, self-preference (families from the council spec and the items'
    `meta.responder_families`; who is skipped is listed) and length preference; Kendall τ of the pairwise
    ranking against the absolute ranking of `absolute_batch`, or by default of your newest absolute batch
    with exactly the same item ids (`absolute.absolute_batch` says which; `chosen: none` when there is none).
    """
    return await call_core(request, "pairwise_report", owner, batch_id, n_boot, seed, absolute_batch)


@router.post("/v1/batches/{batch_id}/cancel", response_model=BatchStatus, tags=["batches"])
async def cancel_batch(request: Request, batch_id: str, owner: Owner) -> BatchStatus:
    """Stop a batch: no further calls; stored judgments stay."""
    return await call_core(request, "cancel", owner, batch_id)


@router.get("/v1/protocols", response_model=list[ProtocolSummary], tags=["protocols"])
async def protocols(request: Request, owner: Owner) -> list[ProtocolSummary]:
    """Shipped protocols and this key's own."""
    return await call_core(request, "protocols", owner)


@router.post("/v1/protocols", response_model=ProtocolSummary, status_code=201, tags=["protocols"])
async def add_protocol(request: Request, body: dict[str, Any], owner: Owner) -> ProtocolSummary:
    """Add a custom rubric, validated like the shipped ones (an anchor per scale point, known composites)."""
    return await call_core(request, "add_protocol", owner, body)


async def _analysis_call(request: Request, method: str, owner: str, *args: Any) -> Any:
    return await call_core(request, "analysis_call", method, owner, *args)


@router.post("/v1/ratings", status_code=201, tags=["ratings"])
async def import_ratings(request: Request, body: RatingsUpload, owner: Owner) -> dict[str, Any]:
    """Import human or external-judge ratings (CSV/JSONL, long or wide) for a dataset or a batch.

    Answers the import report: per rater × attribute, what was kept, out of scale, blank, non-numeric.
    """
    return await _analysis_call(request, "import_ratings", owner, body)


@router.post("/v1/batches/{batch_id}/pairwise/human", status_code=201, tags=["ratings"])
async def import_human_pairwise(request: Request, batch_id: str, body: PairwiseUpload, owner: Owner) -> dict[str, Any]:
    """Import human pairwise preferences (CSV/JSONL) onto one of your batches.

    Rows: item_id, candidate_a/candidate_b (or responder_a/responder_b), preference A|B|tie, attribute, rater.
    Importing a (rater, attribute) again replaces its earlier preferences; errors are 422 naming the field and rows.
    """
    return await _analysis_call(request, "import_pairwise", owner, batch_id, body)


@router.get("/v1/batches/{batch_id}/pairwise/human", tags=["agreement"])
async def human_pairwise(request: Request, batch_id: str, owner: Owner,
                         n_boot: Annotated[int, Query(ge=10)] = 1000,
                         seed: Annotated[int, Query(ge=0, le=2**32 - 1)] = 0) -> dict[str, Any]:
    """A pairwise batch against its human preferences, each statistic with a cluster-bootstrap CI over contexts.

    Kendall τ of the BT rankings, pair agreement per judge and council, and the human–human ceiling.
    """
    return await _analysis_call(request, "human_pairwise", owner, batch_id, n_boot, seed)


@router.get("/v1/datasets", tags=["ratings"])
async def datasets(request: Request, owner: Owner) -> list[dict[str, Any]]:
    """This key's rating datasets."""
    return await _analysis_call(request, "datasets", owner)


@router.post("/v1/agreement", status_code=201, tags=["agreement"])
async def agreement(request: Request, body: AgreementRequest, owner: Owner) -> dict[str, Any]:
    """Compute and store an agreement (or bias) report.

    Flat records naming rater, reference, attribute, level, statistic (e.g. "ICC(A,1)"), value, CI, n, k.
    """
    return await _analysis_call(request, "agreement", owner, body)


@router.get("/v1/agreement", tags=["agreement"])
async def reports(request: Request, owner: Owner) -> list[dict[str, Any]]:
    """This key's stored reports (without records)."""
    return await _analysis_call(request, "reports", owner)


@router.get("/v1/agreement/{report_id}", tags=["agreement"])
async def report(request: Request, report_id: str, owner: Owner) -> dict[str, Any]:
    """A stored report with its records."""
    return await _analysis_call(request, "report", owner, report_id)


@router.post("/v1/calibrations", status_code=201, tags=["calibrations"])
async def calibrate(request: Request, body: CalibrationRequest, owner: Owner) -> dict[str, Any]:
    """Fit a calibration, cross-validate it (K folds grouped by context) and store it as a versioned record."""
    return await _analysis_call(request, "calibrate", owner, body)


@router.get("/v1/calibrations", tags=["calibrations"])
async def calibrations(request: Request, owner: Owner) -> list[dict[str, Any]]:
    """This key's calibrations."""
    return await _analysis_call(request, "calibrations", owner)


@router.get("/v1/calibrations/{calibration_id}", tags=["calibrations"])
async def calibration(request: Request, calibration_id: str, owner: Owner) -> dict[str, Any]:
    """A stored calibration: method, training data, CV metrics, parameters."""
    return await _analysis_call(request, "calibration", owner, calibration_id)


@router.post("/v1/calibrations/{calibration_id}/apply", tags=["calibrations"])
async def apply_calibration(request: Request, calibration_id: str, body: ApplyCalibration,
                            owner: Owner) -> dict[str, Any]:
    """Write the calibration's scores beside the raw ones of one of your batches.

    Councils naming a calibration get this automatically for new batches.
    """
    return await _analysis_call(request, "apply", owner, calibration_id, body.batch_id)


def make_api(core: Any, api_keys: dict[str, str], max_body_bytes: int) -> FastAPI:
    """The FastAPI app of one ingress replica, bound to the core deployment's handle and the key hashes."""
    app = FastAPI(
        title="Affective Council",
        version="1.0",
        description="Councils of LLM judges for emotional-support responses: submit batches, read results, import "
                    "human ratings, measure agreement and bias, fit calibrations, review queued candidates. "
                    "Every /v1 route needs "
                    "`Authorization: Bearer <key>`; a key sees only its own batches, ratings, reports and "
                    "calibrations. Errors are `{error, field, correlation_id}`.",
    )
    app.state.core = core
    app.state.api_keys = api_keys
    app.include_router(router)
    app.include_router(views_router)
    app.include_router(review_router)
    app.include_router(gates_router)
    install_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(CorrelationId)  # outermost: the 413 and every error body carry the id
    return app
