"""Judge-replica side of the service: every paid call is admitted and recorded by the core deployment.

The core owns the DuckDB store (cache + call log), each running batch's budget, and the concurrency and
rate limits of every provider, so limits hold across all replicas. A call enters with one round trip to it
(:meth:`RemoteGate.enter`: cache lookup; on a miss, budget check and a slot) and exits through the replica's
:class:`ExitBatcher` (durable record; the slot back), which carries the exits of all the replica's calls
that finish while one round trip is under way in the next one.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from judges.client.limits import LocalLimiter
from judges.client.records import CachedReply, CallRecord, CallTags
from judges.types import JudgeSpec

__all__ = ["ExitBatcher", "LimiterState", "LimitSpec", "RemoteGate"]

LimitSpec = tuple[str, int, "float | None", "float | None"]
"""(limiter key, max concurrency, requests per minute, tokens per minute) of one judge's model."""


def limit_spec(judge: JudgeSpec) -> LimitSpec:
    """The limits a judge's calls are metered against; judges on one model and endpoint share them.

    The limits are part of the key: the first judge to use a model would otherwise fix its limits for every
    later one, so an inline judge declaring a tiny rate could throttle an operator's named judge (or
    another owner's) on the same model.
    """
    rpm, tpm = judge.requests_per_minute, judge.tokens_per_minute
    key = f"{judge.model}@{judge.api_base or 'default'}#{judge.max_concurrency}/{rpm}/{tpm}"
    return (key, judge.max_concurrency, rpm, tpm)


class ExitBatcher:
    """The exits of one replica's calls, coalesced: at most one round trip to the core at a time.

    An exit that finds no round trip under way starts one at once (no added latency when idle); exits that
    arrive meanwhile go together in the next. Each exit returns only once the round trip carrying it is done,
    so a reply is still used only after its record is on disk. A caller cancelled while waiting does not
    cancel its exit: the record is stored and the slot given back all the same.
    """

    def __init__(self, core: Any) -> None:
        self.core = core
        self._pending: list[tuple[CallRecord | None, str | None, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def exit(self, record: CallRecord | None, limiter_key: str | None) -> None:
        """Store the record (if any) and give the slot (if any) back, in the next round trip."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((record, limiter_key, done))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        await asyncio.shield(done)

    async def _flush(self) -> None:
        calls: list[tuple[CallRecord | None, str | None, asyncio.Future[None]]] = []
        try:
            while self._pending:
                calls, self._pending = self._pending, []
                try:
                    await self.core.exit.remote([(record, key) for record, key, _ in calls])
                except Exception as e:  # noqa: BLE001 - every waiting exit gets the error
                    for *_, done in calls:
                        if not done.done():
                            done.set_exception(e)
                else:
                    for *_, done in calls:
                        if not done.done():
                            done.set_result(None)
        finally:
            self._flusher = None
            for *_, done in calls + self._pending:  # only when the flush itself was cancelled (replica stopping)
                if not done.done():
                    done.cancel()


_CALL: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar("council_call", default=None)
"""[batch id, attempts so far] of the call the current task is making (enter and attempts share a task)."""


class RemoteGate:
    """CallGate of a judge replica, backed by the core deployment's handle."""

    def __init__(self, core: Any, judge: JudgeSpec, exits: ExitBatcher | None = None) -> None:
        self.core = core
        self.limits = limit_spec(judge)
        self.exits = exits or ExitBatcher(core)

    async def enter(self, cache_key: str, tags: CallTags, estimated_tokens: int) -> CachedReply | None:
        """Cached reply, or a slot of the shared limits after the batch's budget allowed the call."""
        _CALL.set([tags.batch_id, 0])
        return await self.core.enter.remote(cache_key, tags, self.limits, estimated_tokens)

    @asynccontextmanager
    async def attempt(self, estimated_tokens: int) -> AsyncIterator[None]:
        """The slot taken by :meth:`enter` covers every attempt.

        A retry first asks the core whether the batch was cancelled meanwhile, so no attempt starts after a
        cancel was acknowledged.
        """
        call = _CALL.get()
        if call is not None:
            call[1] += 1
            if call[1] > 1:
                await self.core.admit.remote(call[0])
        yield

    async def exit(self, record: CallRecord | None) -> None:
        """Record the call durably and give the slot back (both in one round trip, shared with other exits).

        One gate serves all of a judge's concurrent calls, so whether this call holds a slot is read from the
        call itself: a cache hit took none and always has a record; a paid call (or an abandoned one, None)
        took one. A flag on the gate would be overwritten by the next call's enter and leak slots until the
        judge's calls all wait forever.
        """
        holds_slot = record is None or not record.cache_hit
        await self.exits.exit(record, self.limits[0] if holds_slot else None)


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
