"""Import MentalAlign-70k (Badawi et al. 2025) into the store as dataset ``mentalalign``."""

from __future__ import annotations

import json
from pathlib import Path

from council.analysis.errors import AnalysisError
from council.analysis.records import ImportRecord
from council.analysis.storage import storage_frame, store_import
from council.ratings import PAPER_SELF_EXCLUSIONS, import_mentalalign
from council.ratings.mentalalign import DATASET, HUMAN, default_mentalalign_dir
from council.store import analysis_store as db
from council.store.store import Store
from protocols import load_protocol

__all__ = ["import_mentalalign_dataset"]


def _mentalalign_exclusions(directory: Path) -> dict[str, str]:
    """Target -> why default hygiene drops it (first reason wins, as in the importer's counts)."""
    out: dict[str, str] = {}
    with (directory / "ratings.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            r = json.loads(line)
            reason = (
                "judge_saw_empty_response"
                if r.get("judge_saw_empty_response")
                else "context_mismatch"
                if r.get("context_mismatch")
                else None
            )
            if reason:
                out[f"{DATASET}:{r['conv_id']}:{r['responder']}"] = reason
    return out


def import_mentalalign_dataset(
    store: Store, directory: str | Path | None = None, *, paper_compatible: bool = False, owner: str = "local"
) -> ImportRecord:
    """Load MentalAlign-70k as dataset ``mentalalign``: the human expert and four external judges.

    Judges keep their model families; the dataset records the paper's own-model exclusions
    (:data:`council.ratings.PAPER_SELF_EXCLUSIONS`) for paper-compatible self-exclusion. Every value is
    stored as given; ``paper_compatible`` only chooses the hygiene the returned report counts under.

    Raises:
        AnalysisError: If ``directory`` holds no ``ratings.jsonl`` (field ``directory``).

    References:
        Badawi, A. et al. (2025). When Can We Trust LLMs in Mental Health? Large-Scale Benchmarks for
        Reliable LLM Evaluation. arXiv:2510.19032.

    """
    directory = Path(directory) if directory is not None else default_mentalalign_dir()
    if not (directory / "ratings.jsonl").is_file():
        raise AnalysisError(
            "directory", f"{directory} holds no ratings.jsonl (MentalAlign-70k folder expected)"
        )
    given = import_mentalalign(directory, paper_compatible=True)
    report = given if paper_compatible else import_mentalalign(directory)
    excluded = _mentalalign_exclusions(directory)
    raters = given.frame["rater"].unique()
    kinds = {r: "human" if r == HUMAN else "external" for r in raters}
    import_id = db.new_id("imp")
    frame = storage_frame(
        given,
        owner=owner,
        dataset=DATASET,
        batch_id=None,
        import_id=import_id,
        kinds=kinds,
        families={},
        scale=(1, 5),
        excluded=excluded,
    )
    p = load_protocol("mentalalign-7")
    db.upsert_dataset(
        store,
        owner,
        DATASET,
        protocol_id=p.id,
        scale=(p.scale.min, p.scale.max),
        description="MentalAlign-70k (Badawi et al. 2025): 1,000 contexts x 10 responders; "
        "one human expert and four frontier judges; no response texts.",
        attributes=p.attribute_ids,
        composites={k: list(v) for k, v in p.composites.items()},
        meta={"own_models": {k: list(v) for k, v in PAPER_SELF_EXCLUSIONS.items()}},
    )
    return store_import(
        store,
        frame,
        report,
        import_id=import_id,
        owner=owner,
        dataset=DATASET,
        batch_id=None,
        source=str(directory),
        excluded=excluded,
    )
