"""One judge on one context: ToM → domain (once) → scoring (per candidate and sample).

ToM and domain never see a candidate and are reused for every candidate of the context, so a context
with k candidates costs the judge 2 + k calls (plus repairs), and a re-run costs none (cache). With the
safety screens on (``AgentSwitches.safety``) the judge also answers the risk screen once and the advice
screen once per candidate (1 + k calls more); the screens never feed or change a score.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from judges.agents.domain import DomainAgent, DomainInput, domain_agent
from judges.agents.safety import ScreenAgent, ScreenInput, advice_screen_agent, risk_screen_agent
from judges.agents.scoring import ScoringAgent, ScoringInput, scoring_agent
from judges.agents.tom import ToMAgent, ToMInput, tom_agent
from judges.client.model import ModelClient
from judges.client.records import CallTags
from judges.injection import Defences
from judges.types import (
    AttributeScore,
    Candidate,
    Context,
    DomainResult,
    Frozen,
    Outcome,
    ScoringResult,
    ScreenResult,
    ToMResult,
)
from protocols import Protocol

__all__ = ["CandidateJudgment", "ContextJudgment", "JudgePipeline", "Upstream", "gather_in_order"]

T = TypeVar("T")


async def gather_in_order(factories: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run coroutines in a task group and return their results in input order.

    The first exception cancels the rest and propagates (as an ExceptionGroup from the task group).
    Concurrency is bounded by the model clients' limiters, not here.
    """
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(f()) for f in factories]
    return [t.result() for t in tasks]


class CandidateJudgment(Frozen):
    """One judge's scoring of one candidate (one sample)."""

    candidate_id: str
    """The candidate."""
    sample: int
    """Sample index."""
    outcome: Outcome[ScoringResult]
    """The scoring agent's outcome."""
    screen: Outcome[ScreenResult] | None = None
    """The advice screen's outcome (sample 0 only; None when the screens are off)."""

    def attribute_scores(self, protocol: Protocol) -> list[AttributeScore]:
        """A score or an abstention for every rubric attribute (agent failure → all abstain)."""
        if self.outcome.value is not None:
            return list(self.outcome.value.scores)
        reason = self.outcome.abstention or "invalid_output"
        return [AttributeScore(attribute=a, score=None, abstention=reason, detail=self.outcome.detail)
                for a in protocol.attribute_ids]


class ContextJudgment(Frozen):
    """Everything one judge produced for one context."""

    judge_id: str
    """The judge."""
    context_id: str
    """The context (item) id."""
    tom: Outcome[ToMResult] | None
    """ToM outcome (None when switched off)."""
    domain: Outcome[DomainResult] | None
    """Domain outcome (None when switched off)."""
    risk_screen: Outcome[ScreenResult] | None = None
    """The risk screen's outcome (None when the screens are off)."""
    candidates: list[CandidateJudgment]
    """Per candidate and sample, in input order."""


class Upstream(Frozen):
    """The ToM and domain outcomes of one (judge, context), and the abstention they impose downstream."""

    tom: Outcome[ToMResult] | None
    """ToM outcome (None when switched off)."""
    domain: Outcome[DomainResult] | None
    """Domain outcome (None when switched off or skipped after a failed ToM)."""
    blocked: Outcome[ScoringResult] | None
    """The ``upstream_failed`` abstention when a required upstream agent failed, else None."""


def _upstream_failed(name: str, outcome: Outcome[object]) -> Outcome[ScoringResult]:
    return Outcome(abstention="upstream_failed", detail=f"{name} abstained ({outcome.abstention}): {outcome.detail}")


@dataclass
class JudgePipeline:
    """The three agents of one judge, wired together."""

    tom: ToMAgent = field(default_factory=tom_agent)
    domain: DomainAgent = field(default_factory=domain_agent)
    scoring: ScoringAgent = field(default_factory=scoring_agent)
    risk_screen: ScreenAgent = field(default_factory=risk_screen_agent)
    advice_screen: ScreenAgent = field(default_factory=advice_screen_agent)

    @classmethod
    def defended(cls, defences: Defences) -> JudgePipeline:
        """The shipped agents with these text defences (:mod:`judges.injection.defend`; on by default)."""
        return cls(tom=tom_agent(defences=defences), domain=domain_agent(defences=defences),
                   scoring=scoring_agent(defences=defences), risk_screen=risk_screen_agent(defences=defences),
                   advice_screen=advice_screen_agent(defences=defences))

    async def upstream(self, client: ModelClient, context: Context, protocol: Protocol, tags: CallTags) -> Upstream:
        """ToM then domain for one (judge, context): run once and shared by every candidate (or pair) of it.

        ``tags`` must already carry the judge and item. A failed ToM skips the domain agent; either failure
        becomes the ``upstream_failed`` abstention of everything judged downstream (``blocked``).
        """
        spec = client.spec
        tom = None
        if spec.agents.tom:
            tom = await self.tom(ToMInput(context=context, protocol=protocol, tags=tags), client)
        domain: Outcome[DomainResult] | None = None
        blocked: Outcome[ScoringResult] | None = _upstream_failed("ToM agent", tom) if tom and not tom.ok else None
        if spec.agents.domain and blocked is None:
            domain = await self.domain(
                DomainInput(context=context, tom=tom.value if tom else None, protocol=protocol, tags=tags), client
            )
            if not domain.ok:
                blocked = _upstream_failed("domain agent", domain)
        return Upstream(tom=tom, domain=domain, blocked=blocked)

    async def judge_context(
        self,
        client: ModelClient,
        context: Context,
        candidates: Sequence[Candidate],
        protocol: Protocol,
        tags: CallTags,
    ) -> ContextJudgment:
        """Judge every candidate of one context with this judge."""
        spec = client.spec
        tags = tags.model_copy(update={"judge_id": spec.id, "item_id": context.id})
        screens = spec.agents.safety
        risk = await self.risk_screen(ScreenInput(context=context, tags=tags), client) if screens else None
        up = await self.upstream(client, context, protocol, tags)
        tom, domain, blocked = up.tom, up.domain, up.blocked

        async def score(candidate: Candidate, sample: int) -> CandidateJudgment:
            screen = (await self.advice_screen(ScreenInput(context=context, candidate=candidate, tags=tags), client)
                      if screens and sample == 0 else None)
            if blocked is not None:
                return CandidateJudgment(candidate_id=candidate.id, sample=sample, outcome=blocked, screen=screen)
            inp = ScoringInput(context=context, candidate=candidate, protocol=protocol, sample=sample, tags=tags,
                               tom=tom.value if tom else None, domain=domain.value if domain else None)
            return CandidateJudgment(candidate_id=candidate.id, sample=sample, outcome=await self.scoring(inp, client),
                                     screen=screen)

        judged = await gather_in_order([
            lambda c=c, s=s: score(c, s) for c in candidates for s in range(spec.samples)  # type: ignore[misc]
        ])
        return ContextJudgment(judge_id=spec.id, context_id=context.id, tom=tom, domain=domain, risk_screen=risk,
                               candidates=judged)
