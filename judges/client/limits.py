"""Per-model concurrency and rate limits (requests and tokens per minute).

A :class:`Limiter` hands out slots. :class:`LocalLimiter` enforces limits inside one process; the service
swaps in a limiter backed by one shared actor so that limits hold across replicas, not per replica.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

__all__ = ["Limiter", "LimiterFactory", "LocalLimiter", "TokenBucket", "local_limiter_factory"]


class Limiter(Protocol):
    """Grants permission to make one call of an estimated token size."""

    def slot(self, estimated_tokens: int) -> AbstractAsyncContextManager[None]:
        """Hold a concurrency slot (and rate budget) for the duration of one call."""
        ...


LimiterFactory = Callable[[str, int, "float | None", "float | None"], Limiter]
"""Builds the limiter for (model key, max_concurrency, requests/min, tokens/min)."""


class TokenBucket:
    """A token bucket refilled continuously at ``per_minute / 60`` per second, capacity ``per_minute``.

    The clock and sleep functions are injectable so tests can assert timing without waiting.
    """

    def __init__(
        self,
        per_minute: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.level = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._stamp = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self.level = min(self.capacity, self.level + (now - self._stamp) * self.rate)
        self._stamp = now

    async def take(self, amount: float) -> float:
        """Wait until ``amount`` (capped at capacity) is available, take it, and return seconds waited."""
        amount = min(amount, self.capacity)
        waited = 0.0
        async with self._lock:  # first come, first served
            self._refill()
            while self.level < amount:
                delay = (amount - self.level) / self.rate
                await self._sleep(delay)
                waited += delay
                self._refill()
            self.level -= amount
        return waited


class LocalLimiter:
    """Concurrency semaphore plus optional request and token buckets, for one model in one process."""

    def __init__(
        self,
        max_concurrency: int,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self.requests = TokenBucket(requests_per_minute, clock, sleep) if requests_per_minute else None
        self.tokens = TokenBucket(tokens_per_minute, clock, sleep) if tokens_per_minute else None

    async def acquire(self, estimated_tokens: int) -> None:
        """Wait for a concurrency slot, then for the rate buckets; pair with :meth:`release`."""
        await self._semaphore.acquire()
        try:
            if self.requests is not None:
                await self.requests.take(1)
            if self.tokens is not None:
                await self.tokens.take(estimated_tokens)
        except BaseException:
            self._semaphore.release()
            raise

    def release(self) -> None:
        """Give back a concurrency slot."""
        self._semaphore.release()

    @asynccontextmanager
    async def slot(self, estimated_tokens: int) -> AsyncIterator[None]:
        """Hold a concurrency slot after the rate buckets allow the call."""
        await self.acquire(estimated_tokens)
        try:
            yield
        finally:
            self.release()


def local_limiter_factory() -> LimiterFactory:
    """A factory that gives every model key one shared :class:`LocalLimiter` within this process."""
    limiters: dict[str, LocalLimiter] = {}

    def make(key: str, max_concurrency: int, rpm: float | None, tpm: float | None) -> Limiter:
        if key not in limiters:
            limiters[key] = LocalLimiter(max_concurrency, rpm, tpm)
        return limiters[key]

    return make
