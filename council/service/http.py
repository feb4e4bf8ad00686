"""What every route module shares: bearer-key auth, the core's handle and the one way to call it.

Routes call the core only through :func:`call_core`, which turns the core's :class:`ErrorAnswer`
records into :class:`ApiError` (answered by :mod:`council.service.handlers`), so no route can forward
an exception's text to a client.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Depends, Header, Request

from council.service.config import hash_key
from council.service.errors import ErrorAnswer, RequestError, new_correlation_id

__all__ = ["ApiError", "Owner", "Unauthorized", "call_core", "core_of", "correlation_id", "owner_of",
           "valid_text"]

# A JSON \u escape of a UTF-16 surrogate that is not half of a pair: Python's parser accepts it, but the text
# cannot be encoded (stored, hashed as UTF-8, exported) later.
_LONE_SURROGATE = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
                             rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


class ApiError(Exception):
    """A core call's refusal or failure, answered as its :class:`ErrorAnswer` says."""

    def __init__(self, answer: ErrorAnswer) -> None:
        super().__init__(answer.error)
        self.answer = answer


class Unauthorized(Exception):
    """No or an unknown bearer key."""


def owner_of(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
    """The owner of the bearer key in the Authorization header; 401 otherwise."""
    keys: dict[str, str] = request.app.state.api_keys
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized("missing bearer API key (Authorization: Bearer <key>)")
    owner = keys.get(hash_key(authorization[7:].strip()))
    if owner is None:
        raise Unauthorized("unknown API key")
    return owner


Owner = Annotated[str, Depends(owner_of)]


async def valid_text(request: Request) -> None:
    """Refuse a JSON body whose text holds a lone surrogate (422 naming ``body``), before anything stores it."""
    if request.method in ("POST", "PUT", "PATCH") and _LONE_SURROGATE.search(await request.body()):
        raise RequestError("body: text must be valid Unicode (a \\u escape names half a surrogate pair)",
                           field="body")


def core_of(request: Request) -> Any:
    """The handle of the core deployment."""
    return request.app.state.core


def correlation_id(request: Request) -> str:
    """This request's correlation id (set by :class:`~council.service.middleware.CorrelationId`)."""
    state = request.scope.setdefault("state", {})
    if "correlation_id" not in state:
        state["correlation_id"] = new_correlation_id()
    return str(state["correlation_id"])


async def call_core(request: Request, method: str, *args: Any) -> Any:
    """Call a route method of the core; its refusals and failures raise :class:`ApiError`."""
    answer = await core_of(request).call.remote(method, correlation_id(request), *args)
    if isinstance(answer, ErrorAnswer):
        raise ApiError(answer)
    return answer
