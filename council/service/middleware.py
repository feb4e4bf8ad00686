"""ASGI middleware of the ingress: a correlation id on every exchange, and the request body limit."""

from __future__ import annotations

import re

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from council.service.errors import error_body, new_correlation_id

__all__ = ["BodyLimit", "CorrelationId"]

HEADER = "X-Correlation-ID"
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class CorrelationId:
    """Gives each request a correlation id (the client's ``X-Correlation-ID`` when it is a plain token).

    It is stored in the request state for routes and error handlers, and sent back in the response header.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Attach the id to the scope and to the response's headers."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(HEADER.lower().encode(), b"").decode("latin-1")
        cid = given if _CLIENT_ID.match(given) else new_correlation_id()
        scope.setdefault("state", {})["correlation_id"] = cid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER.lower().encode()]
                message = {**message, "headers": [*headers, (HEADER.lower().encode(), cid.encode())]}
            await send(message)

        await self.app(scope, receive, send_with_id)


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
                await self._too_large(scope, send)
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
                await self._too_large(scope, send)
                return
            more = message.get("more_body", False)
        replay: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay_receive() -> Message:
            return replay.pop() if replay else await receive()

        await self.app(scope, replay_receive, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        cid = scope.get("state", {}).get("correlation_id")
        response = JSONResponse(error_body(f"request body exceeds {self.max_bytes} bytes", field="body",
                                           correlation_id=cid), 413)
        await response({"type": "http"}, _empty_receive, send)


async def _empty_receive() -> Message:
    return {"type": "http.request", "body": b""}
