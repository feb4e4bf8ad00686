"""The policy wrapper around the adapter: cache, limits, retries, accounting and recording of every call.

Every LLM call in the code base goes through :meth:`ModelClient.call`. The cache key holds exactly what
changes the output (model, messages, sampling params, schema, sample index) and nothing that does not
(timeouts, retry counts, limits, api_base).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential

from judges.client import adapter
from judges.client.gate import CallGate, LocalGate
from judges.client.limits import Limiter
from judges.client.records import CallLedger, CallRecord, CallTags, TokenLogprobs
from judges.errors import ExecutionError
from judges.types import JudgeSpec, ModelParams

__all__ = ["CallGuard", "ModelCall", "ModelClient", "RetryPolicy", "cache_key"]

Complete = Callable[[JudgeSpec, list[dict[str, str]], "dict[str, Any] | None", int], Awaitable[adapter.RawReply]]


def cache_key(
    model: str, messages: list[dict[str, str]], params: ModelParams, schema: dict[str, Any] | None, sample: int,
    top_logprobs: int = 0, extra_body: dict[str, Any] | None = None,
) -> str:
    """Hash of everything that changes a reply.

    That is the model, messages, sampling params, schema, sample index, how many top logprobs per token it
    carries and any provider extension (the last two absent from the key when unused).
    """
    payload: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "params": params.model_dump(mode="json"),
        "schema": schema,
        "sample": sample,
    }
    if top_logprobs:
        payload["top_logprobs"] = top_logprobs
    if extra_body:
        payload["extra_body"] = extra_body
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off between attempts; a provider's Retry-After wins when it asks for longer."""

    multiplier: float = 1.0
    """Seconds of the first back-off; doubles per attempt."""
    max_wait: float = 60.0
    """Longest wait between two attempts."""


@dataclass(frozen=True)
class ModelCall:
    """A successful call: the reply text and where it came from."""

    call_id: str
    text: str
    cache_hit: bool
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    logprobs: TokenLogprobs | None = None
    """Top logprobs per generated token (None unless asked for and returned)."""


class CallGuard(Protocol):
    """Hooks a batch run puts around paid calls: budget caps and cancellation."""

    async def before_call(self, tags: CallTags) -> None:
        """Raise :class:`judges.errors.BudgetExceeded` (or cancel) to stop a call before it is paid."""
        ...

    async def after_call(self, record: CallRecord) -> None:
        """Account for a finished call."""
        ...


def _estimate_tokens(messages: list[dict[str, str]], max_tokens: int) -> int:
    return sum(len(m["content"]) for m in messages) // 4 + max_tokens


class ModelClient:
    """One judge's access to its model: the single path every LLM call takes."""

    def __init__(
        self,
        spec: JudgeSpec,
        ledger: CallLedger | None,
        limiter: Limiter | None,
        *,
        retry: RetryPolicy = RetryPolicy(),
        guard: CallGuard | None = None,
        complete: Complete = adapter.complete,
        gate: CallGate | None = None,
    ) -> None:
        self.spec = spec
        self.ledger = ledger
        self.limiter = limiter
        self.retry = retry
        self.guard = guard
        if gate is None:
            if ledger is None or limiter is None:
                raise ValueError("ModelClient needs a ledger and a limiter, or a gate that replaces them")
            gate = LocalGate(ledger, limiter, guard)
        self.gate: CallGate = gate
        self.structured_output = adapter.resolve_structured_output(spec)
        self._complete = complete

    def response_format(self, name: str, schema: dict[str, Any]) -> dict[str, Any] | None:
        """The response_format this judge's provider gets for a schema."""
        return adapter.response_format_for(self.structured_output, name, schema)

    async def call(
        self,
        messages: list[dict[str, str]],
        *,
        schema_name: str,
        schema: dict[str, Any] | None,
        tags: CallTags,
        sample: int = 0,
        top_logprobs: int = 0,
        extra_body: dict[str, Any] | None = None,
    ) -> ModelCall:
        """Return the reply for these messages: from the cache, or from the provider with retries.

        ``top_logprobs`` > 0 asks for that many alternatives per generated token; ``extra_body`` is sent to the
        provider as is (both part of the cache key).

        Raises:
            ExecutionError: when the provider still fails after the retry policy (recorded first).
            BudgetExceeded: when the guard refuses a paid call.
        """
        key = cache_key(self.spec.model, messages, self.spec.params, schema, sample, top_logprobs, extra_body)
        request = {"messages": messages, "params": self.spec.params.model_dump(mode="json"), "schema": schema}
        if top_logprobs:
            request["top_logprobs"] = top_logprobs
        if extra_body:
            request["extra_body"] = extra_body
        estimate = _estimate_tokens(messages, self.spec.params.max_tokens)
        cached = await self.gate.enter(key, tags, estimate)
        if cached is not None:
            record = CallRecord(
                call_id=uuid.uuid4().hex, tags=tags, model=self.spec.model, cache_key=key, request=request,
                response_text=cached.text, cache_hit=True, cached_from=cached.call_id, attempts=0,
            )
            await self.gate.exit(record)
            return ModelCall(record.call_id, cached.text, True, 0, 0, 0.0, cached.logprobs)
        response_format = self.response_format(schema_name, schema) if schema else None
        record: CallRecord | None = None
        try:
            record, error = await self._call_provider(messages, response_format, (top_logprobs, extra_body),
                                                      estimate, key, request, tags)
        finally:
            await self.gate.exit(record)  # None when abandoned: the gate still gives back what it took
        if error is not None:
            raise error
        return ModelCall(record.call_id, record.response_text or "", False, record.prompt_tokens,
                         record.completion_tokens, record.cost_usd, record.logprobs)

    async def _call_provider(
        self,
        messages: list[dict[str, str]],
        response_format: dict[str, Any] | None,
        options: tuple[int, dict[str, Any] | None],
        estimate: int,
        key: str,
        request: dict[str, Any],
        tags: CallTags,
    ) -> tuple[CallRecord, ExecutionError | None]:
        """Attempts under the retry policy; the record of the success, or of the final failure and its error."""
        started = time.perf_counter()
        attempts = 0
        base = dict(call_id=uuid.uuid4().hex, tags=tags, model=self.spec.model, cache_key=key, request=request)
        try:
            async for attempt in self._retrying():
                with attempt:
                    attempts += 1
                    async with self.gate.attempt(estimate):
                        reply = await self._complete(self.spec, messages, response_format, options[0],
                                                     **({"extra_body": options[1]} if options[1] else {}))
        except ExecutionError as e:
            return CallRecord(**base, response_text=None, attempts=attempts, error=str(e), error_kind=e.kind,
                              latency_ms=(time.perf_counter() - started) * 1000), e
        return CallRecord(
            **base, response_text=reply.text, logprobs=reply.logprobs, prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens, cost_usd=reply.cost_usd, attempts=attempts,
            latency_ms=(time.perf_counter() - started) * 1000,
        ), None

    def _retrying(self) -> AsyncRetrying:
        exponential = wait_exponential(multiplier=self.retry.multiplier, max=self.retry.max_wait)

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            asked = getattr(error, "retry_after", None) or 0.0
            return min(self.retry.max_wait, max(exponential(state), asked))

        return AsyncRetrying(
            retry=retry_if_exception(lambda e: isinstance(e, ExecutionError) and e.retryable),
            stop=stop_after_attempt(self.spec.max_attempts),
            wait=wait,
            reraise=True,
        )
