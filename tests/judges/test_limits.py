"""Rate and concurrency limits with an injected clock and sleep: exact waits and order, no real sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from judges.client.adapter import RawReply
from judges.client.limits import LocalLimiter, TokenBucket, local_limiter_factory
from judges.client.model import ModelClient, RetryPolicy
from judges.client.records import CallTags, MemoryLedger
from judges.errors import ExecutionError
from judges.types import JudgeSpec, ModelParams


class FakeClock:
    """A clock that only moves when the code under test sleeps; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)  # let other tasks run, as a real sleep would


def _bucket(per_minute: float, clock: FakeClock) -> TokenBucket:
    return TokenBucket(per_minute, clock=clock, sleep=clock.sleep)


async def test_a_full_bucket_serves_its_capacity_without_waiting() -> None:
    clock = FakeClock()
    bucket = _bucket(60, clock)  # 60 per minute: capacity 60, refills 1 per second
    waits = [await bucket.take(1) for _ in range(60)]
    assert waits == [0.0] * 60 and clock.sleeps == []


async def test_an_empty_bucket_waits_exactly_for_the_refill() -> None:
    clock = FakeClock()
    bucket = _bucket(60, clock)
    await bucket.take(60)
    assert await bucket.take(1) == pytest.approx(1.0)
    assert await bucket.take(3) == pytest.approx(3.0)
    assert clock.sleeps == pytest.approx([1.0, 3.0])
    assert clock.now == pytest.approx(1004.0)


async def test_time_passing_refills_up_to_capacity() -> None:
    clock = FakeClock()
    bucket = _bucket(120, clock)  # 2 per second
    await bucket.take(120)
    clock.now += 10
    assert await bucket.take(20) == 0.0  # 10 s refilled exactly 20
    assert await bucket.take(1) == pytest.approx(0.5)
    clock.now += 3600
    assert await bucket.take(120) == 0.0  # refill never exceeds capacity ...
    assert await bucket.take(1) == pytest.approx(0.5)  # ... so the next one waits again


async def test_a_request_larger_than_capacity_is_capped_not_stuck() -> None:
    clock = FakeClock()
    bucket = _bucket(600, clock)
    assert await bucket.take(10_000) == 0.0  # capped at 600, which a full bucket has
    assert await bucket.take(10_000) == pytest.approx(60.0)  # a full refill, not forever


async def test_waiters_are_served_first_come_first_served() -> None:
    clock = FakeClock()
    bucket = _bucket(60, clock)
    await bucket.take(60)
    order: list[int] = []

    async def take(i: int) -> float:
        waited = await bucket.take(1)
        order.append(i)
        return waited

    waits = await asyncio.gather(*[take(i) for i in range(5)])
    assert order == [0, 1, 2, 3, 4]
    assert waits == pytest.approx([1.0] * 5)  # each waits its own refill, one after another
    assert clock.now == pytest.approx(1005.0)


async def test_limiter_applies_requests_per_minute() -> None:
    clock = FakeClock()
    limiter = LocalLimiter(10, requests_per_minute=2, clock=clock, sleep=clock.sleep)
    starts: list[float] = []
    for _ in range(4):
        async with limiter.slot(1):
            starts.append(clock.now - 1000)
    assert starts == pytest.approx([0.0, 0.0, 30.0, 60.0])  # 2/min: one every 30 s once the burst is spent


async def test_limiter_applies_tokens_per_minute() -> None:
    clock = FakeClock()
    limiter = LocalLimiter(10, tokens_per_minute=1000, clock=clock, sleep=clock.sleep)
    starts: list[float] = []
    for tokens in (600, 600, 100):
        async with limiter.slot(tokens):
            starts.append(clock.now - 1000)
    # 1000/min = 16.67/s; after 600 the bucket holds 400, so the next 600 waits 200 / 16.67 = 12 s;
    # then it is empty and 100 tokens wait 6 s.
    assert starts == pytest.approx([0.0, 12.0, 18.0])
    assert clock.sleeps == pytest.approx([12.0, 6.0])


async def test_limiter_checks_requests_before_tokens() -> None:
    clock = FakeClock()
    limiter = LocalLimiter(10, requests_per_minute=60, tokens_per_minute=60, clock=clock, sleep=clock.sleep)
    async with limiter.slot(60):
        pass
    async with limiter.slot(30):  # the request bucket allows it at once; the token bucket makes it wait 30 s
        pass
    assert clock.sleeps == pytest.approx([30.0])


async def test_concurrency_cap_holds_and_admits_in_order() -> None:
    limiter = LocalLimiter(2)
    release = [asyncio.Event() for _ in range(5)]
    active: set[int] = set()
    peak = 0
    entered: list[int] = []

    async def work(i: int) -> None:
        nonlocal peak
        async with limiter.slot(1):
            active.add(i)
            entered.append(i)
            peak = max(peak, len(active))
            await release[i].wait()
            active.discard(i)

    tasks = [asyncio.create_task(work(i)) for i in range(5)]
    await asyncio.sleep(0)
    assert entered == [0, 1]  # the third waits for a slot
    release[1].set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert entered == [0, 1, 2]  # a freed slot goes to the longest waiter
    for event in release:
        event.set()
    await asyncio.gather(*tasks)
    assert entered == [0, 1, 2, 3, 4] and peak == 2


async def test_the_factory_shares_one_limiter_per_model_key() -> None:
    make = local_limiter_factory()
    a = make("openai/x@default", 2, None, None)
    assert make("openai/x@default", 99, 5.0, 5.0) is a  # first settings win: one limiter per model
    assert make("openai/y@default", 2, None, None) is not a


class _RecordingLimiter:
    def __init__(self) -> None:
        self.slots: list[int] = []

    @asynccontextmanager
    async def slot(self, estimated_tokens: int) -> AsyncIterator[None]:
        self.slots.append(estimated_tokens)
        yield


async def test_every_attempt_takes_a_slot_sized_by_prompt_and_max_tokens() -> None:
    attempts = iter([ExecutionError("boom", kind="server_error", retryable=True), None])

    async def complete(spec: JudgeSpec, messages: Any, fmt: Any, top_logprobs: int = 0) -> RawReply:
        error = next(attempts)
        if error is not None:
            raise error
        return RawReply(text="{}", prompt_tokens=1, completion_tokens=1, cost_usd=0.0, finish_reason="stop")

    spec = JudgeSpec(
        id="j", model="openai/x", structured_output="json_schema", params=ModelParams(max_tokens=300)
    )
    limiter = _RecordingLimiter()
    client = ModelClient(spec, MemoryLedger(), limiter, retry=RetryPolicy(multiplier=0), complete=complete)
    messages = [{"role": "system", "content": "x" * 400}, {"role": "user", "content": "y" * 200}]
    await client.call(messages, schema_name="S", schema=None, tags=CallTags(judge_id="j", agent="tom"))
    assert limiter.slots == [600 // 4 + 300] * 2
