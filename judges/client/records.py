"""What the model client records for every call, and the ledger interface that stores it.

The ledger is injected: the council's DuckDB store implements it, and so does :class:`MemoryLedger`
for library use without a database. The judge layer never imports the store.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CallLedger", "CallRecord", "CallTags", "CachedReply", "MemoryLedger", "TokenLogprobs"]

TokenLogprobs = list[tuple[str, float, list[tuple[str, float]]]]
"""Per generated token: (token text, its logprob, [(alternative text, logprob), ...] best first)."""


class CallTags(BaseModel):
    """Where a call belongs: which batch, item, candidate, judge and agent it serves."""

    model_config = ConfigDict(frozen=True)

    judge_id: str
    """Judge that made the call."""
    agent: str
    """Agent that made the call (tom, domain, scoring)."""
    batch_id: str | None = None
    """Batch the call serves, if any."""
    run_id: str | None = None
    """Run (one execution of a batch) the call belongs to."""
    item_id: str | None = None
    """Item (context) id."""
    candidate_id: str | None = None
    """Candidate id, for scoring calls."""
    prompt_version: str = ""
    """Hash of the prompt template file used."""


class CachedReply(BaseModel):
    """A reply served from the persistent cache."""

    model_config = ConfigDict(frozen=True)

    call_id: str
    """Id of the call that originally produced the reply."""
    text: str
    """The raw reply text."""
    prompt_tokens: int
    """Prompt tokens of the original call."""
    completion_tokens: int
    """Completion tokens of the original call."""
    logprobs: TokenLogprobs | None = None
    """Top logprobs per generated token of the original call, when it asked for them."""


class CallRecord(BaseModel):
    """One row per LLM call, made or served from cache."""

    model_config = ConfigDict(frozen=True)

    call_id: str
    """Unique id of this call."""
    tags: CallTags
    """Where the call belongs."""
    model: str
    """litellm model string."""
    cache_key: str
    """Hash of (model, messages, params, schema, sample index)."""
    request: dict[str, Any]
    """Messages, params and response format sent."""
    response_text: str | None
    """Raw reply text (None when the call failed)."""
    logprobs: TokenLogprobs | None = None
    """Top logprobs per generated token, when the call asked for them and the provider returned them."""
    prompt_tokens: int = 0
    """Prompt tokens (0 when served from cache: nothing was paid)."""
    completion_tokens: int = 0
    """Completion tokens (0 when served from cache)."""
    cost_usd: float = 0.0
    """Cost by litellm's price map (0 for local or unknown models and for cache hits)."""
    latency_ms: float = 0.0
    """Wall time of the call including retries."""
    attempts: int = 1
    """Attempts made (1 = no retry)."""
    cache_hit: bool = False
    """Whether the reply came from the cache."""
    cached_from: str | None = None
    """Call id of the cached reply."""
    error: str | None = None
    """Error message when the call failed after retries."""
    error_kind: str | None = None
    """Error kind (rate_limit, server_error, timeout ...)."""
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    """When the call finished."""


class CallLedger(Protocol):
    """Persistent cache and call log; implemented by the council's store."""

    async def cached_reply(self, cache_key: str, tags: CallTags | None = None) -> CachedReply | None:
        """The earliest successful reply stored under this key, if any.

        A ledger that also guards spending (the service's) may raise
        :class:`judges.errors.BudgetExceeded` on a miss, saving the client a second round trip.
        """
        ...

    async def record_call(self, record: CallRecord) -> None:
        """Store one call record."""
        ...


class MemoryLedger:
    """An in-process ledger: the cache and call log live in a list (tests, notebooks)."""

    def __init__(self) -> None:
        self.records: list[CallRecord] = []
        self._lock = asyncio.Lock()

    async def cached_reply(self, cache_key: str, tags: CallTags | None = None) -> CachedReply | None:
        """The earliest successful reply stored under this key, if any."""
        for r in self.records:
            if r.cache_key == cache_key and r.response_text is not None and not r.cache_hit:
                return CachedReply(
                    call_id=r.call_id,
                    text=r.response_text,
                    prompt_tokens=r.prompt_tokens,
                    completion_tokens=r.completion_tokens,
                    logprobs=r.logprobs,
                )
        return None

    async def record_call(self, record: CallRecord) -> None:
        """Append the record."""
        async with self._lock:
            self.records.append(record)
