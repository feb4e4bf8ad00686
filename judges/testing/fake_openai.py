"""A fake OpenAI-compatible chat server we own: failure injection for tests, fixed latency for benchmarks.

It speaks real HTTP on loopback, so calls take the production path (litellm → OpenAI SDK → HTTP) with
its retries, timeouts, caching and recording. Every request is recorded. Per request it picks an
outcome: the one an ``outcome_hook`` forces, else the next one from a scripted queue, else a seeded
random failure (``failure_rate`` over ``failure_kinds``), else ``ok``, which answers valid JSON for the
schema the request carries (see :func:`judges.testing.instances.schema_instance`; quote fields quote
the prompt's ``<conversation>`` / ``<candidate>`` text). Random draws are seeded by the request body
and how often that body was seen, so outcomes and answers do not depend on the order concurrent
requests arrive in.

Outcomes: ``ok``; ``fenced`` (valid JSON inside prose and a code fence); ``429`` (with ``Retry-After``);
``400``, ``500``, ``503``; ``timeout`` (hang until the client gives up); ``malformed`` (either
``malformed_text``, not JSON, or ``malformed_schema``, JSON that misses the schema); ``empty``.

Example:
    >>> with FakeOpenAIServer(script=["429", "ok"], retry_after=0.01) as srv:  # doctest: +SKIP
    ...     spec = JudgeSpec(id="j", model="openai/fake", api_base=srv.base_url)
    ...     srv.count, srv.stats()["outcomes"]

CLI (benchmarks run it as a separate process; it prints ``FAKE_OPENAI_URL=<base url>`` when ready)::

    python -m judges.testing.fake_openai --port 0 --latency-ms 200 --failure-rate 0.3 --seed 1

"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import random
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields, replace
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from judges.testing.gullible import gullible_answer
from judges.testing.instances import Choice, schema_instance
from judges.testing.openai_wire import RecordedRequest, body_key, completion_body, find_schema, quote_sources
from judges.testing.planted import planted_answer

__all__ = [
    "DEFAULT_FAILURES",
    "OUTCOMES",
    "FakeOpenAIServer",
    "FakeSettings",
    "OutcomeHook",
    "Responder",
    "main",
]

OUTCOMES = (
    "ok",
    "fenced",
    "429",
    "400",
    "500",
    "503",
    "timeout",
    "malformed",
    "malformed_text",
    "malformed_schema",
    "empty",
)
DEFAULT_FAILURES = ("429", "500", "503", "timeout", "malformed", "empty")

Responder = Callable[[dict[str, Any]], "dict[str, Any] | str | None | Awaitable[dict[str, Any] | str | None]"]
"""Answers an ``ok`` request from its body: a dict (sent as JSON), a string (sent as is) or None (default)."""

OutcomeHook = Callable[[dict[str, Any], int], "str | None"]
"""Forces a request's outcome from its body and how often that body arrived before (None: no opinion)."""


@dataclass(frozen=True)
class FakeSettings:
    """How the fake server behaves; change at run time with :meth:`FakeOpenAIServer.configure`."""

    latency_s: float = 0.0
    """Delay before every answer (asyncio.sleep, so hundreds of requests overlap)."""
    failure_rate: float = 0.0
    """Share of unscripted requests that fail, drawn per request from ``seed``."""
    failure_kinds: tuple[str, ...] = DEFAULT_FAILURES
    """Failures drawn from, uniformly."""
    retry_after_s: float | None = 0.01
    """``Retry-After`` seconds sent with 429 (None sends no header)."""
    hang_s: float = 30.0
    """How long a ``timeout`` request hangs before the server gives up (set above the client timeout)."""
    seed: int = 0
    """Seed of every random draw."""
    choice: Choice = "random"
    """Enum values in answers: seeded (``random``, so scores vary) or fixed (``first`` / ``last``)."""
    quote_words: int = 6
    """Words in a quoted span."""
    logprobs: bool = True
    """Answer ``logprobs`` when a request asks for them (False: a provider that never returns them)."""
    planted_strengths: dict[str, float] | None = None
    """Pairwise requests are answered by a simulated judge (:mod:`judges.testing.planted`): marker text found
    in a candidate → its Bradley–Terry log-strength. None: pairwise requests get schema instances like any."""
    first_position_bias: float = 0.0
    """The simulated pairwise judge answers "A" blindly with this probability."""
    gullible: bool = False
    """Scoring replies obey any score instruction found in the untrusted text received
    (:mod:`judges.testing.gullible`), read through hidden characters and homoglyphs."""

    def __post_init__(self) -> None:
        unknown = [k for k in self.failure_kinds if k not in OUTCOMES]
        if unknown or not 0 <= self.failure_rate <= 1:
            raise ValueError(
                f"failure_kinds must be among {OUTCOMES} (got {unknown}); failure_rate in [0, 1]"
            )
        if not 0 <= self.first_position_bias <= 1:
            raise ValueError("first_position_bias must be in [0, 1]")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    kind = {429: "rate_limit_exceeded", 400: "invalid_request_error"}.get(status, "server_error")
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": None, "code": kind}},
        status_code=status,
        headers=headers,
    )


class FakeOpenAIServer:
    """The fake server: its state, its Starlette app, and a uvicorn runner in a background thread.

    Args:
        latency_ms: Delay before every answer.
        failure_rate: Share of unscripted requests that fail (seeded).
        failure_kinds: Outcomes failures are drawn from.
        script: Outcomes for the next requests, in arrival order, before random draws resume.
        retry_after: ``Retry-After`` seconds on 429 (None: no header).
        hang_s: How long a ``timeout`` request hangs.
        seed: Seed of all draws.
        choice: ``random`` / ``first`` / ``last`` enum values in answers.
        quote_words: Words per quoted span.
        responder: Optional hook answering ``ok`` requests instead of the schema generator.
        outcome_hook: Optional ``(body, nth) -> outcome | None`` deciding a request's outcome before the
            script and the random draw (``nth``: how often this exact body arrived before), e.g. to make one
            agent's calls for one item always fail.
        host: Interface to bind (loopback by default).
        port: Port to bind; 0 picks a free one.
        logprobs: Answer ``logprobs`` requests with per-token logprobs (False: a provider that has none).
        planted_strengths: Marker text → log-strength of a simulated pairwise judge (see
            :mod:`judges.testing.planted`); None answers pairwise requests like any other.
        first_position_bias: Probability that the simulated pairwise judge answers "A" blindly.
        gullible: Obey score instructions found in the untrusted text received (:mod:`judges.testing.gullible`).

    """

    def __init__(
        self,
        *,
        latency_ms: float = 0.0,
        failure_rate: float = 0.0,
        failure_kinds: Iterable[str] = DEFAULT_FAILURES,
        script: Iterable[str] = (),
        retry_after: float | None = 0.01,
        hang_s: float = 30.0,
        seed: int = 0,
        choice: Choice = "random",
        quote_words: int = 6,
        logprobs: bool = True,
        planted_strengths: dict[str, float] | None = None,
        first_position_bias: float = 0.0,
        gullible: bool = False,
        responder: Responder | None = None,
        outcome_hook: OutcomeHook | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.settings = FakeSettings(
            latency_ms / 1000,
            failure_rate,
            tuple(failure_kinds),
            retry_after,
            hang_s,
            seed,
            choice,
            quote_words,
            logprobs,
            planted_strengths,
            first_position_bias,
            gullible,
        )
        self.responder = responder
        self.outcome_hook = outcome_hook
        self.host, self.port = host, port
        self._lock = threading.RLock()  # re-entrant: hooks may read the server's state
        self._script: deque[str] = deque()
        self.enqueue(script)
        self._records: list[RecordedRequest] = []
        self._seen: Counter[str] = Counter()
        self._other: Counter[str] = Counter()
        self._in_flight = self._max_in_flight = 0
        self.errors: list[str] = []
        """Exceptions raised by the responder hook (answered as 500)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing: asyncio.Event | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.app = Starlette(
            lifespan=self._lifespan,
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/_stats", self._stats, methods=["GET"]),
                Route("/_reset", self._reset, methods=["POST"]),
                Route("/_script", self._enqueue, methods=["POST"]),
                Route("/_config", self._configure, methods=["POST"]),
            ],
        )

    # ------------------------------------------------------------ state (thread-safe)

    @property
    def base_url(self) -> str:
        """``http://host:port/v1``, for a judge's ``api_base``."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Chat-completion requests received so far, in arrival order."""
        with self._lock:
            return list(self._records)

    @property
    def count(self) -> int:
        """How many chat-completion requests arrived."""
        with self._lock:
            return len(self._records)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        """Their JSON bodies."""
        return [r.body for r in self.requests]

    def stats(self) -> dict[str, Any]:
        """Count requests, outcomes, statuses, models, requests in flight (now and peak), other endpoints."""
        with self._lock:
            return {
                "requests": len(self._records),
                "outcomes": dict(Counter(r.outcome for r in self._records)),
                "statuses": dict(Counter(str(r.status) for r in self._records if r.status is not None)),
                "models": dict(Counter(str(r.body.get("model")) for r in self._records)),
                "in_flight": self._in_flight,
                "max_in_flight": self._max_in_flight,
                "other": dict(self._other),
            }

    def enqueue(self, outcomes: Iterable[str]) -> None:
        """Script the outcomes of the next requests (in arrival order)."""
        outcomes = list(outcomes)
        unknown = [o for o in outcomes if o not in OUTCOMES]
        if unknown:
            raise ValueError(f"unknown outcomes {unknown}; known: {OUTCOMES}")
        with self._lock:
            self._script.extend(outcomes)

    def configure(self, **changes: Any) -> None:
        """Change settings (any :class:`FakeSettings` field) for the requests that follow."""
        if "failure_kinds" in changes:
            changes["failure_kinds"] = tuple(changes["failure_kinds"])
        with self._lock:
            self.settings = replace(self.settings, **changes)

    def reset(self) -> None:
        """Forget recorded requests, the script and the per-body counts."""
        with self._lock:
            self._records.clear()
            self._script.clear()
            self._seen.clear()
            self._other.clear()
            self._max_in_flight = self._in_flight

    def _decide(self, body: dict[str, Any]) -> tuple[RecordedRequest, FakeSettings, str]:
        key = body_key(body)
        with self._lock:
            settings, nth = self.settings, self._seen[key]
            self._seen[key] += 1
            forced = self.outcome_hook(body, nth) if self.outcome_hook is not None else None
            if forced is not None and forced not in OUTCOMES:
                self.errors.append(f"outcome_hook returned unknown outcome {forced!r}; answered 500")
                forced = "500"
            if forced is not None:
                outcome = forced
            elif self._script:
                outcome = self._script.popleft()
            else:
                rng = random.Random(f"{settings.seed}:{key}:{nth}")
                failed = rng.random() < settings.failure_rate
                outcome = rng.choice(settings.failure_kinds) if failed else "ok"
            if outcome == "malformed":
                outcome = random.Random(f"{settings.seed}:{key}:{nth}:m").choice(
                    ["malformed_text", "malformed_schema"]
                )
            record = RecordedRequest(len(self._records), body, outcome, time.monotonic())
            self._records.append(record)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        return record, settings, key

    # ------------------------------------------------------------ HTTP

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self._loop, self._closing = asyncio.get_running_loop(), asyncio.Event()
        yield
        self._closing.set()

    async def _chat(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except json.JSONDecodeError:
            return _error(400, "request body is not JSON")
        record, settings, key = self._decide(body)
        try:
            response = await self._respond(body, record.outcome, settings, key)
        finally:
            with self._lock:
                self._in_flight -= 1
        record.responded_at, record.status = time.monotonic(), response.status_code
        return response

    async def _respond(
        self, body: dict[str, Any], outcome: str, settings: FakeSettings, key: str
    ) -> Response:
        if outcome == "timeout":
            closing = self._closing or asyncio.Event()  # the lifespan sets it before any request
            try:
                await asyncio.wait_for(closing.wait(), settings.hang_s)
            except TimeoutError:
                pass
            return _error(504, "the fake server hung on purpose")
        if settings.latency_s > 0:
            await asyncio.sleep(settings.latency_s)
        if outcome == "429":
            headers = (
                {"Retry-After": f"{settings.retry_after_s:g}"} if settings.retry_after_s is not None else {}
            )
            return _error(429, "rate limit injected by the fake server", headers)
        if outcome in ("400", "500", "503"):
            return _error(int(outcome), f"HTTP {outcome} injected by the fake server")
        if outcome == "empty":
            return JSONResponse(completion_body(body, ""))
        if outcome == "malformed_text":
            return JSONResponse(
                completion_body(body, "I think the reply is kind, but I will not give JSON {today")
            )
        if outcome == "malformed_schema":
            return JSONResponse(completion_body(body, json.dumps({"unexpected": "field", "score": "high"})))
        try:
            content, planted_logprobs = await self._answer(body, settings, key)
        except Exception as e:  # noqa: BLE001 - a broken test responder is reported, not hidden
            self.errors.append(f"{type(e).__name__}: {e}")
            return _error(500, f"responder failed: {type(e).__name__}: {e}")
        if outcome == "fenced":
            content = f"Here is my assessment.\n```json\n{content}\n```\nI hope this helps."
            planted_logprobs = None
        return JSONResponse(completion_body(body, content, logprobs=settings.logprobs,
                                            logprobs_content=planted_logprobs))

    async def _answer(self, body: dict[str, Any], settings: FakeSettings,
                      key: str) -> tuple[str, dict[str, Any] | None]:
        """The reply text, and its logprobs when the planted pairwise judge wrote it (else the default ones)."""
        if self.responder is not None:
            answer = self.responder(body)
            if inspect.isawaitable(answer):
                answer = await answer
            if answer is not None:
                return (answer if isinstance(answer, str) else json.dumps(answer)), None
        schema = find_schema(body)
        if schema is None:
            return "{}", None
        value = schema_instance(
            schema,
            rng=random.Random(f"{settings.seed}:{key}"),
            choice=settings.choice,
            quotes=quote_sources(body.get("messages", [])),
            quote_words=settings.quote_words,
        )
        if settings.gullible:
            value = gullible_answer(body, value, schema)
        if settings.planted_strengths is not None:
            planted = planted_answer(body, value, settings.planted_strengths, settings.first_position_bias,
                                     f"{settings.seed}:{key}")
            if planted is not None:
                return planted
        return json.dumps(value), None

    async def _models(self, request: Request) -> Response:
        with self._lock:
            self._other["models"] += 1
            seen = sorted({str(r.body.get("model")) for r in self._records} | {"fake-judge"})
        return JSONResponse(
            {
                "object": "list",
                "data": [{"id": m, "object": "model", "created": 0, "owned_by": "fake-openai"} for m in seen],
            }
        )

    async def _stats(self, request: Request) -> Response:
        return JSONResponse(self.stats())

    async def _reset(self, request: Request) -> Response:
        self.reset()
        return JSONResponse({"ok": True})

    async def _enqueue(self, request: Request) -> Response:
        try:
            self.enqueue((await request.json())["outcomes"])
        except (ValueError, KeyError, TypeError) as e:
            return _error(400, f'expected {{"outcomes": [...]}} of {OUTCOMES}: {e}')
        return JSONResponse({"ok": True})

    async def _configure(self, request: Request) -> Response:
        try:
            self.configure(**await request.json())
        except (ValueError, TypeError) as e:
            return _error(400, f"expected fields of {[f.name for f in fields(FakeSettings)]}: {e}")
        return JSONResponse({"ok": True})

    # ------------------------------------------------------------ running

    def _bind(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit this: without it, headers and body go out as two segments and
        # Nagle + delayed ACK add ~40 ms to every keep-alive request.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.host, self.port))
        sock.listen(4096)  # connections queue from now on, before uvicorn starts accepting them
        self.port = sock.getsockname()[1]
        self._socket = sock
        return sock

    def _uvicorn(self) -> uvicorn.Server:
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            loop="asyncio",
            timeout_graceful_shutdown=2,
            timeout_keep_alive=600,  # never close an idle connection a client is about to reuse mid-test
            backlog=4096,
        )
        self._server = uvicorn.Server(config)
        return self._server

    def start(self, timeout: float = 10.0) -> FakeOpenAIServer:
        """Serve in a daemon thread; return once it accepts connections."""
        if self._thread is not None:
            raise RuntimeError("the fake server is already running")
        server, sock = self._uvicorn(), self._bind()
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"fake-openai:{self.port}"
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the fake OpenAI server did not start on {self.base_url}")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Release hanging requests, shut the server down and join its thread."""
        if self._loop is not None and self._closing is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._closing.set)
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._thread = self._server = self._socket = None

    def serve(self) -> None:
        """Serve in the foreground until interrupted (the CLI); prints the base URL once bound."""
        server, sock = self._uvicorn(), self._bind()
        print(f"FAKE_OPENAI_URL={self.base_url}", flush=True)
        server.run(sockets=[sock])

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m judges.testing.fake_openai", description=__doc__.split("\n")[0]
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (printed as FAKE_OPENAI_URL=...)")
    p.add_argument("--latency-ms", type=float, default=0.0, help="delay before every answer")
    p.add_argument("--failure-rate", type=float, default=0.0, help="share of requests that fail (seeded)")
    p.add_argument("--failure-kinds", default=",".join(DEFAULT_FAILURES), help=f"comma list of {OUTCOMES}")
    p.add_argument("--script", default="", help="comma list of outcomes for the first requests")
    p.add_argument(
        "--retry-after", type=float, default=0.01, help="Retry-After seconds on 429 (<0: no header)"
    )
    p.add_argument("--hang-s", type=float, default=30.0, help="how long a 'timeout' request hangs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--choice", choices=["random", "first", "last"], default="random", help="enum values in answers"
    )
    p.add_argument("--quote-words", type=int, default=6)
    p.add_argument("--gullible", action="store_true", help="obey score instructions found in the judged texts")
    return p


def main(argv: list[str] | None = None) -> None:
    """Run the fake server in the foreground (see the module docstring)."""
    args = _parser().parse_args(argv)
    kinds = [k for k in args.failure_kinds.split(",") if k]
    FakeOpenAIServer(
        latency_ms=args.latency_ms,
        failure_rate=args.failure_rate,
        failure_kinds=kinds,
        script=[s for s in args.script.split(",") if s],
        retry_after=None if args.retry_after < 0 else args.retry_after,
        hang_s=args.hang_s,
        seed=args.seed,
        choice=args.choice,
        quote_words=args.quote_words,
        gullible=args.gullible,
        host=args.host,
        port=args.port,
    ).serve()


if __name__ == "__main__":
    main()
