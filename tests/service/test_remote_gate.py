"""RemoteGate (a judge replica's side of the core's cache and limits) without Ray: slots are given back per call.

Regression: one gate serves all of a judge's concurrent calls; a flag on the gate said whether "the" call
held a slot, so a cache hit entering between a paid call's enter and exit made the paid call keep its
slot forever. A resumed batch (half cache hits) then hung once every slot had leaked.
"""

from __future__ import annotations

import asyncio
from typing import Any

from council.service.remote import RemoteGate
from judges.client.records import CachedReply, CallRecord, CallTags
from judges.types import JudgeSpec


class _Method:
    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def remote(self, *args: Any) -> Any:
        return self.fn(*args)


class FakeCore:
    """The two handle methods the gate calls; slots counted per limiter key."""

    def __init__(self, cached_keys: set[str]) -> None:
        self.cached_keys = cached_keys
        self.held: dict[str, int] = {}
        self.exit_batches: list[int] = []
        self.enter = _Method(self._enter)
        self.exit = _Method(self._exit)

    async def _enter(self, cache_key: str, tags: CallTags, limits: Any, estimated_tokens: int) -> Any:
        await asyncio.sleep(0)
        if cache_key in self.cached_keys:
            return CachedReply(call_id="c0", text="{}", prompt_tokens=1, completion_tokens=1)
        self.held[limits[0]] = self.held.get(limits[0], 0) + 1
        return None

    async def _exit(self, calls: list[tuple[CallRecord | None, str | None]]) -> None:
        await asyncio.sleep(0)
        self.exit_batches.append(len(calls))
        for _, limiter_key in calls:
            if limiter_key is not None:
                self.held[limiter_key] -= 1


def _record(key: str, cache_hit: bool) -> CallRecord:
    return CallRecord(call_id=key, tags=CallTags(judge_id="j", agent="tom"), model="openai/m", cache_key=key,
                      request={}, response_text="{}", cache_hit=cache_hit, attempts=0 if cache_hit else 1)


async def test_interleaved_hits_and_misses_give_every_slot_back() -> None:
    core = FakeCore(cached_keys={"hit"})
    gate = RemoteGate(core, JudgeSpec(id="j", model="openai/m", api_base="http://x/v1"))
    tags = CallTags(judge_id="j", agent="tom")

    assert await gate.enter("miss", tags, 10) is None  # a paid call takes a slot ...
    assert await gate.enter("hit", tags, 10) is not None  # ... a cache hit enters meanwhile ...
    await gate.exit(_record("hit", cache_hit=True))
    await gate.exit(_record("miss", cache_hit=False))  # ... and the paid call still gives its slot back
    assert await gate.enter("miss-2", tags, 10) is None
    await gate.exit(None)  # an abandoned paid call (cancelled) gives it back too
    assert set(core.held.values()) == {0}


async def test_concurrent_exits_share_round_trips_and_each_waits_for_its_own() -> None:
    core = FakeCore(cached_keys=set())
    gate = RemoteGate(core, JudgeSpec(id="j", model="openai/m", api_base="http://x/v1"))
    tags = CallTags(judge_id="j", agent="tom")
    keys = [f"k{i}" for i in range(10)]
    for key in keys:
        assert await gate.enter(key, tags, 10) is None
    await asyncio.gather(*(gate.exit(_record(key, cache_hit=False)) for key in keys))
    assert core.held == {gate.limits[0]: 0}  # every slot back, and only after its exit returned
    assert core.exit_batches == [10]  # all ten were queued before the flush ran: one round trip carried them
    await gate.exit(_record("alone", cache_hit=True))
    assert core.exit_batches == [10, 1]  # an exit with nothing under way goes at once, alone


async def test_a_failed_round_trip_fails_every_exit_it_carried() -> None:
    core = FakeCore(cached_keys=set())

    async def broken(calls: list[Any]) -> None:
        raise ConnectionError("core unreachable")

    core.exit = _Method(broken)
    gate = RemoteGate(core, JudgeSpec(id="j", model="openai/m", api_base="http://x/v1"))
    results = await asyncio.gather(*(gate.exit(_record(f"k{i}", cache_hit=False)) for i in range(3)),
                                   return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)


async def test_a_caller_cancelled_while_waiting_still_gets_its_exit_through() -> None:
    core = FakeCore(cached_keys=set())
    release = asyncio.Event()
    slow_exit = core.exit.fn

    async def slow(calls: list[Any]) -> None:
        await release.wait()
        await slow_exit(calls)

    core.exit = _Method(slow)
    gate = RemoteGate(core, JudgeSpec(id="j", model="openai/m", api_base="http://x/v1"))
    tags = CallTags(judge_id="j", agent="tom")
    assert await gate.enter("k", tags, 10) is None
    waiting = asyncio.create_task(gate.exit(_record("k", cache_hit=False)))
    await asyncio.sleep(0.01)
    waiting.cancel()  # e.g. the batch was cancelled while the call's record was on its way
    release.set()
    await asyncio.sleep(0.01)
    assert waiting.cancelled()
    assert core.held == {gate.limits[0]: 0}  # the slot came back regardless


def test_a_judges_declared_limits_cannot_throttle_another_judge_on_the_same_model() -> None:
    """The limiter key holds the limits: an inline judge declaring a tiny rate gets a limiter of its own."""
    from council.service.remote import limit_spec

    named = JudgeSpec(id="named", model="openai/m", api_base="http://p/v1", max_concurrency=8)
    twin = JudgeSpec(id="twin", model="openai/m", api_base="http://p/v1", max_concurrency=8)
    hostile = JudgeSpec(id="inline", model="openai/m", api_base="http://p/v1", max_concurrency=1,
                        requests_per_minute=1e-9)
    assert limit_spec(named)[0] == limit_spec(twin)[0]
    assert limit_spec(hostile)[0] != limit_spec(named)[0]
