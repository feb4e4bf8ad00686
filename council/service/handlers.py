"""Exception handlers of the ingress: every failure becomes ``{"error", "field", "correlation_id"}``.

Messages are written for the client; anything unexpected is logged with the correlation id and answered
as a bare "internal error" carrying the same id.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from council.service.errors import ServiceError, error_body, scrub
from council.service.http import ApiError, Unauthorized, correlation_id
from council.service.middleware import HEADER

__all__ = ["install_handlers"]

log = logging.getLogger(__name__)

_STATUS_TEXT = {400: "bad request", 404: "not found", 405: "method not allowed", 413: "request body too large",
                415: "unsupported media type"}


def _answer(request: Request, status: int, message: str, field: str | None = None,
            headers: dict[str, str] | None = None, **extra: object) -> JSONResponse:
    cid = correlation_id(request)
    return JSONResponse(error_body(message, field=field, correlation_id=cid, **extra), status,
                        headers={**(headers or {}), HEADER: cid})


async def _unauthorized(request: Request, e: Unauthorized) -> JSONResponse:
    return _answer(request, 401, str(e), "Authorization", {"WWW-Authenticate": "Bearer"})


async def _invalid(request: Request, e: RequestValidationError) -> JSONResponse:
    problems = [{"field": ".".join(str(p) for p in err["loc"] if p != "body"), "message": scrub(str(err["msg"]))}
                for err in e.errors()[:20]]
    first = problems[0] if problems else {"field": "body", "message": "invalid request"}
    return _answer(request, 422, f"{first['field']}: {first['message']}", first["field"] or "body",
                   problems=problems)


async def _api_error(request: Request, e: ApiError) -> JSONResponse:
    extra = {"problems": e.answer.problems} if e.answer.problems else {}
    return _answer(request, e.answer.status, e.answer.error, e.answer.field, **extra)


async def _service_error(request: Request, e: ServiceError) -> JSONResponse:
    return _answer(request, e.status, e.message, e.field)


async def _http_error(request: Request, e: StarletteHTTPException) -> JSONResponse:
    """Framework errors (unknown route, wrong method, unreadable body) in the same error body as ours."""
    message = _STATUS_TEXT.get(e.status_code, "request refused")
    if isinstance(e.detail, str) and e.status_code < 500:
        message = e.detail
    return _answer(request, e.status_code, message, headers=dict(e.headers or {}))


async def _internal(request: Request, e: Exception) -> JSONResponse:
    cid = correlation_id(request)
    log.error("unhandled error in %s %s [correlation_id=%s]", request.method, request.url.path, cid, exc_info=e)
    return _answer(request, 500, "internal error; quote the correlation_id to the operator")


def install_handlers(app: FastAPI) -> None:
    """Register every handler on the app."""
    for exc, handler in ((Unauthorized, _unauthorized), (RequestValidationError, _invalid), (ApiError, _api_error),
                         (ServiceError, _service_error), (StarletteHTTPException, _http_error),
                         (Exception, _internal)):
        app.add_exception_handler(exc, handler)  # type: ignore[arg-type]
