"""The Ray Serve application: ingress → core (single DuckDB writer, shared provider limits) ↔ judge workers.

The only module tree that imports Ray. ``build_app(args)`` is the application builder used by both
``council serve`` and ``serve run deploy/serve.yaml``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import ray
import yaml
from ray import serve
from ray.serve.handle import DeploymentHandle

from council.run import LocalExecutor
from council.service.analysis_api import AnalysisService
from council.service.api import make_api
from council.service.config import ServiceArgs, ensure_local_key, load_api_keys
from council.service.core import CouncilCore
from council.service.egress import EgressPolicy
from council.service.errors import ErrorAnswer, answer_for
from council.service.gates_service import GatesService
from council.service.metrics import CouncilMetrics, scrape_cluster
from council.service.remote import ExitBatcher, RemoteGate
from council.service.review_service import ReviewService
from council.service.schemas import ProtocolSummary
from council.service.views import ViewError, ViewsService
from council.spec import default_council, load_council, parse_council
from council.store.store import Store
from judges.client.adapter import _litellm
from judges.client.model import RetryPolicy
from judges.client.records import CallTags
from judges.local.models import council_home
from judges.pairwise_pipeline import PairToJudge, PairwiseContextJudgment
from judges.pipeline import ContextJudgment
from judges.types import Candidate, Context, JudgeSpec
from protocols import Protocol

__all__ = ["build_app"]

log = logging.getLogger(__name__)


# Internal deployments answer thousands of handle calls per second: a log line per call would cost more
# CPU than the call itself. Errors still reach the logs.
QUIET = {"enable_access_log": False, "log_level": "WARNING"}


def _app_name() -> str:
    return serve.get_replica_context().app_name


@serve.deployment(max_ongoing_requests=1024, logging_config=QUIET)
class JudgeWorker:
    """Runs one judge's pipeline on one context; the unit of judge work that scales out."""

    def __init__(self, args: dict[str, Any]) -> None:
        settings = ServiceArgs.model_validate(args)
        core = serve.get_deployment_handle("Core", _app_name())
        # cache, budget, limits and the call log all live in the core: a round trip per LLM call to enter,
        # and the exits of all this replica's calls coalesced into one round trip per flush
        exits = ExitBatcher(core)
        self.executor = LocalExecutor(None, gate_factory=lambda judge: RemoteGate(core, judge, exits),
                                      retry=RetryPolicy(multiplier=settings.retry_multiplier))
        self.node_id = ray.get_runtime_context().get_node_id()
        _litellm()  # import it now (seconds), not inside the first batch

    async def judge_context(self, judge: JudgeSpec, context: Context, candidates: list[Candidate],
                            protocol: Protocol, tags: CallTags) -> tuple[ContextJudgment, str]:
        """Judge every candidate of the context; also say which node did it."""
        judgment = await self.executor.judge_context(judge, context, candidates, protocol, tags)
        return judgment, self.node_id

    async def judge_pairs(self, judge: JudgeSpec, context: Context, candidates: list[Candidate],
                          pairs: list[PairToJudge], protocol: Protocol, tags: CallTags,
                          attributes: list[str]) -> tuple[PairwiseContextJudgment, str]:
        """Compare the given presentations of the context's candidates; also say which node did it."""
        judgment = await self.executor.judge_pairs(judge, context, candidates, pairs, protocol, tags, attributes)
        return judgment, self.node_id


class ServeExecutor:
    """JudgeExecutor of the core: sends each (judge, context) unit to the worker deployment."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._handle: DeploymentHandle | None = None

    async def judge_context(self, judge: JudgeSpec, context: Context, candidates: list[Candidate],
                            protocol: Protocol, tags: CallTags) -> ContextJudgment:
        """Run the unit on some replica and remember which node ran it."""
        return await self._on_replica("judge_context", judge, context, tags, candidates, protocol, tags)

    async def _on_replica(self, method: str, judge: JudgeSpec, context: Context, tags: CallTags, *args: Any) -> Any:
        """Call one of the judge worker's unit methods, cancel it with the batch, record the node that ran it."""
        if self._handle is None:
            self._handle = serve.get_deployment_handle("JudgeWorker", _app_name())
        response = getattr(self._handle, method).remote(judge, context, *args)
        try:
            judgment, node_id = await response
        except asyncio.CancelledError:  # the batch was cancelled: cancel the replica's work too
            response.cancel()
            raise
        await self.store.record_unit(tags.batch_id or "", context.id, judge.id, tags.run_id or "", node_id)
        return judgment

    async def judge_pairs(self, judge: JudgeSpec, context: Context, candidates: list[Candidate],
                          pairs: list[PairToJudge], protocol: Protocol, tags: CallTags,
                          attributes: list[str]) -> PairwiseContextJudgment:
        """Run a pairwise unit on some replica and remember which node ran it."""
        return await self._on_replica("judge_pairs", judge, context, tags, candidates, pairs, protocol, tags,
                                      attributes)


def _councils(settings: ServiceArgs) -> dict[str, Any]:
    councils: dict[str, Any] = {"local": default_council, "local-pipeline": lambda: load_council("local-pipeline"),
                                "local-screened": lambda: load_council("local-screened")}
    if settings.councils_file:
        with open(settings.councils_file, encoding="utf-8") as f:
            for name, spec in (yaml.safe_load(f) or {}).items():
                councils[name] = parse_council({"id": name, **spec})
    return councils


@serve.deployment(num_replicas=1, max_ongoing_requests=100_000, ray_actor_options={"num_cpus": 0},
                  logging_config=QUIET)
class Core:
    """Owns the DuckDB store (the single writer) and runs batches; resumes unfinished ones at start."""

    async def __init__(self, args: dict[str, Any]) -> None:
        self.settings = ServiceArgs.model_validate(args)
        self.store = Store(self.settings.db_path)
        councils = _councils(self.settings)
        self.metrics = CouncilMetrics(_named_judges(councils))
        limits = self.settings.of()
        self.analysis = AnalysisService(self.store, limits)
        self.views = ViewsService(self.store)
        self.review = ReviewService(self.store)
        self.gates = GatesService(self.store)
        self.core = CouncilCore(self.store, ServeExecutor(self.store), councils, limits=limits,
                                max_items_in_flight=self.settings.max_items_in_flight, metrics=self.metrics,
                                egress=EgressPolicy(self.settings.allowed_api_bases,
                                                    self.settings.allow_server_credentials))
        # litellm resolves inline judges (egress policy) and prices estimates: import it now, off the event loop
        asyncio.get_running_loop().run_in_executor(None, _litellm)
        if self.settings.start_local_judges:
            asyncio.get_running_loop().run_in_executor(None, self._start_local_judges)
        resumed = await self.core.resume_unfinished()
        if resumed:
            log.warning("resumed %d unfinished batches: %s", len(resumed), resumed)

    @staticmethod
    def _start_local_judges() -> None:
        from judges.local.server import local_up

        try:
            local_up()
        except Exception:  # noqa: BLE001 - hosted-model councils still work; local ones will abstain with reasons
            log.exception("could not start the embedded judges")

    async def call(self, method: str, correlation_id: str, *args: Any) -> Any:
        """A route's call: its result, or an :class:`ErrorAnswer`.

        The answer is returned, never raised, so no Ray traceback reaches the ingress; unexpected errors are
        logged here with the correlation id.
        """
        if method not in ROUTE_METHODS:
            log.error("unknown core method %r [correlation_id=%s]", method, correlation_id)
            return ErrorAnswer(status=500, error="internal error; quote the correlation_id to the operator")
        try:
            result = await getattr(self, method)(*args)
        except Exception as e:  # noqa: BLE001 - every failure becomes an answer; see answer_for
            return answer_for(e, correlation_id, method)
        if isinstance(result, ViewError):
            return ErrorAnswer(status=result.status, error=result.message, field=result.field)
        return result

    async def health(self) -> dict[str, Any]:
        """Store reachable (a query runs); only the status is public."""
        self.store.query("SELECT count(*) AS n FROM batches")
        return {"status": "ok"}

    async def metrics_text(self) -> str:
        """Prometheus text of every node (ours and Ray Serve's)."""
        return await scrape_cluster()

    async def submit(self, owner: str, request: Any, idempotency_key: str | None) -> Any:
        """See :meth:`CouncilCore.submit`."""
        return await self.core.submit(owner, request, idempotency_key)

    async def estimate(self, owner: str, request: Any) -> Any:
        """See :meth:`CouncilCore.estimate`."""
        return self.core.estimate(owner, request)

    async def status(self, owner: str, batch_id: str) -> Any:
        """See :meth:`CouncilCore.status`."""
        return self.core.status(owner, batch_id)

    async def list_batches(self, owner: str, limit: int = 1000) -> Any:
        """See :meth:`CouncilCore.list_batches`."""
        return self.core.list_batches(owner, limit)

    async def results(self, owner: str, batch_id: str, fmt: str, traces: bool, limit: int | None = None,
                      offset: int = 0) -> Any:
        """See :meth:`CouncilCore.results`."""
        return self.core.results(owner, batch_id, fmt, traces, limit, offset)

    async def cancel(self, owner: str, batch_id: str) -> Any:
        """See :meth:`CouncilCore.cancel`."""
        return await self.core.cancel(owner, batch_id)

    async def pairwise_report(self, owner: str, batch_id: str, n_boot: int, seed: int,
                              absolute_batch: str | None = None) -> Any:
        """See :meth:`CouncilCore.pairwise_report` (bootstraps in a worker thread)."""
        return await asyncio.to_thread(self.core.pairwise_report, owner, batch_id, n_boot, seed, absolute_batch)

    async def protocols(self, owner: str) -> list[ProtocolSummary]:
        """Shipped and own protocols."""
        return [_summary(p, shipped) for p, shipped in self.core.list_protocols(owner)]

    async def add_protocol(self, owner: str, document: dict[str, Any]) -> ProtocolSummary:
        """Validate and store a custom protocol."""
        return _summary(self.core.add_protocol(owner, document), False)

    async def analysis_call(self, method: str, owner: str, *args: Any) -> Any:
        """Ratings, reports and calibrations (see :class:`AnalysisService`)."""
        return await getattr(self.analysis, method)(owner, *args)

    async def views_call(self, method: str, owner: str, *args: Any) -> Any:
        """The dashboard's read-only views, computed in threads and cached (see :class:`ViewsService`)."""
        if method in ("agreement", "bias", "leaderboard"):  # (owner, dataset, batch_id, ...): bounded raters
            await asyncio.to_thread(self.analysis.check_raters, owner, args[0], args[1])
        return await getattr(self.views, method)(owner, *args)

    async def review_call(self, method: str, owner: str, *args: Any) -> Any:
        """The human review queue (see :class:`ReviewService`)."""
        if method not in REVIEW_METHODS:
            raise ValueError(f"unknown review method {method!r}")
        return await getattr(self.review, method)(owner, *args)

    async def gates_call(self, method: str, owner: str, *args: Any) -> Any:
        """Confidence gates (see :class:`GatesService`)."""
        if method not in GATE_METHODS:
            raise ValueError(f"unknown gates method {method!r}")
        return await getattr(self.gates, method)(owner, *args)

    async def enter(self, cache_key: str, tags: CallTags, limits: Any, estimated_tokens: int) -> Any:
        """Admit a judge replica's call: cached reply, or budget check + a slot of the shared limits."""
        return await self.core.enter(cache_key, tags, limits, estimated_tokens)

    async def exit(self, calls: list[tuple[Any, str | None]]) -> None:
        """Finish judge replica calls (coalesced by the replica): durable records, slots back."""
        await self.core.exit(calls)

    async def admit(self, batch_id: str | None) -> None:
        """A judge replica's retry may start (raises BatchCancelled once the batch was cancelled)."""
        self.core.admit(batch_id)


ROUTE_METHODS = frozenset({"health", "metrics_text", "submit", "estimate", "status", "list_batches", "results",
                           "cancel", "pairwise_report", "protocols", "add_protocol", "analysis_call", "views_call",
                           "review_call", "gates_call"})
"""The Core methods the ingress may call through :meth:`Core.call`."""
REVIEW_METHODS = frozenset({"enqueue", "next", "ratings", "queue", "scores", "refit"})
"""The :class:`ReviewService` methods :meth:`Core.review_call` forwards to."""
GATE_METHODS = frozenset({"fit", "list", "get"})
"""The :class:`GatesService` methods :meth:`Core.gates_call` forwards to."""


def _named_judges(councils: dict[str, Any]) -> frozenset[str]:
    """Judge ids of the operator's named councils (the only ids /metrics shows)."""
    ids: set[str] = set()
    for name, spec in councils.items():
        try:
            council = spec() if callable(spec) else spec
            ids.update(j.id for j in council.judges)
        except Exception:  # noqa: BLE001 - a council that cannot be built now only loses its metric labels
            log.warning("council %s: judge ids unknown for metrics", name)
    return frozenset(ids)


def _summary(p: Protocol, shipped: bool) -> ProtocolSummary:
    return ProtocolSummary(id=p.id, version=p.version, name=p.name, scale=p.scale.model_dump(),
                           attributes=p.attribute_ids, composites=p.composites, content_hash=p.content_hash,
                           shipped=shipped)


@serve.deployment(num_replicas=1, max_ongoing_requests=1000, ray_actor_options={"num_cpus": 0})
@serve.ingress()
class Ingress:
    """HTTP entry point: authenticates and forwards to the core (the app is built in the replica)."""

    def __init__(self, core: DeploymentHandle, workers: DeploymentHandle, args: dict[str, Any]) -> None:
        self.settings = ServiceArgs.model_validate(args)
        self.core = core

    def __serve_build_asgi_app__(self) -> Any:
        """The FastAPI app bound to this replica's handles and keys."""
        return make_api(self.core, load_api_keys(self.settings.api_keys_file), self.settings.max_body_bytes)


def build_app(args: dict[str, Any]) -> Any:
    """Application builder: ``serve run council.service.app:build_app db_path=...`` or a Serve config file."""
    settings = ServiceArgs.model_validate(args)
    if settings.bootstrap_local_key:
        key = ensure_local_key(settings.api_keys_file)
        if key:
            print(f"created API key for owner 'local' (saved in {council_home() / 'local_api_key'}): {key}", flush=True)
    plain = settings.model_dump()
    worker_options: dict[str, Any] = {"num_cpus": settings.judge_replica_cpus}
    if settings.worker_resources:
        worker_options["resources"] = settings.worker_resources
    workers = JudgeWorker.options(num_replicas=settings.judge_replicas, ray_actor_options=worker_options).bind(plain)
    return Ingress.bind(Core.bind(plain), workers, plain)
