"""The service's core: owns the DuckDB store (the single writer), accepts batches and runs them.

Plain asyncio, no Ray: the Serve deployment in :mod:`council.service.app` wraps one instance, and tests
can drive it in-process. Batches run through the same :func:`council.run.run_batch` as the CLI; judge
work goes to whatever :class:`~council.run.JudgeExecutor` the deployment injects (Serve replicas).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from council.analysis import AnalysisError, NotFoundError, check_council_calibration
from council.gating.decisions import gate_summary
from council.robustness.flags import flag_batch
from council.run import JudgeExecutor, run_batch
from council.service.egress import EgressPolicy
from council.service.errors import Conflict, NotFound, RequestError, scrub
from council.service.estimate import estimate_batch
from council.service.export import results_page
from council.service.guard import BatchGuard
from council.service.limits import Limits, check_batch, check_protocol_document
from council.service.remote import LimiterState, LimitSpec
from council.service.schemas import BatchAccepted, BatchRequest, BatchStatus, Budget, Estimate, Progress
from council.spec import check_scoring
from council.store.store import Store
from council.types import Batch, CouncilSpec, PairwiseOptions, content_id
from judges.client.records import CachedReply, CallRecord, CallTags
from judges.errors import BudgetExceeded, ConfigError
from judges.pipeline import ContextJudgment
from protocols import Protocol, ProtocolError, list_protocols, load_protocol, parse_protocol

if TYPE_CHECKING:
    from council.escalation import StoredGate

__all__ = ["BatchCancelled", "CouncilCore", "NotFound", "RequestError"]

log = logging.getLogger(__name__)
FINISHED = {"completed", "cancelled", "budget_exceeded", "failed"}


class BatchCancelled(BudgetExceeded):
    """The batch was cancelled: no further paid call is admitted (handled like a spent budget by the pipeline)."""


class CouncilCore:
    """Batches, protocols and the call ledger of the service, over one :class:`Store`."""

    def __init__(self, store: Store, executor: JudgeExecutor,
                 councils: dict[str, CouncilSpec | Callable[[], CouncilSpec]],
                 *, limits: Limits | None = None, max_items_in_flight: int = 64,
                 metrics: Any = None, egress: EgressPolicy | None = None) -> None:
        self.store = store
        self.executor = executor
        self._councils = councils
        self.request_limits = limits or Limits()
        self.max_items_in_flight = max_items_in_flight
        self.metrics = metrics
        self.egress = egress or EgressPolicy()
        self.limits = LimiterState()
        self._runs: dict[str, asyncio.Task[None]] = {}
        self._guards: dict[str, BatchGuard] = {}
        self._verdict_totals: dict[str, int] = {}
        self._cancelled: set[str] = set()
        """Batches whose cancel was acknowledged (or is under way): no call of theirs is admitted again."""

    # ------------------------------------------------------------ protocols and councils

    def protocol(self, owner: str, protocol_id: str) -> Protocol:
        """A shipped protocol, or one this owner posted."""
        if protocol_id in list_protocols():
            return load_protocol(protocol_id)
        row = self.store.db.execute(
            "SELECT p.document FROM custom_protocols c JOIN protocols p USING (protocol_hash) "
            "WHERE c.owner = ? AND c.protocol_id = ?", [owner, protocol_id]).fetchone()
        if row is None:
            raise RequestError(f"unknown protocol {protocol_id[:200]!r}", field="protocol")
        return Protocol.model_validate(json.loads(row[0]))

    def list_protocols(self, owner: str) -> list[tuple[Protocol, bool]]:
        """Shipped protocols and this owner's own, with a flag saying which are shipped."""
        shipped = [(load_protocol(p), True) for p in list_protocols()]
        rows = self.store.query("SELECT p.document FROM custom_protocols c JOIN protocols p USING (protocol_hash) "
                                "WHERE c.owner = ? ORDER BY c.protocol_id", [owner])
        return shipped + [(Protocol.model_validate(json.loads(d)), False) for d in rows.document]

    def add_protocol(self, owner: str, document: dict[str, Any]) -> Protocol:
        """Validate and store a custom protocol for this owner (shipped ids cannot be replaced)."""
        check_protocol_document(document, self.request_limits)  # before the model materialises the scale
        try:
            protocol = parse_protocol(document)
        except ProtocolError as e:
            raise RequestError(str(e), field="protocol") from e
        if protocol.id in list_protocols():
            raise RequestError(f"protocol id {protocol.id!r} is shipped; choose another id", field="id")
        self.store.save_protocol(protocol)
        with self.store.transaction() as db:
            db.execute("INSERT OR REPLACE INTO custom_protocols VALUES (?, ?, ?, now())",
                       [owner, protocol.id, protocol.content_hash])
        return protocol

    def council(self, spec: str | CouncilSpec) -> CouncilSpec:
        """A named council, or the inline spec itself once the egress policy allowed every judge's request."""
        if isinstance(spec, CouncilSpec):
            for i, judge in enumerate(spec.judges):
                self.egress.check(judge, f"council.judges.{i}")
            return spec
        if spec not in self._councils:
            raise RequestError(f"unknown council {spec[:200]!r}; named councils: {', '.join(sorted(self._councils))}",
                               field="council")
        named = self._councils[spec]
        return named() if callable(named) else named

    def _check_council(self, owner: str, council: CouncilSpec, protocol: Protocol) -> None:
        """An inline council's calibration exists, is this owner's, and fits its judges and the protocol."""
        if not council.calibration_id:
            return
        try:
            check_council_calibration(self.store, council, protocol, owner)
        except NotFoundError as e:
            raise RequestError(f"no calibration {council.calibration_id[:200]!r}",
                               field="council.calibration_id") from e
        except AnalysisError as e:
            raise RequestError(e.message, field="council.calibration_id") from e

    # ------------------------------------------------------------ batches

    def _validated(self, owner: str, request: BatchRequest) -> tuple[Batch, Protocol, CouncilSpec]:
        """Everything a batch will need, checked before anything is stored or run."""
        check_batch(request, self.request_limits)
        protocol, council = self.protocol(owner, request.protocol), self.council(request.council)
        if isinstance(request.council, CouncilSpec):  # a named council's calibration is the operator's
            self._check_council(owner, council, protocol)
        try:
            check_scoring(council, protocol)  # an expected-scoring judge without logprobs, refused here
        except ConfigError as e:
            raise RequestError(str(e), field=str(e).split(":", 1)[0]) from e
        batch = Batch(items=request.items, name=request.name)
        pairwise = request.pairwise_options()
        if pairwise is not None:
            try:
                pairwise.check_batch(batch)
            except ValueError as e:
                raise RequestError(str(e), field="pairs") from e
        return batch, protocol, council

    def _gate(self, owner: str, request: BatchRequest, council: CouncilSpec, protocol: Protocol) -> StoredGate | None:
        """The stored gate a submission names, checked against its council, protocol and mode (None: ungated)."""
        if request.gate is None:
            return None
        from council.gating import resolve_gate
        from council.gating.run import check_gate

        if request.mode != "absolute":
            raise RequestError("a gate routes absolute scores; pairwise batches cannot be gated", field="gate")
        try:
            stored = resolve_gate(self.store, request.gate, owner)
        except NotFoundError as e:
            raise RequestError(f"no gate {request.gate[:200]!r}", field="gate") from e
        try:
            check_gate(stored, council, protocol)
        except AnalysisError as e:
            raise RequestError(e.message, field=e.field) from e
        return stored

    def estimate(self, owner: str, request: BatchRequest) -> Estimate:
        """Calls and tokens the batch will need, before anything runs."""
        batch, protocol, council = self._validated(owner, request)
        estimate = estimate_batch(batch, protocol, council, request.pairwise_options())
        stored = self._gate(owner, request, council, protocol)
        if stored is None:
            return estimate
        first = set(stored.tiers[0].judges)
        tier1 = council.model_copy(update={"judges": [j for j in council.judges if j.id in first], "quorum": None})
        return estimate.model_copy(update={"calls_min": estimate_batch(batch, protocol, tier1).calls})

    async def submit(self, owner: str, request: BatchRequest, idempotency_key: str | None = None) -> BatchAccepted:
        """Validate, store and queue a batch; an Idempotency-Key or identical content returns the same batch."""
        batch, protocol, council = self._validated(owner, request)
        request_hash = content_id("q", request.model_dump(mode="json"))
        if idempotency_key:
            row = self.store.db.execute("SELECT batch_id, request_hash FROM idempotency_keys WHERE owner = ? AND "
                                        "key = ?", [owner, idempotency_key]).fetchone()
            if row is not None:
                if row[1] != request_hash:
                    raise Conflict("Idempotency-Key was already used with a different request",
                                   field="Idempotency-Key")
                return self._accepted(row[0], created=False)
        options: dict[str, Any] = {"budget": request.budget.model_dump() if request.budget else None}
        pairwise = request.pairwise_options()
        if pairwise is not None:  # absolute batches keep the options (and so the ids) they always had
            options |= pairwise.as_options()
        stored = self._gate(owner, request, council, protocol)
        if stored is not None:  # the exact gate version: a refit gate makes a new batch, not a changed one
            options["gate"] = stored.gate_id
        batch_id = content_id("b", owner, batch, protocol.content_hash, council, options)
        created = self.store.save_batch(batch_id, batch, protocol, council, owner=owner, options=options)
        if created:  # suspected manipulation flagged now; routed to review when the run finishes
            flag_batch(self.store, batch_id, batch)
        if idempotency_key:
            with self.store.transaction() as db:
                db.execute("INSERT OR IGNORE INTO idempotency_keys VALUES (?, ?, ?, ?, now())",
                           [owner, idempotency_key, request_hash, batch_id])
        status = self._row(batch_id)["status"]
        if created or status in ("queued", "running"):
            self._start(batch_id)
        return self._accepted(batch_id, created=created)

    def _accepted(self, batch_id: str, *, created: bool) -> BatchAccepted:
        return BatchAccepted(batch_id=batch_id, status=self._row(batch_id)["status"], created=created,
                             status_url=f"/v1/batches/{batch_id}", results_url=f"/v1/batches/{batch_id}/results")

    def _row(self, batch_id: str, owner: str | None = None) -> dict[str, Any]:
        df = self.store.query("SELECT * FROM batches WHERE batch_id = ?", [batch_id])
        if df.empty or (owner is not None and df.owner[0] != owner):
            raise NotFound(f"no batch {batch_id[:200]!r}", field="batch_id")
        return df.iloc[0].to_dict()

    def _start(self, batch_id: str) -> None:
        if batch_id in self._runs and not self._runs[batch_id].done():
            return
        self._runs[batch_id] = asyncio.create_task(self._run(batch_id), name=f"batch {batch_id}")

    async def _run(self, batch_id: str) -> None:
        batch, protocol, council = self.store.load_batch(batch_id)
        options = json.loads(self._row(batch_id)["options"] or "{}")
        budget = Budget.model_validate(options["budget"]) if options.get("budget") else None
        spent = self.store.batch_progress(batch_id)
        guard = BatchGuard(budget, spent["prompt_tokens"] + spent["completion_tokens"], spent["cost_usd"])
        self._guards[batch_id] = guard
        try:
            if options.get("gate"):
                from council.escalation import get_gate
                from council.gating import run_gated_batch

                owner = self._row(batch_id)["owner"]
                await run_gated_batch(self.store, batch_id, batch, protocol, council, self.executor,
                                      get_gate(self.store, options["gate"], owner), owner=owner,
                                      progress=self._count(protocol), stop_reason=guard.stop_reason)
            elif options.get("mode") == "pairwise":
                from council.pairwise.run import run_pairwise_batch

                pairwise = PairwiseOptions.model_validate(options["pairwise"])
                await run_pairwise_batch(self.store, batch_id, batch, protocol, council, self.executor,  # type: ignore[arg-type]
                                         pairwise, max_items_in_flight=self.max_items_in_flight,
                                         stop_reason=guard.stop_reason,
                                         progress=self._count_verdicts(batch, pairwise.attributes(
                                             protocol.attribute_ids)))
            else:
                await run_batch(self.store, batch_id, batch, protocol, council, self.executor,
                                max_items_in_flight=self.max_items_in_flight, stop_reason=guard.stop_reason,
                                progress=self._count(protocol))
        except asyncio.CancelledError:
            self._record_cancelled(batch_id)
            raise
        except Exception:  # noqa: BLE001 - recorded on the batch by run_batch; the service keeps serving
            if batch_id in self._cancelled:  # a cancel can surface as the errors of the units it interrupted
                self._record_cancelled(batch_id)
            else:
                log.exception("batch %s failed", batch_id)
        finally:
            self._guards.pop(batch_id, None)

    def _record_cancelled(self, batch_id: str) -> None:
        self.store.set_batch_status(batch_id, "cancelled")
        with self.store.transaction() as db:
            db.execute("UPDATE runs SET status = 'cancelled', error = NULL, finished_at = now() "
                       "WHERE batch_id = ? AND status IN ('running', 'failed') AND run_id = (SELECT run_id FROM "
                       "runs WHERE batch_id = ? ORDER BY started_at DESC LIMIT 1)", [batch_id, batch_id])

    def _count(self, protocol: Protocol) -> Callable[[int, int, ContextJudgment], None] | None:
        if self.metrics is None:
            return None

        def count(_done: int, _total: int, judgment: ContextJudgment) -> None:
            for candidate in judgment.candidates:
                for score in candidate.attribute_scores(protocol):
                    self.metrics.judgment(judgment.judge_id, score.abstention)

        return count

    def _count_verdicts(self, batch: Batch, attributes: list[str]) -> Callable[[int, int, Any], None] | None:
        """The pairwise run's progress callback: one metrics count per verdict row it stores."""
        if self.metrics is None:
            return None
        from council.pairwise.run import pair_verdicts

        items = {item.id: item for item in batch.items}

        def count(_done: int, _total: int, judgment: Any) -> None:
            for verdict in pair_verdicts(items[judgment.context_id], judgment, attributes):
                self.metrics.verdict(judgment.judge_id, verdict.abstention)

        return count

    async def resume_unfinished(self) -> list[str]:
        """Restart every batch a previous process left queued or running (after a crash or restart)."""
        ids = list(self.store.query("SELECT batch_id FROM batches WHERE status IN ('queued', 'running', "
                                    "'cancelling') ORDER BY created_at").batch_id)
        for batch_id in ids:
            with self.store.transaction() as db:  # the process that ran them is gone: say so, do not leave them open
                db.execute("UPDATE runs SET status = 'interrupted', finished_at = now(), error = 'the service "
                           "stopped before the run finished' WHERE batch_id = ? AND status = 'running'", [batch_id])
            if self._row(batch_id)["status"] == "cancelling":
                self.store.set_batch_status(batch_id, "cancelled")
            else:
                self._start(batch_id)
        return ids

    async def cancel(self, owner: str, batch_id: str) -> BatchStatus:
        """Stop a batch: from now on no call of it is admitted; units in flight are cancelled; what is stored stays.

        The batch is marked before anything else, so a judge replica asking to start a call after this point
        is refused (:meth:`enter`, :meth:`admit`); cancelling the run cancels the units' handle calls, which
        Ray Serve propagates to the replicas (their provider calls are cancelled as asyncio tasks). Replies
        already paid for were recorded, so they stay in the cache.
        """
        row = self._row(batch_id, owner)
        if row["status"] not in FINISHED:
            self._cancelled.add(batch_id)
            self.store.set_batch_status(batch_id, "cancelling")
            task = self._runs.get(batch_id)
            if task is not None and not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            self._record_cancelled(batch_id)
        return self.status(owner, batch_id)

    def status(self, owner: str, batch_id: str) -> BatchStatus:
        """Status, progress counts, spend and errors of one of this owner's batches."""
        row = self._row(batch_id, owner)
        council = CouncilSpec.model_validate(json.loads(row["council"]))
        progress = self.store.batch_progress(batch_id)
        options = json.loads(row["options"] or "{}")
        pairwise = options.get("mode") == "pairwise"
        counts = self.store.verdict_counts(batch_id) if pairwise else self.store.judgment_counts(batch_id)
        missing = "pairwise_verdicts WHERE verdict IS NULL" if pairwise else "judgments WHERE score IS NULL"
        reasons = self.store.query(f"SELECT abstention, count(*) AS n FROM {missing} AND batch_id = ? GROUP BY ALL",
                                   [batch_id])
        errors = self.store.query("SELECT DISTINCT error FROM (SELECT error FROM llm_calls WHERE batch_id = ? AND "
                                  "error IS NOT NULL LIMIT 20)", [batch_id]).error.tolist()
        run = self.store.query("SELECT status FROM runs WHERE batch_id = ? ORDER BY started_at DESC LIMIT 1",
                               [batch_id]).status.tolist()
        return BatchStatus(
            batch_id=batch_id, name=row["name"], status=row["status"], protocol=row["protocol_id"],
            council=row["council_id"], judges=[j.id for j in council.judges],
            progress=Progress(contexts=row["n_items"], contexts_done=progress["contexts_done"],
                              candidates=row["n_candidates"], units=row["n_items"] * len(council.judges),
                              units_done=progress["units_done"], calls_made=progress["calls_made"],
                              calls_cached=progress["calls_cached"], calls_failed=progress["calls_failed"]),
            judgments=counts["judgments"], abstentions=counts["abstentions"],
            abstentions_by_reason=dict(zip(reasons.abstention, reasons.n.astype(int), strict=True)),
            prompt_tokens=progress["prompt_tokens"], completion_tokens=progress["completion_tokens"],
            mode="pairwise" if pairwise else "absolute",
            verdicts_total=self._verdicts_total(batch_id, council, options) if pairwise else None,
            cost_usd=progress["cost_usd"], budget=options.get("budget"),
            errors=[scrub(e) for e in ([row["error"]] if isinstance(row["error"], str) else []) + errors],
            run_status=run[0] if run else None,
            gate=gate_summary(self.store, batch_id) if options.get("gate") else None,
            created_at=row["created_at"], updated_at=row["updated_at"])

    def _verdicts_total(self, batch_id: str, council: CouncilSpec, options: dict[str, Any]) -> int:
        """Verdict rows a pairwise batch stores when complete (computed once per batch: batches never change)."""
        if batch_id not in self._verdict_totals:
            from council.pairwise.run import planned_verdicts

            pairwise = PairwiseOptions.model_validate(options["pairwise"])
            cands = self.store.query("SELECT item_id, candidate_id, responder FROM candidates WHERE batch_id = ? "
                                     "ORDER BY item_id, position", [batch_id])
            items = [(str(i), list(zip(g.candidate_id, g.responder, strict=True)))
                     for i, g in cands.groupby("item_id", sort=False)]
            protocol = self.store.query("SELECT count(*) AS n FROM protocol_attributes WHERE protocol_hash = "
                                        "(SELECT protocol_hash FROM batches WHERE batch_id = ?)", [batch_id]).n[0]
            n_attributes = 1 if pairwise.compare == "overall" else int(protocol)
            self._verdict_totals[batch_id] = planned_verdicts(items, council, pairwise, n_attributes)
        return self._verdict_totals[batch_id]

    def list_batches(self, owner: str, limit: int = 1000) -> list[dict[str, Any]]:
        """This owner's batches, newest first (at most ``limit``)."""
        df = self.store.query("SELECT batch_id, name, status, protocol_id, council_id, n_items, n_candidates, "
                              "created_at, updated_at FROM batches WHERE owner = ? ORDER BY created_at DESC LIMIT ?",
                              [owner, max(1, min(int(limit), 1000))])
        return json.loads(df.to_json(orient="records", date_format="iso"))

    def results(self, owner: str, batch_id: str, fmt: str = "json", traces: bool = False, limit: int | None = None,
                offset: int = 0) -> tuple[str, bytes, int | None]:
        """One page of a batch's raw per-judge, council and calibrated scores as JSON, CSV or Parquet.

        Returns the media type, the content and the offset of the next page (None on the last page). CSV cells
        are neutralised against formula injection (:func:`~council.service.export.neutralise_formulas`).
        """
        page = limit if limit is not None else self.request_limits.max_page
        if page > self.request_limits.max_page:
            raise RequestError(f"limit: at most {self.request_limits.max_page} rows per page", field="limit")
        self._row(batch_id, owner)
        return results_page(self.store, batch_id, fmt, traces, page, offset)

    def pairwise_report(self, owner: str, batch_id: str, n_boot: int = 1000, seed: int = 0,
                        absolute_batch: str | None = None) -> dict[str, Any]:
        """A pairwise batch's report: leaderboards, judges' biases, τ against the absolute ranking (all with CIs).

        Bradley–Terry leaderboards; per judge position consistency, first-position, self and length
        preferences; Kendall τ against the absolute ranking of the same items.

        ``absolute_batch`` names the absolute batch to compare with; without it the owner's newest absolute
        batch with exactly the same item ids is used, and the report says which (or that there is none).

        Raises:
            NotFound: ``absolute_batch`` is not one of this owner's batches (field ``absolute_batch``).
            RequestError: The batch is not a pairwise one, it has no complete pair yet, ``absolute_batch`` is not
                an absolute batch sharing an item, or ``n_boot`` is out of bounds (at most ``max_bootstrap``).
        """
        from council.pairwise.report import AbsoluteBatchError, pairwise_report
        from council.stats.types import BootstrapSpec

        row = self._row(batch_id, owner)
        if json.loads(row["options"] or "{}").get("mode") != "pairwise":
            raise RequestError("not a pairwise batch (submit it with mode: pairwise)", field="batch_id")
        if not 10 <= n_boot <= self.request_limits.max_bootstrap:
            raise RequestError(f"n_boot: between 10 and {self.request_limits.max_bootstrap}", field="n_boot")
        if absolute_batch is not None:
            try:
                self._row(absolute_batch, owner)
            except NotFound as e:
                raise NotFound(f"no batch {absolute_batch[:200]!r}", field="absolute_batch") from e
        try:
            report = pairwise_report(self.store, batch_id, BootstrapSpec(n_boot=n_boot, seed=seed),
                                     absolute_batch=absolute_batch)
        except AbsoluteBatchError as e:
            raise RequestError(str(e), field="absolute_batch") from e
        except ValueError as e:
            raise RequestError(str(e), field="batch_id") from e
        return report.model_dump(mode="json")

    # ------------------------------------------------------------ the call ledger and guard for workers

    async def enter(self, cache_key: str, tags: CallTags, limits: LimitSpec,
                    estimated_tokens: int) -> CachedReply | None:
        """Admit one call of a judge replica: the cached reply, or (budget allowing) a slot of its limits.

        Raises:
            BatchCancelled: when the call's batch was cancelled (before or while it waited for a slot).
        """
        cached = await self.store.cached_reply(cache_key)
        if cached is None:
            self.admit(tags.batch_id)
            await self.before_call(tags)
            await self.limits.acquire(limits, estimated_tokens)
            if tags.batch_id in self._cancelled:  # cancelled while this call waited for its slot
                self.limits.release(limits[0])
                self.admit(tags.batch_id)
        return cached

    def admit(self, batch_id: str | None) -> None:
        """Refuse a provider attempt of a cancelled batch (raises :class:`BatchCancelled`)."""
        if batch_id in self._cancelled:
            raise BatchCancelled("the batch was cancelled")

    async def exit(self, calls: list[tuple[CallRecord | None, str | None]]) -> None:
        """Finish calls of a judge replica, each (record or None, limiter key or None): durable records, slots back."""
        try:
            records = [record for record, _ in calls if record is not None]
            if records:
                await self.record_calls(records)
        finally:
            for _, limiter_key in calls:
                if limiter_key is not None:
                    self.limits.release(limiter_key)

    async def record_calls(self, records: list[CallRecord]) -> None:
        """Store call records (one commit) and count each against its batch's budget."""
        await self.store.record_call(*records)
        for record in records:
            if self.metrics is not None:
                self.metrics.call(record)
            guard = self._guards.get(record.tags.batch_id or "")
            if guard is not None:
                guard.spend(record)

    async def before_call(self, tags: CallTags) -> None:
        """Refuse a paid call when its batch's budget is spent (raises BudgetExceeded)."""
        guard = self._guards.get(tags.batch_id or "")
        if guard is not None:
            guard.check()
