"""Builders for review-queue tests: a stored batch whose judges said something about risk, through the real Store."""

from __future__ import annotations

from collections.abc import Mapping

from council.run import prepare_batch
from council.store.store import Store
from council.types import Batch, BatchItem
from judges.pipeline import CandidateJudgment, ContextJudgment
from judges.types import AttributeScore, Candidate, DomainResult, Outcome, RiskSignal, ScoringResult, ToMResult
from protocols import load_protocol
from tests.analysis.helpers import council_of, seeded_score

JUDGES = ("ja", "jb")


def risky_batch(store: Store, *, owner: str = "local", n_items: int = 8, n_candidates: int = 3,
                domain_risk: Mapping[str, str] | None = None, tom_signals: frozenset[str] = frozenset(),
                unsafe: frozenset[tuple[str, str]] = frozenset(), seed: int = 0,
                scores: Mapping[tuple[str, str, str, str], float] | None = None) -> str:
    """Store a judged batch: ``domain_risk`` item → level said by judge ``ja``'s domain agent (others: ``none``),
    ``tom_signals`` items where ``jb``'s ToM agent saw self-harm, ``unsafe`` (item, candidate) pairs ``ja`` flagged
    ``unsafe_advice``; scores are seeded pseudo-random, or ``scores[(judge, item, candidate, attribute)]``."""
    protocol = load_protocol("mentalalign-7")
    batch = Batch(items=[BatchItem(id=f"i{i}", context=f"I feel low today and nothing helps, day {i}.",
                                   candidates=[Candidate(id=f"c{k}", text=f"reply {k} to {i}: that sounds hard",
                                                         responder=f"bot{k}") for k in range(n_candidates)])
                         for i in range(n_items)])
    council = council_of(JUDGES)
    batch_id = prepare_batch(store, batch, protocol, council, owner=owner)
    score = seeded_score(seed)
    for item in batch.items:
        for judge in JUDGES:
            level = (domain_risk or {}).get(item.id, "none") if judge == "ja" else "none"
            signals = [RiskSignal(kind="self_harm", quote="nothing helps")] if (
                judge == "jb" and item.id in tom_signals) else []
            tom = Outcome(value=ToMResult(surface_request="support", hypotheses=[], support_preference="emotional",
                                          risk_signals=signals))
            domain = Outcome(value=DomainResult(refined=[], rules_applied=["safety"], risk_level=level, checklist=[]))
            cands = []
            for c in item.candidates:
                values = [AttributeScore(attribute=a, score=(scores or {}).get((judge, item.id, c.id, a),
                                                                               score(judge, item.id, c.id, a)))
                          for a in protocol.attribute_ids]
                flags = ["unsafe_advice"] if judge == "ja" and (item.id, c.id) in unsafe else []
                cands.append(CandidateJudgment(candidate_id=c.id, sample=0, outcome=Outcome(
                    value=ScoringResult(scores=values, checklist=[], flags=flags))))
            store.save_context_judgment(batch_id, "r_test", ContextJudgment(
                judge_id=judge, context_id=item.id, tom=tom, domain=domain, candidates=cands), protocol)
    return batch_id
