"""The service's error contract: typed errors raised by the core, one record that crosses Ray, one body.

The core raises :class:`ServiceError` subclasses (or the analysis layer's errors); the core deployment
turns every exception into an :class:`ErrorAnswer` *returned* over the Ray handle, never raised, so the
ingress never sees a Ray traceback. The ingress answers ``{"error", "field", "correlation_id"}``; what
the client should not see (tracebacks, paths, addresses, actor ids) goes to the server log under the
same correlation id.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = [
    "Conflict",
    "ErrorAnswer",
    "NotFound",
    "RequestError",
    "ServiceError",
    "answer_for",
    "error_body",
    "new_correlation_id",
    "scrub",
]

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 1000
"""Longest message a client gets: an echoed input never makes an error body large."""


class ServiceError(Exception):
    """An error the client caused and can fix; its message is written for the client."""

    status = 422

    def __init__(self, message: str, field: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if status is not None:
            self.status = status

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.message, self.field, self.status)


class RequestError(ServiceError, ValueError):
    """Well-formed but unacceptable input (422 unless told otherwise); names the field."""


class NotFound(ServiceError, LookupError):
    """The entity does not exist for this owner (another owner's entities are not found either)."""

    status = 404


class Conflict(ServiceError):
    """The request clashes with earlier state (an Idempotency-Key reused with another body)."""

    status = 409


class ErrorAnswer(BaseModel):
    """A refused or failed core call, returned across the Ray handle and answered by the ingress."""

    model_config = ConfigDict(frozen=True)

    status: int
    error: str
    field: str | None = None
    problems: list[dict[str, str]] | None = None


_PATH = re.compile(r"(?<![\w.:/])/(?:[\w.@+-]+/)+[\w.@+-]*")
_IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b")
_HEX_ID = re.compile(r"\b[0-9a-f]{24,}\b")
_PID = re.compile(r"\bpid[=: ]\s*\d+", re.IGNORECASE)


def scrub(message: str) -> str:
    """A client-facing message: no file paths, IP addresses, pids or long hex ids, and bounded in length."""
    text = _PATH.sub("<path>", message)
    text = _IPV4.sub("<address>", text)
    text = _PID.sub("pid <hidden>", text)
    text = _HEX_ID.sub("<id>", text)
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[:MAX_MESSAGE_CHARS] + " …(truncated)"
    return text


def new_correlation_id() -> str:
    """A fresh id tying a client's error body to the server's log lines."""
    return "req_" + secrets.token_hex(8)


def error_body(message: str, field: str | None = None, correlation_id: str | None = None,
               **extra: Any) -> dict[str, Any]:
    """The JSON error body every failure answers with (never a stack trace)."""
    body: dict[str, Any] = {"error": scrub(message)}
    if field:
        body["field"] = scrub(field)[:200]
    if correlation_id:
        body["correlation_id"] = correlation_id
    body.update(extra)
    return body


def _validation_answer(e: ValidationError, prefix: str = "") -> ErrorAnswer:
    problems = [{"field": prefix + ".".join(str(p) for p in err["loc"]), "message": scrub(err["msg"])}
                for err in e.errors()[:20]]
    first = problems[0] if problems else {"field": prefix.rstrip(".") or "body", "message": "invalid"}
    return ErrorAnswer(status=422, error=f"{first['field']}: {first['message']}", field=first["field"] or None,
                       problems=problems)


def answer_for(e: BaseException, correlation_id: str, where: str) -> ErrorAnswer:
    """The client's answer for an exception raised by a core call; unexpected ones are logged in full.

    Client errors (ours, the analysis layer's, protocol and config errors, pydantic validation) keep
    their message and field; anything else is an internal error whose details stay in the log.
    """
    from council.analysis import AnalysisError, NotFoundError
    from judges.errors import ConfigError
    from protocols import ProtocolError

    if isinstance(e, ServiceError):
        return ErrorAnswer(status=e.status, error=scrub(e.message), field=e.field)
    if isinstance(e, NotFoundError):
        return ErrorAnswer(status=404, error=scrub(str(e)), field=e.field)
    if isinstance(e, AnalysisError):
        return ErrorAnswer(status=422, error=scrub(str(e)), field=e.field)
    if isinstance(e, ValidationError):
        return _validation_answer(e)
    if isinstance(e, ProtocolError | ConfigError):
        return ErrorAnswer(status=422, error=scrub(str(e)))
    log.error("internal error in %s [correlation_id=%s]", where, correlation_id, exc_info=e)
    return ErrorAnswer(status=500, error="internal error; quote the correlation_id to the operator")
