"""One judge on one context in pairwise mode: ToM → domain (once, shared with absolute scoring) → ordered pairs.

The upstream agents are :class:`~judges.pipeline.JudgePipeline`'s, run through its :meth:`upstream`, so their
prompts and cache entries are exactly those of absolute scoring: a context already scored absolutely costs
its judge no ToM or domain call here. Then every ordered pair the caller planned goes through the pairwise
agent (per sample), concurrently within the judge's limiter. A context with ``p`` planned pairs, both orders,
costs the judge 2 + 2p calls (``2 + k(k−1)`` for all pairs of k candidates), and a re-run costs none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from judges.agents.pairwise import OVERALL, PairwiseAgent, PairwiseInput, pairwise_agent
from judges.client.model import ModelClient
from judges.client.records import CallTags
from judges.pipeline import JudgePipeline, gather_in_order
from judges.types import Candidate, Context, DomainResult, Frozen, Outcome, PreferenceResult, ToMResult
from protocols import Protocol

__all__ = ["PairJudgment", "PairToJudge", "PairwiseContextJudgment", "PairwisePipeline"]


class PairToJudge(Frozen):
    """One presentation of a planned pair: which candidate is shown as A, which as B."""

    first: str
    """Candidate id shown as reply A."""
    second: str
    """Candidate id shown as reply B."""
    order: Literal["AB", "BA"]
    """``AB``: the plan's orientation; ``BA``: the same pair swapped."""


class PairJudgment(Frozen):
    """One judge's answer to one presentation of a pair (one sample)."""

    pair: PairToJudge
    """What was shown."""
    sample: int
    """Sample index."""
    outcome: Outcome[PreferenceResult]
    """The pairwise agent's outcome (an abstention when it, or an upstream agent, failed)."""


class PairwiseContextJudgment(Frozen):
    """Everything one judge produced for one context in pairwise mode."""

    judge_id: str
    """The judge."""
    context_id: str
    """The context (item) id."""
    tom: Outcome[ToMResult] | None
    """ToM outcome (None when switched off)."""
    domain: Outcome[DomainResult] | None
    """Domain outcome (None when switched off)."""
    pairs: list[PairJudgment]
    """Per presentation and sample, in the order asked."""


@dataclass
class PairwisePipeline:
    """The upstream agents of :class:`JudgePipeline` and the pairwise agent, wired together."""

    upstream: JudgePipeline = field(default_factory=JudgePipeline)
    compare: PairwiseAgent = field(default_factory=pairwise_agent)

    async def judge_pairs(self, client: ModelClient, context: Context, candidates: Sequence[Candidate],
                          pairs: Sequence[PairToJudge], protocol: Protocol, tags: CallTags,
                          attributes: Sequence[str] = (OVERALL,)) -> PairwiseContextJudgment:
        """Compare every given presentation of the context's candidates with this judge.

        Raises:
            ValueError: A pair names a candidate the context does not have.
        """
        spec = client.spec
        by_id = {c.id: c for c in candidates}
        missing = sorted({i for p in pairs for i in (p.first, p.second)} - set(by_id))
        if missing:
            raise ValueError(f"context {context.id!r}: pairs name unknown candidates {missing}")
        tags = tags.model_copy(update={"judge_id": spec.id, "item_id": context.id})
        up = await self.upstream.upstream(client, context, protocol, tags)

        async def judge(pair: PairToJudge, sample: int) -> PairJudgment:
            if up.blocked is not None:
                blocked = Outcome[PreferenceResult](abstention=up.blocked.abstention, detail=up.blocked.detail)
                return PairJudgment(pair=pair, sample=sample, outcome=blocked)
            inp = PairwiseInput(context=context, first=by_id[pair.first], second=by_id[pair.second],
                                protocol=protocol, attributes=list(attributes), sample=sample, tags=tags,
                                tom=up.tom.value if up.tom else None,
                                domain=up.domain.value if up.domain else None)
            return PairJudgment(pair=pair, sample=sample, outcome=await self.compare(inp, client))

        judged = await gather_in_order([
            lambda p=p, s=s: judge(p, s) for p in pairs for s in range(spec.samples)  # type: ignore[misc]
        ])
        return PairwiseContextJudgment(judge_id=spec.id, context_id=context.id, tom=up.tom, domain=up.domain,
                                       pairs=judged)
