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
from typing import Any

from council.results import results_file
from council.run import JudgeExecutor, run_batch
from council.service.estimate import estimate_batch
from council.service.guard import BatchGuard
from council.service.remote import LimiterState, LimitSpec
from council.service.schemas import BatchAccepted, BatchRequest, BatchStatus, Budget, Estimate, Progress
from council.spec import check_scoring
from council.store.store import Store
from council.types import Batch, CouncilSpec, content_id
from judges.client.records import CachedReply, CallRecord, CallTags
from judges.pipeline import ContextJudgment
from protocols import Protocol, ProtocolError, list_protocols, load_protocol, parse_protocol

__all__ = ["CouncilCore", "NotFound", "RequestError"]

log = logging.getLogger(__name__)
FINISHED = {"completed", "cancelled", "budget_exceeded", "failed"}


class NotFound(LookupError):
    """The entity does not exist for this owner (another owner's entities are not found either)."""


class RequestError(ValueError):
    """A request that is well-formed JSON but not acceptable; names the field."""

    def __init__(self, message: str, field: str | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


class CouncilCore:
    """Batches, protocols and the call ledger of the service, over one :class:`Store`."""

    def __init__(self, store: Store, executor: JudgeExecutor,
                 councils: dict[str, CouncilSpec | Callable[[], CouncilSpec]],
                 *, max_items: int = 10_000, max_candidates: int = 32, max_items_in_flight: int = 64,
                 metrics: Any = None, allowed_api_bases: tuple[str, ...] = ()) -> None:
        self.store = store
        self.executor = executor
        self._councils = councils
        self.max_items = max_items
        self.max_candidates = max_candidates
        self.max_items_in_flight = max_items_in_flight
        self.metrics = metrics
        self.allowed_api_bases = allowed_api_bases
        self.limits = LimiterState()
        self._runs: dict[str, asyncio.Task[None]] = {}
        self._guards: dict[str, BatchGuard] = {}

    # ------------------------------------------------------------ protocols and councils

    def protocol(self, owner: str, protocol_id: str) -> Protocol:
        """A shipped protocol, or one this owner posted."""
        if protocol_id in list_protocols():
            return load_protocol(protocol_id)
        row = self.store.db.execute(
            "SELECT p.document FROM custom_protocols c JOIN protocols p USING (protocol_hash) "
            "WHERE c.owner = ? AND c.protocol_id = ?", [owner, protocol_id]).fetchone()
        if row is None:
            raise RequestError(f"unknown protocol {protocol_id!r}", field="protocol")
        return Protocol.model_validate(json.loads(row[0]))

    def list_protocols(self, owner: str) -> list[tuple[Protocol, bool]]:
        """Shipped protocols and this owner's own, with a flag saying which are shipped."""
        shipped = [(load_protocol(p), True) for p in list_protocols()]
        rows = self.store.query("SELECT p.document FROM custom_protocols c JOIN protocols p USING (protocol_hash) "
                                "WHERE c.owner = ? ORDER BY c.protocol_id", [owner])
        return shipped + [(Protocol.model_validate(json.loads(d)), False) for d in rows.document]

    def add_protocol(self, owner: str, document: dict[str, Any]) -> Protocol:
        """Validate and store a custom protocol for this owner (shipped ids cannot be replaced)."""
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
        """A named council, or the inline spec itself."""
        if isinstance(spec, CouncilSpec):
            for i, judge in enumerate(spec.judges):
                if judge.api_key_env and judge.api_base:  # it would send a server-side secret to the caller's URL
                    raise RequestError("an inline council cannot send a key from the server's environment to its "
                                       "own api_base; ask the operator for a named council",
                                       field=f"council.judges.{i}.api_key_env")
                if judge.api_base and not any(judge.api_base.startswith(p) for p in self.allowed_api_bases):
                    # prompts must not go to arbitrary URLs the service can reach (SSRF)
                    raise RequestError(f"api_base {judge.api_base!r} is not allowed for inline councils; the "
                                       "operator allows: " + (", ".join(self.allowed_api_bases) or "none"),
                                       field=f"council.judges.{i}.api_base")
            return spec
        if spec not in self._councils:
            raise RequestError(f"unknown council {spec!r}; named councils: {', '.join(sorted(self._councils))}",
                               field="council")
        named = self._councils[spec]
        return named() if callable(named) else named

    # ------------------------------------------------------------ batches

    def _check_limits(self, request: BatchRequest) -> None:
        if len(request.items) > self.max_items:
            raise RequestError(f"items: {len(request.items)} items, at most {self.max_items} per batch",
                               field="items")
        for i, item in enumerate(request.items):
            if len(item.candidates) > self.max_candidates:
                raise RequestError(f"items.{i}.candidates: {len(item.candidates)} candidates, at most "
                                   f"{self.max_candidates} per item", field=f"items.{i}.candidates")

    def estimate(self, owner: str, request: BatchRequest) -> Estimate:
        """Calls and tokens the batch will need, before anything runs."""
        self._check_limits(request)
        batch = Batch(items=request.items, name=request.name)
        return estimate_batch(batch, self.protocol(owner, request.protocol), self.council(request.council))

    async def submit(self, owner: str, request: BatchRequest, idempotency_key: str | None = None) -> BatchAccepted:
        """Validate, store and queue a batch; an Idempotency-Key or identical content returns the same batch."""
        self._check_limits(request)
        request_hash = content_id("q", request.model_dump(mode="json"))
        if idempotency_key:
            row = self.store.db.execute("SELECT batch_id, request_hash FROM idempotency_keys WHERE owner = ? AND "
                                        "key = ?", [owner, idempotency_key]).fetchone()
            if row is not None:
                if row[1] != request_hash:
                    raise RequestError("Idempotency-Key was already used with a different request",
                                       field="Idempotency-Key", status=409)
                return self._accepted(row[0], created=False)
        protocol, council = self.protocol(owner, request.protocol), self.council(request.council)
        check_scoring(council, protocol)  # an expected-scoring judge without logprobs is refused here (422)
        batch = Batch(items=request.items, name=request.name)
        options = {"budget": request.budget.model_dump() if request.budget else None}
        batch_id = content_id("b", owner, batch, protocol.content_hash, council, options)
        created = self.store.save_batch(batch_id, batch, protocol, council, owner=owner, options=options)
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
            raise NotFound(f"no batch {batch_id!r}")
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
            await run_batch(self.store, batch_id, batch, protocol, council, self.executor,
                            max_items_in_flight=self.max_items_in_flight, stop_reason=guard.stop_reason,
                            progress=self._count(protocol))
        except asyncio.CancelledError:
            self.store.set_batch_status(batch_id, "cancelled")
            self.store.db.execute("UPDATE runs SET status = 'cancelled', finished_at = now() "
                                  "WHERE batch_id = ? AND status = 'running'", [batch_id])
            raise
        except Exception:  # noqa: BLE001 - recorded on the batch by run_batch; the service keeps serving
            log.exception("batch %s failed", batch_id)
        finally:
            self._guards.pop(batch_id, None)

    def _count(self, protocol: Protocol) -> Callable[[int, int, ContextJudgment], None] | None:
        if self.metrics is None:
            return None

        def count(_done: int, _total: int, judgment: ContextJudgment) -> None:
            for candidate in judgment.candidates:
                for score in candidate.attribute_scores(protocol):
                    self.metrics.judgment(judgment.judge_id, score.abstention)

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
        """Stop a batch: no new calls are made; what is stored stays."""
        row = self._row(batch_id, owner)
        if row["status"] not in FINISHED:
            self.store.set_batch_status(batch_id, "cancelling")
            task = self._runs.get(batch_id)
            if task is not None and not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            self.store.set_batch_status(batch_id, "cancelled")
        return self.status(owner, batch_id)

    def status(self, owner: str, batch_id: str) -> BatchStatus:
        """Status, progress counts, spend and errors of one of this owner's batches."""
        row = self._row(batch_id, owner)
        council = CouncilSpec.model_validate(json.loads(row["council"]))
        progress = self.store.batch_progress(batch_id)
        counts = self.store.judgment_counts(batch_id)
        reasons = self.store.query("SELECT abstention, count(*) AS n FROM judgments WHERE batch_id = ? AND "
                                   "score IS NULL GROUP BY ALL", [batch_id])
        errors = self.store.query("SELECT DISTINCT error FROM (SELECT error FROM llm_calls WHERE batch_id = ? AND "
                                  "error IS NOT NULL LIMIT 20)", [batch_id]).error.tolist()
        options = json.loads(row["options"] or "{}")
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
            cost_usd=progress["cost_usd"], budget=options.get("budget"),
            errors=([row["error"]] if isinstance(row["error"], str) else []) + errors,
            created_at=row["created_at"], updated_at=row["updated_at"])

    def list_batches(self, owner: str) -> list[dict[str, Any]]:
        """This owner's batches, newest first."""
        df = self.store.query("SELECT batch_id, name, status, protocol_id, council_id, n_items, n_candidates, "
                              "created_at, updated_at FROM batches WHERE owner = ? ORDER BY created_at DESC", [owner])
        return json.loads(df.to_json(orient="records", date_format="iso"))

    def results(self, owner: str, batch_id: str, fmt: str = "json", traces: bool = False) -> tuple[str, bytes]:
        """A batch's raw per-judge, council and calibrated scores as JSON, CSV or Parquet (:func:`results_file`)."""
        self._row(batch_id, owner)
        return results_file(self.store, batch_id, fmt, traces)

    # ------------------------------------------------------------ the call ledger and guard for workers

    async def enter(self, cache_key: str, tags: CallTags, limits: LimitSpec,
                    estimated_tokens: int) -> CachedReply | None:
        """Admit one call of a judge replica: the cached reply, or (budget allowing) a slot of its limits."""
        cached = await self.store.cached_reply(cache_key)
        if cached is None:
            await self.before_call(tags)
            await self.limits.acquire(limits, estimated_tokens)
        return cached

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
