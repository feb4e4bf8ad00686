"""Judge-replica side of the service: the ledger, guard and limiter live in other deployments.

The call ledger (with the budget guard folded into its cache lookup) is the core deployment (the single DuckDB writer); limits are one
shared limiter deployment, so a provider's concurrency and rate limits hold across all replicas.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from judges.client.limits import Limiter, LimiterFactory, LocalLimiter
from judges.client.records import CachedReply, CallRecord, CallTags

__all__ = ["LimiterState", "RemoteLedger", "RemoteLimiter", "remote_limiter_factory"]


class RemoteLedger:
    """CallLedger backed by the core deployment."""

    def __init__(self, core: Any) -> None:
        self.core = core

    async def cached_reply(self, cache_key: str, tags: CallTags | None = None) -> CachedReply | None:
        """Ask the core's store; on a miss the core also applies the batch's budget (raises BudgetExceeded)."""
        return await self.core.cached_reply.remote(cache_key, tags)

    async def record_call(self, record: CallRecord) -> None:
        """Have the core store the record (durably, before the reply is used)."""
        await self.core.record_call.remote(record)


class RemoteLimiter:
    """A Limiter whose slots come from the shared limiter deployment."""

    def __init__(self, handle: Any, key: str, max_concurrency: int, rpm: float | None, tpm: float | None) -> None:
        self.handle = handle
        self.args = (key, max_concurrency, rpm, tpm)

    @asynccontextmanager
    async def slot(self, estimated_tokens: int) -> AsyncIterator[None]:
        """Hold a slot of the shared limiter for the duration of one call."""
        await self.handle.acquire.remote(*self.args, estimated_tokens)
        try:
            yield
        finally:
            await self.handle.release.remote(self.args[0])


def remote_limiter_factory(handle: Any) -> LimiterFactory:
    """Limiter factory for judge replicas: every model key maps to the shared limiter deployment."""

    def make(key: str, max_concurrency: int, rpm: float | None, tpm: float | None) -> Limiter:
        return RemoteLimiter(handle, key, max_concurrency, rpm, tpm)

    return make


class LimiterState:
    """The shared limiter's state: one LocalLimiter per model key (held by one deployment replica)."""

    def __init__(self) -> None:
        self.limiters: dict[str, LocalLimiter] = {}

    async def acquire(self, key: str, max_concurrency: int, rpm: float | None, tpm: float | None,
                      estimated_tokens: int) -> None:
        """Wait for a slot of ``key``'s limiter."""
        if key not in self.limiters:
            self.limiters[key] = LocalLimiter(max_concurrency, rpm, tpm)
        await self.limiters[key].acquire(estimated_tokens)

    def release(self, key: str) -> None:
        """Give a slot back."""
        self.limiters[key].release()
