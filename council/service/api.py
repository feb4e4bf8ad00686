"""The FastAPI application of the service: routes under /v1, bearer-key auth, limits, error bodies.

Routes only authenticate, validate and forward to the core deployment; they compute nothing.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from council.analysis import AnalysisError, NotFoundError
from council.service.config import hash_key
from council.service.core import NotFound, RequestError
from council.service.schemas import (
    AgreementRequest,
    ApplyCalibration,
    BatchAccepted,
    BatchRequest,
    BatchStatus,
    CalibrationRequest,
    Estimate,
    ProtocolSummary,
    RatingsUpload,
    error_body,
)
from judges.errors import ConfigError

__all__ = ["BodyLimit", "make_api", "owner_of"]

log = logging.getLogger(__name__)

router = APIRouter()


class BodyLimit:
    """ASGI middleware answering 413 when a request body exceeds the limit (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or answer 413 once its body is known to exceed the limit."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit():
            if int(declared) > self.max_bytes:
                await self._too_large(send)
            else:  # the server holds the body to its declared length
                await self.app(scope, receive, send)
            return
        # No declared length (chunked): read the body here, up to the limit, then replay it to the app.
        # An exception raised from inside the app's receive would reach FastAPI's body parsing (a 400).
        chunks: list[bytes] = []
        seen, more = 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            if seen > self.max_bytes:
                await self._too_large(send)
                return
            more = message.get("more_body", False)
        replay: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay_receive() -> Message:
            return replay.pop() if replay else await receive()

        await self.app(scope, replay_receive, send)

    async def _too_large(self, send: Send) -> None:
        response = JSONResponse(error_body(f"request body exceeds {self.max_bytes} bytes", field="body"), 413)
        await response({"type": "http"}, _empty_receive, send)


async def _empty_receive() -> Message:
    return {"type": "http.request", "body": b""}


def owner_of(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
    """The owner of the bearer key in the Authorization header; 401 otherwise."""
    keys: dict[str, str] = request.app.state.api_keys
    if not authorization or not authorization.lower().startswith("bearer "):
        raise _Unauthorized("missing bearer API key (Authorization: Bearer <key>)")
    owner = keys.get(hash_key(authorization[7:].strip()))
    if owner is None:
        raise _Unauthorized("unknown API key")
    return owner


class _Unauthorized(Exception):
    pass


Owner = Annotated[str, Depends(owner_of)]


async def _unauthorized(_: Request, e: _Unauthorized) -> JSONResponse:
    return JSONResponse(error_body(str(e), field="Authorization"), 401, headers={"WWW-Authenticate": "Bearer"})


async def _invalid(_: Request, e: RequestValidationError) -> JSONResponse:
    problems = [{"field": ".".join(str(p) for p in err["loc"] if p != "body"), "message": err["msg"]}
                for err in e.errors()[:20]]
    first = problems[0] if problems else {"field": "body", "message": "invalid request"}
    return JSONResponse(error_body(f"{first['field']}: {first['message']}", field=first["field"],
                                  problems=problems), 422)


async def _not_found(_: Request, e: NotFound) -> JSONResponse:
    return JSONResponse(error_body(str(e).strip("'\"")), 404)


async def _bad_request(_: Request, e: RequestError) -> JSONResponse:
    return JSONResponse(error_body(str(e), field=e.field), e.status)


async def _analysis_not_found(_: Request, e: NotFoundError) -> JSONResponse:
    return JSONResponse(error_body(str(e), field=e.field), 404)


async def _analysis(_: Request, e: AnalysisError) -> JSONResponse:
    return JSONResponse(error_body(str(e), field=e.field), 422)


async def _http_error(_: Request, e: StarletteHTTPException) -> JSONResponse:
    """Framework errors (unknown route, wrong method, unreadable body) in the same error body as ours."""
    return JSONResponse(error_body(str(e.detail)), e.status_code, headers=e.headers)


async def _config(_: Request, e: ConfigError) -> JSONResponse:
    return JSONResponse(error_body(str(e)), 422)


async def _internal(_: Request, e: Exception) -> JSONResponse:
    log.exception("unhandled error")  # the trace goes to the log, never to the client
    return JSONResponse(error_body("internal error"), 500)


def core_of(request: Request) -> Any:
    """The handle of the core deployment."""
    return request.app.state.core


@router.get("/healthz", tags=["ops"])
async def healthz(request: Request) -> dict[str, Any]:
    """Liveness and readiness: the core answers and its store is open."""
    return await core_of(request).health.remote()


@router.get("/metrics", tags=["ops"], response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus metrics: LLM calls (made, cached, failed), tokens, judgments by outcome, and Ray Serve's own."""
    text = await core_of(request).metrics_text.remote()
    return Response(text, media_type="text/plain; version=0.0.4")


@router.post("/v1/batches", status_code=202, response_model=BatchAccepted | Estimate, tags=["batches"],
          responses={200: {"model": Estimate, "description": "dry run: the estimate, nothing stored"}})
async def submit_batch(request: Request, body: BatchRequest, owner: Owner,
                       idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> Any:
    """Validate and queue a batch (202 with its id); `dry_run: true` answers the estimate (200) instead."""
    if body.dry_run:
        return JSONResponse((await core_of(request).estimate.remote(owner, body)).model_dump(), 200)
    return await core_of(request).submit.remote(owner, body, idempotency_key)


@router.post("/v1/estimate", response_model=Estimate, tags=["batches"])
async def estimate(request: Request, body: BatchRequest, owner: Owner) -> Estimate:
    """Calls and tokens a batch would need (upper bounds), without storing or running it."""
    return await core_of(request).estimate.remote(owner, body)


@router.get("/v1/batches", tags=["batches"])
async def list_batches(request: Request, owner: Owner) -> list[dict[str, Any]]:
    """This key's batches, newest first."""
    return await core_of(request).list_batches.remote(owner)


@router.get("/v1/batches/{batch_id}", response_model=BatchStatus, tags=["batches"])
async def batch_status(request: Request, batch_id: str, owner: Owner) -> BatchStatus:
    """Status, progress counts (contexts, candidates, calls done / cached / failed), abstentions, tokens, cost."""
    return await core_of(request).status.remote(owner, batch_id)


@router.get("/v1/batches/{batch_id}/results", tags=["batches"],
         responses={200: {"content": {"application/json": {}, "text/csv": {}, "application/vnd.apache.parquet": {}}}})
async def batch_results(request: Request, batch_id: str, owner: Owner,
                        format: Annotated[str, Query(pattern="^(json|csv|parquet)$")] = "json",
                        traces: bool = False) -> Response:
    """Raw per-judge, council and calibrated scores as JSON, CSV or Parquet; agent traces with `traces=true`."""
    media_type, content = await core_of(request).results.remote(owner, batch_id, format, traces)
    return Response(content, media_type=media_type)


@router.post("/v1/batches/{batch_id}/cancel", response_model=BatchStatus, tags=["batches"])
async def cancel_batch(request: Request, batch_id: str, owner: Owner) -> BatchStatus:
    """Stop a batch: no further calls; stored judgments stay."""
    return await core_of(request).cancel.remote(owner, batch_id)


@router.get("/v1/protocols", response_model=list[ProtocolSummary], tags=["protocols"])
async def protocols(request: Request, owner: Owner) -> list[ProtocolSummary]:
    """Shipped protocols and this key's own."""
    return await core_of(request).protocols.remote(owner)


@router.post("/v1/protocols", response_model=ProtocolSummary, status_code=201, tags=["protocols"])
async def add_protocol(request: Request, body: dict[str, Any], owner: Owner) -> ProtocolSummary:
    """Add a custom rubric, validated like the shipped ones (an anchor per scale point, known composites)."""
    return await core_of(request).add_protocol.remote(owner, body)


async def _analysis_call(request: Request, method: str, owner: str, *args: Any) -> Any:
    return await core_of(request).analysis_call.remote(method, owner, *args)


@router.post("/v1/ratings", status_code=201, tags=["ratings"])
async def import_ratings(request: Request, body: RatingsUpload, owner: Owner) -> dict[str, Any]:
    """Import human or external-judge ratings (CSV/JSONL, long or wide) for a dataset or a batch.

    Answers the import report: per rater × attribute, what was kept, out of scale, blank, non-numeric.
    """
    return await _analysis_call(request, "import_ratings", owner, body)


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
                    "human ratings, measure agreement and bias, fit calibrations. Every /v1 route needs "
                    "`Authorization: Bearer <key>`; a key sees only its own batches, ratings, reports and "
                    "calibrations.",
    )
    app.state.core = core
    app.state.api_keys = api_keys
    app.include_router(router)
    from council.service.views_api import router as views_router  # the dashboard's views (imports this module)
    app.include_router(views_router)
    for exc, handler in ((_Unauthorized, _unauthorized), (RequestValidationError, _invalid), (NotFound, _not_found),
                         (NotFoundError, _analysis_not_found), (AnalysisError, _analysis), (RequestError, _bad_request),
                         (ConfigError, _config), (Exception, _internal)):
        app.add_exception_handler(exc, handler)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    return app
