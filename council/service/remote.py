"""Judge-replica side of the service: every paid call is admitted and recorded by the core deployment.

The core owns the DuckDB store (cache + call log), each running batch's budget, and the concurrency and
rate limits of every provider, so limits hold across all replicas. A call costs two round trips to it:
:meth:`RemoteGate.enter` (cache lookup; on a miss, budget check and a slot) and :meth:`RemoteGate.exit`
(durable record; the slot back).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from judges.client.limits import LocalLimiter
from judges.client.records import CachedReply, CallRecord, CallTags
from judges.types import JudgeSpec

__all__ = ["LimiterState", "LimitSpec", "RemoteGate"]

LimitSpec = tuple[str, int, "float | None", "float | None"]
"""(limiter key, max concurrency, requests per minute, tokens per minute) of one judge's model."""


def limit_spec(judge: JudgeSpec) -> LimitSpec:
    """The limits a judge's calls are metered against; judges on one model and endpoint share them."""
    return (f"{judge.model}@{judge.api_base or 'default'}", judge.max_concurrency, judge.requests_per_minute,
            judge.tokens_per_minute)


class RemoteGate:
    """CallGate of a judge replica, backed by the core deployment's handle."""

    def __init__(self, core: Any, judge: JudgeSpec) -> None:
        self.core = core
        self.limits = limit_spec(judge)

    async def enter(self, cache_key: str, tags: CallTags, estimated_tokens: int) -> CachedReply | None:
        """Cached reply, or a slot of the shared limits after the batch's budget allowed the call."""
        return await self.core.enter.remote(cache_key, tags, self.limits, estimated_tokens)

    @asynccontextmanager
    async def attempt(self, estimated_tokens: int) -> AsyncIterator[None]:
        """Nothing per attempt: the slot taken by :meth:`enter` covers every attempt of the call."""
        yield

    async def exit(self, record: CallRecord | None) -> None:
        """Record the call durably and give the slot back (both in one round trip).

        One gate serves all of a judge's concurrent calls, so whether this call holds a slot is read from the
        call itself: a cache hit took none and always has a record; a paid call (or an abandoned one, None)
        took one. A flag on the gate would be overwritten by the next call's enter and leak slots until the
        judge's calls all wait forever.
        """
        holds_slot = record is None or not record.cache_hit
        await self.core.exit.remote(record, self.limits[0] if holds_slot else None)


class LimiterState:
    """Concurrency and rate limits per model key, held by the core for every replica."""

    def __init__(self) -> None:
        self.limiters: dict[str, LocalLimiter] = {}

    async def acquire(self, limits: LimitSpec, estimated_tokens: int) -> None:
        """Wait for a slot of this model's limits."""
        key, max_concurrency, rpm, tpm = limits
        if key not in self.limiters:
            self.limiters[key] = LocalLimiter(max_concurrency, rpm, tpm)
        await self.limiters[key].acquire(estimated_tokens)

    def release(self, key: str) -> None:
        """Give a slot back."""
        self.limiters[key].release()
