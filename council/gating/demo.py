"""The gated demo: the embedded council with a stated agreement target, from calibration to the review queue.

1. **Calibration.** The embedded judge scores the EPITOME expert set (:mod:`council.empathy_experts`, 50
   Reddit replies, ``epitome`` protocol, 0–2) and the three experts' ratings are imported onto that batch.
2. **Gate.** A one-tier gate is fitted on the judge's agreement with the reference expert under the stated
   target (default exact ≥ 0.7 with risk 0.1 against ``expert1``: with 50 items no threshold exists for a
   higher level, nor for ``expert2``/``expert3`` at this one — README, "Confidence-gated escalation") and
   stored; the same target on the same calibration batch reuses the stored gate instead of a new version.
3. **The demo batch under the gate**, judged by the same judge with its safety screens on
   (``local-screened``, :mod:`judges.agents.safety`): items whose calibrated confidence clears the threshold
   are accepted, the rest go to the review queue with reason ``escalation``; candidates the advice screen
   flags and every candidate of a context the risk screen flags go there whatever their scores.

A re-run costs no LLM call (everything is cached in the store).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from council.analysis import import_ratings_file
from council.batchfile import read_batch
from council.empathy_experts import EMPATHY_EXPERTS, EXPERTS, epitome_batch, epitome_ratings
from council.escalation import AgreementTarget, TierSpec, fit_and_store_gate
from council.escalation.storage import StoredGate, list_gates
from council.gating.run import GatedRun, resolve_gate, run_gated_batch
from council.run import JudgeExecutor, ProgressCallback, prepare_batch, run_batch
from council.store.store import Store
from council.types import CouncilSpec, RunSummary
from protocols import load_protocol

__all__ = ["DEFAULT_REFERENCE", "DEFAULT_TARGET", "GATE_NAME", "GatedDemo", "run_gated_demo"]

GATE_NAME = "embedded-epitome"
DEFAULT_TARGET = "exact>=0.7"
DEFAULT_REFERENCE = "expert1"
PROTOCOL = "epitome"


@dataclass(frozen=True)
class GatedDemo:
    """What the gated demo did: the calibration batch and its run, the gate, the gated demo batch."""

    calibration_batch: str
    calibration_run: RunSummary
    gate: StoredGate
    demo_batch: str
    gated: GatedRun


def _import_experts(store: Store, batch_id: str, data_dir: Path) -> None:
    """The three experts' ratings onto the calibration batch, as human ratings (idempotent per rater)."""
    ratings = epitome_ratings(data_dir=data_dir, raters=EXPERTS)
    for rater, group in ratings.groupby("rater"):
        buffer = io.StringIO()
        group[["target", "attribute", "score"]].to_csv(buffer, index=False)
        import_ratings_file(store, buffer.getvalue().encode(), batch_id=batch_id, fmt="csv", rater=str(rater),
                            kind="human")


def _gate(store: Store, tiers: list[TierSpec], target: AgreementTarget, batch_id: str, reference: str,
          owner: str) -> StoredGate:
    """The stored gate for this target and calibration batch: the existing version, else a newly fitted one."""
    for info in list_gates(store, owner):
        if info.name == GATE_NAME and info.batch_id == batch_id and info.target == target and info.tiers == tiers:
            stored = resolve_gate(store, info.gate_id, owner)
            if stored.gate.training.reference == reference:
                return stored
    info = fit_and_store_gate(store, tiers, target, batch_id=batch_id, name=GATE_NAME, reference=reference,
                              owner=owner)
    return resolve_gate(store, info.gate_id, owner)


async def run_gated_demo(store: Store, council: CouncilSpec, executor: JudgeExecutor, demo_file: Path, *,
                         target: str = DEFAULT_TARGET, risk: float = 0.1, reference: str = DEFAULT_REFERENCE,
                         data_dir: Path = EMPATHY_EXPERTS, owner: str = "local",
                         progress: ProgressCallback | None = None) -> GatedDemo:
    """Calibrate, fit (or reuse) the gate, and judge the demo batch under it; see the module docstring.

    The calibration batch is judged without the safety screens (the gate is about the judges' scores, which
    the screens never change, so the scoring calls are shared with the gated run's cache).

    Raises:
        ConfigError: When the empathy-experts data is absent.
        AnalysisError: Naming ``target``/``reference`` when no gate can be fitted as asked.
    """
    protocol = load_protocol(PROTOCOL)
    goal = AgreementTarget.parse(target, risk)
    unscreened = council.model_copy(update={
        "id": f"{council.id}-calibration",
        "judges": [j.model_copy(update={"agents": j.agents.model_copy(update={"safety": False})})
                   for j in council.judges]})
    calibration = epitome_batch(data_dir=data_dir)
    calibration_id = prepare_batch(store, calibration, protocol, unscreened, owner=owner)
    calibration_run = await run_batch(store, calibration_id, calibration, protocol, unscreened, executor,
                                      progress=progress)
    _import_experts(store, calibration_id, data_dir)
    tiers = [TierSpec(name="embedded", judges=[j.id for j in council.judges])]
    gate = _gate(store, tiers, goal, calibration_id, reference, owner)
    demo = read_batch(demo_file, name="demo")
    demo_id = prepare_batch(store, demo, protocol, council, owner=owner)
    base = len(calibration.items) * len(council.judges)  # one progress bar over both stages
    gated = await run_gated_batch(
        store, demo_id, demo, protocol, council, executor, gate, owner=owner,
        progress=None if progress is None else lambda done, total, judgment: progress(base + done, base + total,
                                                                                      judgment))
    return GatedDemo(calibration_batch=calibration_id, calibration_run=calibration_run, gate=gate,
                     demo_batch=demo_id, gated=gated)
