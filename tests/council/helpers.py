"""Builders for council tests: batches, councils and synthetic judge outputs stored through the real Store."""

from __future__ import annotations

from council.run import prepare_batch
from council.store.store import Store
from council.types import Batch, BatchItem, CouncilSpec
from judges.pipeline import CandidateJudgment, ContextJudgment
from judges.types import AttributeScore, Candidate, JudgeSpec, Outcome, ScoringResult
from protocols import load_protocol


def council(n_judges: int, **kwargs) -> CouncilSpec:
    judges = [JudgeSpec(id=f"j{i}", model=f"openai/m{i}", api_base="http://127.0.0.1:9/v1") for i in range(n_judges)]
    return CouncilSpec(id="test", judges=judges, **kwargs)


def one_item_batch(n_candidates: int = 1) -> Batch:
    return Batch(items=[BatchItem(id="i1", context="I feel alone.",
                                  candidates=[Candidate(id=f"c{k}", text=f"reply {k}") for k in range(n_candidates)])])


def store_scores(store: Store, spec: CouncilSpec, scores: dict[str, list[float | None]],
                 protocol_id: str = "epitome") -> str:
    """Store one candidate's scores: scores[judge_id][i] is the score of attribute i (None = abstained)."""
    protocol = load_protocol(protocol_id)
    batch = one_item_batch()
    batch_id = prepare_batch(store, batch, protocol, spec)
    for judge_id, values in scores.items():
        attribute_scores = [
            AttributeScore(attribute=a, score=v) if v is not None
            else AttributeScore(attribute=a, score=None, abstention="quote_not_found", detail="test")
            for a, v in zip(protocol.attribute_ids, values, strict=True)]
        outcome = Outcome(value=ScoringResult(scores=attribute_scores, checklist=[], flags=[]))
        judgment = ContextJudgment(judge_id=judge_id, context_id="i1", tom=None, domain=None,
                                   candidates=[CandidateJudgment(candidate_id="c0", sample=0, outcome=outcome)])
        store.save_context_judgment(batch_id, "r_test", judgment, protocol)
    return batch_id
