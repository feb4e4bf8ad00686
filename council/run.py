"""The one way to judge a batch: every (item, judge) through the judge pipeline, results into the store.

The CLI and the Ray Serve service are thin shells over :func:`run_batch`. Judge work goes through a
:class:`JudgeExecutor`: in-process here (:class:`LocalExecutor`), or on Serve replicas in the service.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol as TypingProtocol

from council.spec import check_scoring
from council.store.store import Store
from council.types import Batch, BatchItem, CouncilSpec, RunSummary, content_id
from judges.client.gate import CallGate
from judges.client.limits import LimiterFactory, local_limiter_factory
from judges.client.model import CallGuard, ModelClient, RetryPolicy
from judges.client.records import CallLedger, CallTags
from judges.pipeline import ContextJudgment, JudgePipeline, gather_in_order
from judges.types import Candidate, Context, JudgeSpec
from protocols import Protocol

__all__ = ["JudgeExecutor", "LocalExecutor", "ProgressCallback", "prepare_batch", "run_batch"]

ProgressCallback = Callable[[int, int, ContextJudgment], None]
"""Called after each (item, judge) unit with (units done, units total, the unit's judgment)."""


class JudgeExecutor(TypingProtocol):
    """Runs one judge's pipeline on one context."""

    async def judge_context(self, judge: JudgeSpec, context: Context, candidates: list[Candidate],
                            protocol: Protocol, tags: CallTags) -> ContextJudgment:
        """Judge every candidate of the context with this judge."""
        ...


def limiter_key(judge: JudgeSpec) -> str:
    """Judges on the same model and endpoint share one limiter."""
    return f"{judge.model}@{judge.api_base or 'default'}"


class LocalExecutor:
    """Runs judge pipelines in this process, one :class:`ModelClient` per judge."""

    def __init__(self, ledger: CallLedger | None, *, limiter_factory: LimiterFactory | None = None,
                 retry: RetryPolicy | None = None, guard: CallGuard | None = None,
                 pipeline: JudgePipeline | None = None,
                 gate_factory: Callable[[JudgeSpec], CallGate] | None = None) -> None:
        self.ledger = ledger
        self.gate_factory = gate_factory
        self.limiter_factory = limiter_factory or local_limiter_factory()
        self.retry = retry or RetryPolicy()
        self.guard = guard
        self.pipeline = pipeline or JudgePipeline()
        self._clients: dict[str, ModelClient] = {}
        self._one_context: dict[str, asyncio.Lock] = {}

    def client(self, judge: JudgeSpec) -> ModelClient:
        """The model client for a judge (one per judge spec)."""
        key = judge.model_dump_json()
        if key not in self._clients:
            if self.gate_factory is not None:
                self._clients[key] = ModelClient(judge, None, None, retry=self.retry, gate=self.gate_factory(judge))
            else:
                limiter = self.limiter_factory(limiter_key(judge), judge.max_concurrency,
                                               judge.requests_per_minute, judge.tokens_per_minute)
                self._clients[key] = ModelClient(judge, self.ledger, limiter, retry=self.retry, guard=self.guard)
        return self._clients[key]

    async def judge_context(self, judge: JudgeSpec, context: Context, candidates: list[Candidate],
                            protocol: Protocol, tags: CallTags) -> ContextJudgment:
        """Judge every candidate of the context with this judge, in this process.

        An embedded judge (``score_readout``) keeps one KV-cache sequence, so its contexts run one after
        another: each context's ToM, domain and scoring calls then reuse the prompt prefix they share (the
        conversation, then the panel's notes) instead of evicting each other's.
        """
        if not judge.score_readout:
            return await self.pipeline.judge_context(self.client(judge), context, candidates, protocol, tags)
        async with self._one_context.setdefault(limiter_key(judge), asyncio.Lock()):
            return await self.pipeline.judge_context(self.client(judge), context, candidates, protocol, tags)


def prepare_batch(store: Store, batch: Batch, protocol: Protocol, council: CouncilSpec, *,
                  owner: str = "local") -> str:
    """Validate-and-store a batch; the id is derived from its content, so the same batch maps to one id."""
    check_scoring(council, protocol)
    if council.calibration_id:  # fail before any judging when the named calibration is absent or does not fit
        from council.analysis import check_council_calibration
        check_council_calibration(store, council, protocol, owner)
    batch_id = content_id("b", owner, batch, protocol.content_hash, council)
    store.save_batch(batch_id, batch, protocol, council, owner=owner)
    return batch_id


async def run_batch(
    store: Store,
    batch_id: str,
    batch: Batch,
    protocol: Protocol,
    council: CouncilSpec,
    executor: JudgeExecutor,
    *,
    progress: ProgressCallback | None = None,
    max_items_in_flight: int = 64,
    stop_reason: Callable[[], str | None] | None = None,
) -> RunSummary:
    """Judge every item with every judge of the council and store everything; return the run's summary.

    Items run concurrently (at most ``max_items_in_flight`` at once, which bounds memory); every judge's
    pipeline runs concurrently within its model's limiter. Writing is idempotent, so re-running a batch
    (after a crash, or to re-read it) stores each judgment once and costs no LLM call. ``stop_reason``
    names why a run ended early (``budget_exceeded`` …) when its guard stopped paid calls.
    """
    started = time.perf_counter()
    run_id = store.start_run(batch_id)
    total, done = len(batch.items) * len(council.judges), 0
    window = asyncio.Semaphore(max_items_in_flight)

    async def judge_item(item: BatchItem) -> None:
        nonlocal done
        async with window:
            context = item.as_context()
            tags = CallTags(judge_id="", agent="", batch_id=batch_id, run_id=run_id)

            async def one(judge: JudgeSpec) -> None:
                nonlocal done
                judgment = await executor.judge_context(judge, context, list(item.candidates), protocol, tags)
                await store.write_context_judgment(batch_id, run_id, judgment, protocol)
                done += 1
                if progress is not None:
                    progress(done, total, judgment)

            await gather_in_order([lambda j=j: one(j) for j in council.judges])  # type: ignore[misc]

    status, error = "completed", None
    try:
        await gather_in_order([lambda i=i: judge_item(i) for i in batch.items])  # type: ignore[misc]
        if council.calibration_id:  # calibrated scores beside the raw ones
            from council.analysis import apply_calibration_to_batch
            apply_calibration_to_batch(store, batch_id, council.calibration_id)
    except BaseException as e:
        task = asyncio.current_task()
        if isinstance(e, asyncio.CancelledError) or (task is not None and task.cancelling()):
            # a cancel, even when it surfaces as the errors of the units it interrupted: not a failure
            status, error = "cancelled", None
        else:
            status, error = "failed", f"{type(e).__name__}: {e}"
        store.finish_run(run_id, status, error)
        store.set_batch_status(batch_id, status, error)
        raise
    status = (stop_reason() if stop_reason else None) or status
    store.finish_run(run_id, status)
    store.set_batch_status(batch_id, status)
    return RunSummary(run_id=run_id, batch_id=batch_id, status=status, seconds=time.perf_counter() - started,
                      **store.run_counts(run_id), **store.judgment_counts(batch_id))
