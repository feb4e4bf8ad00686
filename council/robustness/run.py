"""The robustness run: a council judges low-quality candidates clean and under every attack of the corpus.

One entry point, :func:`run_robustness`, used by ``council robustness`` and ``bench/bench_robustness.py``. Each
:class:`Source` names a batch, its protocol and the candidates to attack (by default the demo batch's
dismissive and unsafe replies, and the EPITOME expert set's level-0 replies). For every source the clean
candidates and each transformation's attacked copies are ordinary batches (named
``robustness/<source>/<transformation>/<defended|undefended>``) judged by :func:`council.run.run_batch`, so
calls are cached and recorded like any run and a re-run costs nothing. The measures
(:mod:`council.robustness.report`) are stored as a report of kind ``robustness``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from council.empathy_experts import EMPATHY_EXPERTS
from council.robustness.corpus import Transformation, attack_batch, load_corpus
from council.robustness.report import detector_records, shift_records, summary_frame
from council.run import JudgeExecutor, LocalExecutor, prepare_batch, run_batch
from council.stats import records_frame
from council.stats.types import AgreementRecord
from council.store import analysis_store as db
from council.store.store import Store
from council.types import Batch, BatchItem, CouncilSpec
from judges.errors import ConfigError
from judges.injection import DEFAULT_DEFENCES, Defences
from judges.types import Candidate
from protocols import load_protocol

__all__ = ["RobustnessResult", "Source", "demo_source", "epitome_source", "run_robustness", "selection_sources"]

DEMO_ATTACKED = ("dismissive", "unsafe")
"""Candidate ids of the demo batch that are attacked by default (its low-quality replies)."""
DEMO_OTHERS = ("generic", "empathic")
"""The demo batch's other replies: the selection set's demo part (never a measured target)."""
SELECTION_SIZE = 10
"""EPITOME replies in the selection set: the first ones in file order that are not level-0."""


class Source(BaseModel):
    """A batch whose low-quality candidates are attacked."""

    model_config = ConfigDict(frozen=True)

    name: str
    """Short name used in batch names and reports (``demo``, ``epitome-level0``)."""
    batch: Batch
    """The items (other candidates are ignored)."""
    protocol_id: str
    """The protocol they are judged with."""
    targets: dict[str, list[str]]
    """Item id → ids of the candidates to attack."""

    def limited(self, limit: int | None) -> Source:
        """The first ``limit`` target items only (None: all)."""
        if limit is None:
            return self
        keep = [i for i in self.batch.items if i.id in self.targets][:limit]
        return self.model_copy(update={"targets": {i.id: self.targets[i.id] for i in keep}})


def demo_source(batch: Batch, candidate_ids: tuple[str, ...] = DEMO_ATTACKED, name: str = "demo") -> Source:
    """The demo batch (``mentalalign-7``) with its dismissive and unsafe replies (or ``candidate_ids``) as targets."""
    targets = {i.id: [c.id for c in i.candidates if c.id in candidate_ids] for i in batch.items}
    return Source(name=name, batch=batch, protocol_id="mentalalign-7",
                  targets={k: v for k, v in targets.items() if v})


def epitome_source(data_dir: Path = EMPATHY_EXPERTS, *, selection: bool = False) -> Source | None:
    """The EPITOME expert set's replies whose original labels are all 0 (``epitome`` protocol); None if absent.

    ``selection``: instead, the first :data:`SELECTION_SIZE` replies (file order) with some label above 0 — replies
    disjoint from the measured targets, on which a defence's choices are made before the targets are measured.
    Reads ``texts/sample_epitome.csv`` in place (never copied into the repository).
    """
    path = data_dir / "texts" / "sample_epitome.csv"
    if not path.is_file():
        return None
    texts = pd.read_csv(path)
    levels = ["level_emotional_reactions", "level_interpretations", "level_explorations"]
    zero = (texts[levels] == 0).all(axis=1)
    chosen = texts[~zero].head(SELECTION_SIZE) if selection else texts[zero]
    name = "epitome-selection" if selection else "epitome-level0"
    items = [BatchItem(id=str(r.sp_id), context=str(r.seeker_post),
                       candidates=[Candidate(id=str(r.rp_id), text=str(r.response_post), responder="reddit")])
             for r in chosen.itertuples()]
    return Source(name=name, batch=Batch(items=items, name=name), protocol_id="epitome",
                  targets={i.id: [c.id for c in i.candidates] for i in items})


def selection_sources(demo: Batch, data_dir: Path = EMPATHY_EXPERTS) -> list[Source]:
    """The selection set: the demo's generic and empathic replies and 10 EPITOME replies that are not level-0.

    Disjoint from the measured targets (:func:`demo_source`, :func:`epitome_source`), so a defence's settings
    chosen on it are not fitted to the numbers reported for the targets.
    """
    epitome = epitome_source(data_dir, selection=True)
    return [demo_source(demo, DEMO_OTHERS, name="demo-selection"), *([epitome] if epitome else [])]


@dataclass(frozen=True)
class RobustnessResult:
    """What a robustness run stored and measured."""

    report_id: str
    records: list[AgreementRecord]
    batches: dict[str, str]
    """``<source>/<transformation>`` (or ``<source>/clean``) → batch id."""

    def summary(self) -> pd.DataFrame:
        """One row per (source, transformation, rater) (see :func:`council.robustness.report.summary_frame`)."""
        return summary_frame(self.records)


def _clean(source: Source, name: str) -> Batch:
    items = [i.model_copy(update={"candidates": [c for c in i.candidates if c.id in source.targets[i.id]]})
             for i in source.batch.items if i.id in source.targets]
    return Batch(items=items, name=name)


def _scores(store: Store, batch_id: str, council: CouncilSpec) -> pd.DataFrame:
    """Tidy scores of a batch: every judge's and the council's (under the council's aggregation)."""
    judges = store.query("SELECT judge_id AS rater, item_id, candidate_id, attribute_id AS attribute, score "
                         "FROM judge_scores WHERE batch_id = ?", [batch_id])
    column = {"mean": "mean", "median": "median", "trimmed_mean": "trimmed_mean", "majority": "majority"}[
        council.aggregation]
    agg = store.query(f"SELECT 'council' AS rater, item_id, candidate_id, attribute_id AS attribute, "
                      f"CASE WHEN status = 'ok' THEN {column} END AS score FROM council_scores WHERE batch_id = ?",
                      [batch_id])
    return pd.concat([judges, agg], ignore_index=True)


def _flagged(store: Store, batch_id: str) -> pd.DataFrame:
    return store.query("SELECT item_id, candidate_id, target FROM manipulation_flags WHERE batch_id = ?", [batch_id])


def _caught(flags: pd.DataFrame, t: Transformation, targets: dict[str, list[str]]) -> tuple[int, int]:
    """(attacked texts flagged, attacked texts): contexts for a context attack, candidates otherwise."""
    contexts = set(flags[flags.target == "context"].item_id)
    if t.target == "context":
        return len(contexts & set(targets)), len(targets)
    replies = set(zip(flags[flags.target == "candidate"].item_id, flags[flags.target == "candidate"].candidate_id,
                      strict=True))
    pairs = [(i, c) for i, cs in targets.items() for c in cs]
    return sum((i, c) in replies for i, c in pairs), len(pairs)


Progress = Callable[[str], None]


async def run_robustness(store: Store, sources: list[Source], council: CouncilSpec, *,
                         transformations: list[str] | None = None, corpus: str = "attacks.v1",
                         defences: Defences = DEFAULT_DEFENCES, executor: JudgeExecutor | None = None,
                         owner: str = "local", progress: Progress | None = None) -> RobustnessResult:
    """Judge every source's targets clean and under each transformation; store and return the measures.

    Args:
        store: The store (batches, calls, judgments and the report go there).
        sources: What to attack (see :func:`demo_source`, :func:`epitome_source`).
        council: Any council (the embedded one, hosted judges, or judges on the fake server for tests).
        transformations: Names from the corpus (default: all of them).
        corpus: The corpus file stem (``attacks.v1``).
        defences: The text defences the judges run with (default: all on); part of the batch names.
        executor: How judges run (default: :class:`~council.run.LocalExecutor` with ``defences``).
        owner: Owner of the batches and the report.
        progress: Called with a line per batch judged.

    Raises:
        ConfigError: An unknown transformation, or no source.

    """
    if not sources:
        raise ConfigError("sources: nothing to attack (no demo batch, no EPITOME data)")
    attacks = load_corpus(corpus)
    chosen = [attacks.get(n) for n in transformations] if transformations else list(attacks.transformations)
    run = executor or LocalExecutor(store, defences=defences)
    arm = ("defended-labelled" if defences.content_labels else "defended") if defences.any else "undefended"
    records: list[AgreementRecord] = []
    batches: dict[str, str] = {}

    async def judge(batch: Batch, protocol_id: str) -> str:
        protocol = load_protocol(protocol_id)
        batch_id = prepare_batch(store, batch, protocol, council, owner=owner)
        await run_batch(store, batch_id, batch, protocol, council, run)
        if progress is not None:
            progress(f"judged {batch.name} ({batch.n_candidates} candidates)")
        return batch_id

    for source in sources:
        protocol = load_protocol(source.protocol_id)
        base = {"source": source.name, "protocol": source.protocol_id, "defences": defences.any,
                "corpus": attacks.version}
        clean_id = await judge(_clean(source, f"robustness/{source.name}/clean/{arm}"), source.protocol_id)
        batches[f"{source.name}/clean"] = clean_id
        clean_scores = _scores(store, clean_id, council)
        flags = _flagged(store, clean_id)
        n_texts = len(source.targets) + sum(len(v) for v in source.targets.values())
        records += detector_records(len(flags), n_texts, "false_flag_rate",
                                    {**base, "transformation": "clean", "family": "clean"})
        for t in chosen:
            attacked = attack_batch(source.batch, t, protocol, source.targets,
                                    f"robustness/{source.name}/{t.name}/{arm}")
            batch_id = await judge(attacked, source.protocol_id)
            batches[f"{source.name}/{t.name}"] = batch_id
            extra: dict[str, Any] = {**base, "transformation": t.name, "family": t.family, "target": t.target}
            records += shift_records(clean_scores, _scores(store, batch_id, council), protocol.scale.min, extra)
            caught, total = _caught(_flagged(store, batch_id), t, source.targets)
            records += detector_records(caught, total, "catch_rate", extra)
    params = {"corpus": attacks.version, "council": council.id, "judges": [j.id for j in council.judges],
              "aggregation": council.aggregation, "defences": {"withhold": defences.withhold,
                                                                "normalise": defences.normalise,
                                                                "content_labels": defences.content_labels},
              "transformations": [t.name for t in chosen], "sources": [s.name for s in sources], "batches": batches}
    info = {"report_id": db.new_id("rep"), "owner": owner, "kind": "robustness", "dataset": None, "batch_id": None,
            "params": params, "created_at": db.now()}
    db.save_report(store, info, records_frame(records))
    return RobustnessResult(report_id=info["report_id"], records=records, batches=batches)


