"""The one way to judge a batch: every (item, judge) through the judge pipeline, results into the store.

The CLI and the Ray Serve service are thin shells over :func:`run_batch`. Judge work goes through a
:class:`JudgeExecutor`: in-process here (:class:`LocalExecutor`), or on Serve replicas in the service.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol as TypingProtocol

from council.robustness.flags import flag_batch, route_flags
from council.spec import check_scoring
from council.store.store import Store
from council.types import Batch, BatchItem, CouncilSpec, PairwiseOptions, RunSummary, content_id
from judges.agents.pairwise import pairwise_agent
from judges.client.gate import CallGate
from judges.client.limits import LimiterFactory, local_limiter_factory
from judges.client.model import CallGuard, ModelClient, RetryPolicy
from judges.client.records import CallLedger, CallTags
from judges.injection import Defences
from judges.pairwise_pipeline import PairToJudge, PairwiseContextJudgment, PairwisePipeline
from judges.pipeline import ContextJudgment, JudgePipeline, gather_in_order
from judges.types import Candidate, Context, JudgeSpec
from protocols import Protocol

__all__ = ["JudgeExecutor", "LocalExecutor", "ProgressCallback", "Unit", "prepare_batch", "run_batch", "run_units"]

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
                 gate_factory: Callable[[JudgeSpec], CallGate] | None = None,
                 defences: Defences | None = None) -> None:
        """Judge in this process; ``defences`` (default: all on) apply unless a ``pipeline`` is given."""
        self.ledger = ledger
        self.gate_factory = gate_factory
        self.limiter_factory = limiter_factory or local_limiter_factory()
        self.retry = retry or RetryPolicy()
        self.guard = guard
        self.pipeline = pipeline or (JudgePipeline.defended(defences) if defences is not None else JudgePipeline())
        self.pairwise = PairwisePipeline(upstream=self.pipeline, compare=pairwise_agent(defences=defences)) \
            if defences is not None else PairwisePipeline(upstream=self.pipeline)
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

    async def judge_pairs(self, judge: JudgeSpec, context: Context, candidates: list[Candidate],
                          pairs: list[PairToJudge], protocol: Protocol, tags: CallTags,
                          attributes: list[str]) -> PairwiseContextJudgment:
        """Compare the given presentations of the context's candidates with this judge, in this process.

        Embedded judges run their contexts one at a time, as in :meth:`judge_context`, so a context's ToM,
        domain and pairwise calls reuse the prompt prefix they share.
        """
        run = self.pairwise.judge_pairs
        if not judge.score_readout:
            return await run(self.client(judge), context, candidates, pairs, protocol, tags, attributes)
        async with self._one_context.setdefault(limiter_key(judge), asyncio.Lock()):
            return await run(self.client(judge), context, candidates, pairs, protocol, tags, attributes)


def prepare_batch(store: Store, batch: Batch, protocol: Protocol, council: CouncilSpec, *,
                  owner: str = "local", pairwise: PairwiseOptions | None = None) -> str:
    """Validate-and-store a batch; the id is derived from its content, so the same batch maps to one id.

    With ``pairwise`` the batch is a pairwise one: its options (stored in ``batches.options``) are part of
    the id, so the same file judged absolutely and pairwise gives two batches; absolute ids are unchanged.
    """
    check_scoring(council, protocol)
    if council.calibration_id:  # fail before any judging when the named calibration is absent or does not fit
        from council.analysis import check_council_calibration
        check_council_calibration(store, council, protocol, owner)
    if pairwise is None:
        batch_id = content_id("b", owner, batch, protocol.content_hash, council)
        store.save_batch(batch_id, batch, protocol, council, owner=owner)
        flag_batch(store, batch_id, batch)
        return batch_id
    pairwise.check_batch(batch)
    options = pairwise.as_options()
    batch_id = content_id("b", owner, batch, protocol.content_hash, council, options)
    store.save_batch(batch_id, batch, protocol, council, owner=owner, options=options)
    flag_batch(store, batch_id, batch)
    return batch_id


Unit = Callable[[BatchItem, JudgeSpec, CallTags], Awaitable[None]]
"""One (item, judge) unit of a run: judge, store, report progress."""


async def run_units(store: Store, batch_id: str, batch: Batch, council: CouncilSpec, unit: Unit, *,
                    max_items_in_flight: int = 64, stop_reason: Callable[[], str | None] | None = None,
                    finish: Callable[[], None] | None = None,
                    counts: Callable[[], dict[str, int]] | None = None, settle: bool = True) -> RunSummary:
    """Open a run, run ``unit`` for every (item, judge) and close the run with its status; return its summary.

    The shared frame of absolute and pairwise runs: items run concurrently (at most ``max_items_in_flight``),
    judges of an item concurrently within their limiters; ``finish`` runs after every unit succeeded; a
    cancel is recorded as ``cancelled``, an error as ``failed`` (and re-raised). ``counts`` gives the summary's
    ``judgments`` and ``abstentions`` (default: the batch's attribute judgments). ``settle=False`` leaves the
    batch's status alone when the run completes (a gated batch runs one run per tier and settles at the end).
    """
    started = time.perf_counter()
    run_id = store.start_run(batch_id)
    window = asyncio.Semaphore(max_items_in_flight)

    async def judge_item(item: BatchItem) -> None:
        async with window:
            tags = CallTags(judge_id="", agent="", batch_id=batch_id, run_id=run_id)
            await gather_in_order([lambda j=j: unit(item, j, tags) for j in council.judges])  # type: ignore[misc]

    status, error = "completed", None
    try:
        await gather_in_order([lambda i=i: judge_item(i) for i in batch.items])  # type: ignore[misc]
        if finish is not None:
            finish()
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
    if settle or status != "completed":
        store.set_batch_status(batch_id, status)
    judged = counts() if counts is not None else store.judgment_counts(batch_id)
    return RunSummary(run_id=run_id, batch_id=batch_id, status=status, seconds=time.perf_counter() - started,
                      **store.run_counts(run_id), **judged)


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
    settle: bool = True,
) -> RunSummary:
    """Judge every item with every judge of the council and store everything; return the run's summary.

    Items run concurrently (at most ``max_items_in_flight`` at once, which bounds memory); every judge's
    pipeline runs concurrently within its model's limiter. Writing is idempotent, so re-running a batch
    (after a crash, or to re-read it) stores each judgment once and costs no LLM call. ``stop_reason``
    names why a run ended early (``budget_exceeded`` …) when its guard stopped paid calls; ``settle`` as in
    :func:`run_units`.
    """
    total, done = len(batch.items) * len(council.judges), 0

    async def one(item: BatchItem, judge: JudgeSpec, tags: CallTags) -> None:
        nonlocal done
        judgment = await executor.judge_context(judge, item.as_context(), list(item.candidates), protocol, tags)
        await store.write_context_judgment(batch_id, tags.run_id or "", judgment, protocol)
        done += 1
        if progress is not None:
            progress(done, total, judgment)

    def calibrate() -> None:
        route_flags(store, batch_id)  # suspected manipulation → human review (scores stay, beside the flag)
        if council.calibration_id:  # calibrated scores beside the raw ones
            from council.analysis import apply_calibration_to_batch
            apply_calibration_to_batch(store, batch_id, council.calibration_id)

    return await run_units(store, batch_id, batch, council, one, max_items_in_flight=max_items_in_flight,
                           stop_reason=stop_reason, finish=calibrate, settle=settle)
