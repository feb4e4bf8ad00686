"""Builders for ``scoring: expected`` judgments: a distribution over the scale points, its mean and confidence.

The judge side (reading logprobs) is the lead's; these tests need only what it stores: an
:class:`AttributeScore` whose score is the expected value of ``distribution`` and whose confidence is
1 − entropy / log(number of scale points).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from council.run import prepare_batch
from council.store.store import Store
from judges.pipeline import CandidateJudgment, ContextJudgment
from judges.types import AttributeScore, Outcome, ScoringResult
from protocols import load_protocol
from tests.council.helpers import council, one_item_batch

D1, D2, D3 = {0: .1, 1: .3, 2: .6}, {0: .05, 1: .15, 2: .8}, {0: 0.0, 1: .5, 2: .5}
C1, C2, C3 = 0.18265457785349004, 0.44214218356782176, 0.3690702464285426
"""Confidences of D1, D2, D3 on three points: 1 − H/ln 3."""
ER, INT, EXP = "emotional_reactions", "interpretations", "explorations"


def expected_score(attribute: str, weights: Mapping[int, float], n_points: int) -> AttributeScore:
    """The expected-scoring AttributeScore of a distribution (weights are renormalised)."""
    total = sum(weights.values())
    dist = {str(k): v / total for k, v in sorted(weights.items())}
    score = sum(float(k) * p for k, p in dist.items())
    entropy = -sum(p * math.log(p) for p in dist.values() if p > 0)
    return AttributeScore(attribute=attribute, score=score, confidence=1 - entropy / math.log(n_points),
                          distribution=dist)


def abstained(attribute: str) -> AttributeScore:
    """An abstention (no score, no distribution)."""
    return AttributeScore(attribute=attribute, score=None, abstention="no_logprobs", detail="test")


def context_judgment(judge_id: str, item_id: str, per_candidate: Mapping[str, list[list[AttributeScore]]]
                     ) -> ContextJudgment:
    """One judge's judgment of one item: per candidate, a list of samples, each a list of attribute scores."""
    cands = [CandidateJudgment(candidate_id=cand, sample=k,
                               outcome=Outcome(value=ScoringResult(scores=scores, checklist=[], flags=[])))
             for cand, samples in per_candidate.items() for k, scores in enumerate(samples)]
    return ContextJudgment(judge_id=judge_id, context_id=item_id, tom=None, domain=None, candidates=cands)


def store_three_judges(store: Store) -> str:
    """One epitome candidate (scale 0–2, three points) judged by three judges; returns the batch id.

    - j0, ``scoring: expected``, two samples: emotional_reactions from D1 = (.1, .3, .6) then
      D2 = (.05, .15, .8), interpretations D2 twice, explorations D3 = (0, .5, .5) twice;
    - j1, expected, one sample: emotional_reactions D2, interpretations abstained, explorations D1;
    - j2, argmax: 2 everywhere (no confidence, no distribution).

    E[D1] = 1.5, E[D2] = 1.75, E[D3] = 1.5; c(D1) = 0.18265, c(D2) = 0.44214, c(D3) = 0.36907. So j0 on
    emotional_reactions: 1.625 with confidence (C1 + C2)/2; the council (mean): (1.625 + 1.75 + 2)/3.
    """
    protocol = load_protocol("epitome")
    batch_id = prepare_batch(store, one_item_batch(), protocol, council(3, aggregation="mean"))

    def e(attribute: str, d: dict[int, float]) -> AttributeScore:
        return expected_score(attribute, d, 3)

    judgments = {
        "j0": [[e(ER, D1), e(INT, D2), e(EXP, D3)], [e(ER, D2), e(INT, D2), e(EXP, D3)]],
        "j1": [[e(ER, D2), abstained(INT), e(EXP, D1)]],
        "j2": [[AttributeScore(attribute=a, score=2.0) for a in (ER, INT, EXP)]],
    }
    for judge, samples in judgments.items():
        store.save_context_judgment(batch_id, "r_test", context_judgment(judge, "i1", {"c0": samples}), protocol)
    return batch_id
