"""Run a batch through a council's tiers under a stored confidence gate, and queue what people must see."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from council.analysis.errors import AnalysisError
from council.analysis.scope import batch_target, resolve_scope
from council.escalation import GateSummary, StoredGate, get_gate, latest_gate, route
from council.escalation.storage import gate_frame
from council.gating.decisions import save_decisions
from council.review import EnqueueResult, QueueItem, enqueue
from council.review.priority import HIGH_RISK, candidate_flags, context_risk
from council.run import JudgeExecutor, ProgressCallback, run_batch
from council.store.store import Store
from council.types import Batch, CouncilSpec, RunSummary
from judges.types import JudgeSpec
from protocols import Protocol

__all__ = ["GatedRun", "check_gate", "resolve_gate", "run_gated_batch", "tier_judges"]


class GatedRun(BaseModel):
    """What a gated batch did: one run per tier that had work, the routing summary, what went to people."""

    model_config = ConfigDict(frozen=True)

    gate_id: str
    runs: list[RunSummary]
    """Per tier that was called, its run (tier 1 judges every candidate; later tiers the escalated ones)."""
    candidates_per_tier: dict[str, int]
    """Candidates each tier's judges were called on."""
    summary: GateSummary
    queued: EnqueueResult | None
    """What was put in the review queue (None when nothing was)."""

    @property
    def calls_made(self) -> int:
        """LLM calls over every tier."""
        return sum(r.calls_made for r in self.runs)


def resolve_gate(store: Store, gate: str, owner: str) -> StoredGate:
    """A stored gate by id (``gate_…``) or by name (its latest version).

    Raises:
        NotFoundError: Naming ``gate`` when this owner has no such gate.
    """
    return get_gate(store, gate, owner) if gate.startswith("gate_") else latest_gate(store, gate, owner)


def tier_judges(stored: StoredGate, council: CouncilSpec) -> list[list[JudgeSpec]]:
    """Per tier, the council's judges called first at that tier (a tier may reuse earlier tiers' judges).

    Raises:
        AnalysisError: Naming ``gate`` when a tier names a judge the council does not have, or ``council``
            when a council judge is in no tier (it would never be called).
    """
    by_id = {j.id: j for j in council.judges}
    seen: set[str] = set()
    out = []
    for tier in stored.tiers:
        missing = [j for j in tier.judges if j not in by_id]
        if missing:
            raise AnalysisError("gate", f"tier {tier.name!r} of gate {stored.name!r} v{stored.version} names judges "
                                        f"{missing} that council {council.id!r} does not have ({sorted(by_id)})")
        out.append([by_id[j] for j in tier.judges if j not in seen])
        seen |= set(tier.judges)
    idle = sorted(set(by_id) - seen)
    if idle:
        raise AnalysisError("council", f"judges {idle} are in no tier of gate {stored.name!r}; a gated council's "
                                       "judges must all be in its tiers")
    return out


def check_gate(stored: StoredGate, council: CouncilSpec, protocol: Protocol) -> None:
    """Refuse a gate that does not fit the council (its tiers' judges) or the protocol (scale, attributes).

    Raises:
        AnalysisError: Naming ``gate`` or ``council``.
    """
    tier_judges(stored, council)
    gate = stored.gate
    if tuple(gate.scale) != (protocol.scale.min, protocol.scale.max):
        raise AnalysisError("gate", f"gate {stored.name!r} was fitted on the scale {tuple(gate.scale)}, protocol "
                                    f"{protocol.id!r} scores on {(protocol.scale.min, protocol.scale.max)}")
    unknown = sorted(set(gate.training.attributes) - set(protocol.attribute_ids))
    if unknown:
        raise AnalysisError("gate", f"gate {stored.name!r} gates attributes {unknown} that protocol {protocol.id!r} "
                                    "does not have")


def _risk_flags(store: Store, batch: Batch, batch_id: str) -> dict[str, str]:
    """Targets that go to people whatever their scores: high-risk contexts and candidates flagged unsafe."""
    flags: dict[str, str] = {}
    for item_id, (rank, detail) in context_risk(store, batch_id).items():
        if rank >= HIGH_RISK:
            for item in batch.items:
                if item.id == item_id:
                    flags |= {batch_target(item.id, c.id): f"risk ({detail})" for c in item.candidates}
    for (item_id, candidate_id), detail in candidate_flags(store, batch_id).items():
        flags.setdefault(batch_target(item_id, candidate_id), f"unsafe ({detail})")
    return flags


def _subset(batch: Batch, wanted: dict[str, set[str]]) -> Batch | None:
    """The batch's items restricted to the wanted candidates (None when nothing is wanted)."""
    items = [item.model_copy(update={"candidates": [c for c in item.candidates if c.id in wanted[item.id]]})
             for item in batch.items if wanted.get(item.id)]
    return batch.model_copy(update={"items": items}) if items else None


def _review_items(frame: pd.DataFrame, detail_of: Callable[[str], str]) -> list[QueueItem]:
    """One queue entry per (candidate, reason) of the items routed to people, with the attributes concerned."""
    grouped: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
    for row in frame[frame["decision"] == "review"].itertuples():
        kind = str(row.reason)
        reason = ("unsafe" if "unsafe" in kind else "risk") if kind.startswith("risk:") else (
            "low_confidence" if kind == "unscored" else "escalation")
        grouped[(row.item_id, row.candidate_id, reason)].append(row)
    items = []
    for (item_id, candidate_id, reason), rows in grouped.items():
        confidences = [r.confidence for r in rows if r.confidence == r.confidence]
        items.append(QueueItem(
            item_id=item_id, candidate_id=candidate_id, reason=reason,  # type: ignore[arg-type]
            attributes=sorted({str(r.attribute) for r in rows}),
            detail=detail_of(batch_target(item_id, candidate_id)) if reason in ("risk", "unsafe") else (
                "no tier's judges scored it" if reason == "low_confidence" else
                f"no tier was confident enough (lowest calibrated confidence {min(confidences):.2f})"
                if confidences else "escalated past the last tier"),
            uncertainty=1 - min(confidences) if confidences else None))
    return items


async def run_gated_batch(store: Store, batch_id: str, batch: Batch, protocol: Protocol, council: CouncilSpec,
                          executor: JudgeExecutor, stored: StoredGate, *, owner: str = "local",
                          progress: ProgressCallback | None = None,
                          stop_reason: Callable[[], str | None] | None = None) -> GatedRun:
    """Judge a batch tier by tier under ``stored``'s thresholds, store every decision and queue the rest for people.

    Tier t's new judges are called only on the candidates with an item the earlier tiers escalated, so calls
    and cost follow the gate. Items past the last tier, items no judge could score, and every candidate of a
    high-risk context or flagged unsafe (``force_review``) are queued for review. Re-running stores each
    decision once and costs no LLM call (the judgments are cached).

    Raises:
        AnalysisError: Naming ``gate`` or ``council`` when the gate does not fit the council or protocol.
    """
    check_gate(stored, council, protocol)
    tiers = tier_judges(stored, council)
    names = [t.name for t in stored.tiers]
    wanted = {item.id: {c.id for c in item.candidates} for item in batch.items}
    keys = {batch_target(item.id, c.id): (item.id, c.id) for item in batch.items for c in item.candidates}
    scope = resolve_scope(store, batch_id=batch_id, owner=owner)
    runs: list[RunSummary] = []
    per_tier: dict[str, int] = {}
    flags: dict[str, str] = {}
    routing = None
    for t, judges in enumerate(tiers):
        part = _subset(batch, wanted)
        per_tier[names[t]] = 0 if part is None else part.n_candidates
        if part is not None and judges:
            sub = council.model_copy(update={"judges": judges, "quorum": None, "id": f"{council.id}:{names[t]}"})
            summary = await run_batch(store, batch_id, part, protocol, sub, executor, progress=progress,
                                      stop_reason=stop_reason, settle=False)
            runs.append(summary)
            if summary.status != "completed":  # cancelled or over budget: route what was judged, queue nothing
                store.set_batch_status(batch_id, summary.status)
                partial = route(stored.gate, gate_frame(store, scope),
                                judged_tiers=t + 1, force_review=flags)
                return GatedRun(gate_id=stored.gate_id, runs=runs, candidates_per_tier=per_tier,
                                summary=partial.summary, queued=None)
        flags = _risk_flags(store, batch, batch_id)  # again after each tier: its upstream agents may see risk
        routing = route(stored.gate, gate_frame(store, scope), judged_tiers=t + 1, force_review=flags)
        awaiting = routing.frame[routing.frame["decision"] == "awaiting"]
        wanted = defaultdict(set)
        for target in awaiting["target"].unique():
            item_id, candidate_id = keys[str(target)]
            wanted[item_id].add(candidate_id)
    assert routing is not None  # a gate has at least one tier
    frame = routing.frame.copy()
    frame["item_id"] = frame["target"].map(lambda target: keys[str(target)][0])
    frame["candidate_id"] = frame["target"].map(lambda target: keys[str(target)][1])
    save_decisions(store, batch_id, stored.gate_id, frame)
    review = _review_items(frame, lambda target: flags.get(target, ""))
    queued = enqueue(store, owner, batch_id, review) if review else None
    store.set_batch_status(batch_id, "completed")
    return GatedRun(gate_id=stored.gate_id, runs=runs, candidates_per_tier=per_tier, summary=routing.summary,
                    queued=queued)
