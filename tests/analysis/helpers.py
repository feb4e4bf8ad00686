"""Builders for analysis tests: synthetic rating files and synthetic batches stored through the real Store."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from council.run import prepare_batch
from council.store.store import Store
from council.types import Batch, BatchItem, CouncilSpec
from judges.pipeline import CandidateJudgment, ContextJudgment
from judges.types import AttributeScore, Candidate, JudgeSpec, Outcome, ScoringResult
from protocols import Protocol, load_protocol

ScoreFn = Callable[[str, str, str, str], float | None]
"""(judge_id, item_id, candidate_id, attribute) -> score (None = abstention)."""


def judge_view(truth: float, judge_index: int, rng: np.random.Generator, lo: int = 1, hi: int = 5) -> float:
    """A judge's Likert score: inflated, compressed and noisy view of the truth (like MentalAlign judges)."""
    offset, slope = (1.2, 0.7), (0.6, 0.8)
    k = judge_index % 2
    return float(np.clip(np.round(offset[k] + slope[k] * truth + rng.normal(0, 0.6)), lo, hi))


def synthetic_long(
    raters: Sequence[str],
    attributes: Sequence[str],
    *,
    n_ctx: int = 40,
    per: int = 4,
    seed: int = 0,
    human: str = "human_expert",
) -> pd.DataFrame:
    """A long table: one human rater (truth + noise) and judges (biased views), targets ``c:r``."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_ctx):
        for r in range(per):
            for a in attributes:
                t = rng.uniform(1, 5)
                rows.append(
                    (
                        f"{c}:{r}",
                        str(c),
                        f"resp{r}",
                        human,
                        a,
                        float(np.clip(np.round(t + rng.normal(0, 0.5)), 1, 5)),
                    )
                )
                rows.extend(
                    (f"{c}:{r}", str(c), f"resp{r}", j, a, judge_view(t, i, rng))
                    for i, j in enumerate(raters)
                )
    return pd.DataFrame(rows, columns=["target", "context", "responder", "rater", "attribute", "score"])


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    df.to_csv(path, index=False)
    return path


def council_of(judge_ids: Sequence[str], **kwargs) -> CouncilSpec:
    judges = [
        JudgeSpec(id=j, model=f"openai/{j}", api_base="http://127.0.0.1:9/v1", family=f"fam-{j}")
        for j in judge_ids
    ]
    return CouncilSpec(id="analysis-test", judges=judges, aggregation="mean", **kwargs)


def small_batch(n_items: int = 4, n_candidates: int = 3) -> Batch:
    return Batch(
        items=[
            BatchItem(
                id=f"i{i}",
                context=f"I feel low today, number {i}.",
                candidates=[
                    Candidate(id=f"c{k}", text="reply " + "x" * (5 + 7 * k + i), responder=f"bot{k}")
                    for k in range(n_candidates)
                ],
            )
            for i in range(n_items)
        ]
    )


def judgment(judge_id: str, item: BatchItem, protocol: Protocol, score: ScoreFn) -> ContextJudgment:
    """A ContextJudgment with the given scores (None -> abstention) for every candidate of the item."""
    cands = []
    for c in item.candidates:
        scores = []
        for a in protocol.attribute_ids:
            v = score(judge_id, item.id, c.id, a)
            scores.append(
                AttributeScore(attribute=a, score=v)
                if v is not None
                else AttributeScore(attribute=a, score=None, abstention="quote_not_found", detail="test")
            )
        cands.append(
            CandidateJudgment(
                candidate_id=c.id,
                sample=0,
                outcome=Outcome(value=ScoringResult(scores=scores, checklist=[], flags=[])),
            )
        )
    return ContextJudgment(judge_id=judge_id, context_id=item.id, tom=None, domain=None, candidates=cands)


def stored_batch(
    store: Store,
    judge_ids: Sequence[str],
    score: ScoreFn,
    *,
    protocol_id: str = "mentalalign-7",
    calibration_id: str | None = None,
    owner: str = "local",
    batch: Batch | None = None,
) -> tuple[str, Batch, Protocol, CouncilSpec]:
    """Prepare a batch and store every judge's synthetic judgments (no LLM)."""
    protocol, batch = load_protocol(protocol_id), batch or small_batch()
    council = council_of(judge_ids, calibration_id=calibration_id)
    batch_id = prepare_batch(store, batch, protocol, council, owner=owner)
    for item in batch.items:
        for j in judge_ids:
            store.save_context_judgment(batch_id, "r_test", judgment(j, item, protocol, score), protocol)
    return batch_id, batch, protocol, council


def seeded_score(seed: int = 0, lo: int = 1, hi: int = 5) -> ScoreFn:
    """Deterministic pseudo-random judge scores in [lo, hi] keyed by (judge, item, candidate, attribute)."""

    def score(judge: str, item: str, cand: str, attr: str) -> float:
        digest = hashlib.sha256(f"{seed}|{judge}|{item}|{cand}|{attr}".encode()).digest()
        h = int.from_bytes(digest[:4], "big") / 2**32
        return float(lo + round(h * (hi - lo)))

    return score
