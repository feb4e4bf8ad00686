"""The gate every paid call passes: cache lookup, budget guard, concurrency/rate slot, call record.

:class:`LocalGate` composes a ledger, a limiter and an optional guard in this process. A service can
supply its own gate that does the same work in fewer round trips (the Serve app's judge replicas do the
cache lookup, guard check and slot acquisition in one call to the core, and record + release in another).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Protocol

from judges.client.limits import Limiter
from judges.client.records import CachedReply, CallLedger, CallRecord, CallTags

if TYPE_CHECKING:
    from judges.client.model import CallGuard

__all__ = ["CallGate", "LocalGate"]


class CallGate(Protocol):
    """Admission and bookkeeping around one logical LLM call (all of its attempts)."""

    async def enter(self, cache_key: str, tags: CallTags, estimated_tokens: int) -> CachedReply | None:
        """The cached reply, or None when the caller may call the provider (raise to refuse: budget)."""
        ...

    def attempt(self, estimated_tokens: int) -> AbstractAsyncContextManager[None]:
        """Held around each provider attempt (a concurrency/rate slot where the gate meters per attempt)."""
        ...

    async def exit(self, record: CallRecord | None) -> None:
        """Store the call's record (None: abandoned, e.g. cancelled) and give back what :meth:`enter` took."""
        ...


class LocalGate:
    """In-process gate: the ledger's cache and log, the guard's budget, the limiter's slot per attempt."""

    def __init__(self, ledger: CallLedger, limiter: Limiter, guard: CallGuard | None = None) -> None:
        self.ledger = ledger
        self.limiter = limiter
        self.guard = guard

    async def enter(self, cache_key: str, tags: CallTags, estimated_tokens: int) -> CachedReply | None:
        """Cache lookup, then the guard's decision on a paid call."""
        cached = await self.ledger.cached_reply(cache_key, tags)
        if cached is None and self.guard is not None:
            await self.guard.before_call(tags)
        return cached

    @asynccontextmanager
    async def attempt(self, estimated_tokens: int) -> AsyncIterator[None]:
        """A limiter slot for one attempt (released during back-off between attempts)."""
        async with self.limiter.slot(estimated_tokens):
            yield

    async def exit(self, record: CallRecord | None) -> None:
        """Record the call and account for it."""
        if record is None:
            return
        await self.ledger.record_call(record)
        if self.guard is not None and not record.cache_hit:
            await self.guard.after_call(record)
