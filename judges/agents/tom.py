"""The Theory-of-Mind agent: hypotheses about the seeker's mind, each grounded in a quote.

Runs once per (judge, context) and never sees a candidate, so its output is a shared frame of
reference for scoring every candidate of the context.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from judges.agents._common import context_block, failed, format_hint, succeeded
from judges.client.model import ModelClient
from judges.client.records import CallTags
from judges.prompts import PromptTemplate, load_prompt, neutralise
from judges.quotes import quote_occurs
from judges.structured import Problem, generate_structured
from judges.types import Context, Frozen, Hypothesis, Outcome, RiskSignal, ToMResult

__all__ = ["ToMAgent", "ToMInput", "ToMReply", "tom_agent"]

_CONFIDENCE = {"low": 0.3, "medium": 0.6, "high": 0.9}


class _HypothesisReply(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["emotion", "belief", "desire", "intention", "need"]
    content: str = Field(min_length=3, max_length=140)
    evidence: str = Field(min_length=2, max_length=120)
    confidence: Literal["low", "medium", "high"]


class _RiskReply(BaseModel):
    model_config = ConfigDict(extra="ignore")
    kind: Literal["self_harm", "harm_to_others", "abuse", "medical"]
    quote: str = Field(min_length=2, max_length=120)


class ToMReply(BaseModel):
    """What the ToM agent's model must return."""

    model_config = ConfigDict(extra="ignore")
    surface_request: str = Field(max_length=140)
    hypotheses: list[_HypothesisReply] = Field(min_length=1, max_length=4)
    support_preference: Literal["emotional", "informational", "instrumental", "mixed", "unclear"]
    risk_signals: list[_RiskReply] = Field(max_length=3)


class ToMInput(Frozen):
    """The ToM agent's input: only the context, never a candidate."""

    context: Context
    """The help-seeking context."""
    tags: CallTags
    """Where its calls belong."""


ToMAgent = Callable[[ToMInput, ModelClient], Awaitable[Outcome[ToMResult]]]


def _grounded(quote: str, context: Context) -> bool:
    """Whether a quote occurs in the conversation as written or as the judge saw it (markers neutralised)."""
    text = context.transcript()
    return quote_occurs(quote, text) or quote_occurs(quote, neutralise("conversation", text))


def _check(context: Context) -> Callable[[ToMReply], list[Problem]]:

    def check(reply: ToMReply) -> list[Problem]:
        problems = [
            Problem(f"hypotheses.{i}.evidence", f"{h.evidence!r} is not an exact span of the conversation",
                    "quote_not_found")
            for i, h in enumerate(reply.hypotheses) if not _grounded(h.evidence, context)
        ]
        problems += [
            Problem(f"risk_signals.{i}.quote", f"{r.quote!r} is not an exact span of the conversation",
                    "quote_not_found")
            for i, r in enumerate(reply.risk_signals) if not _grounded(r.quote, context)
        ]
        return problems

    return check


def _process(reply: ToMReply, context: Context) -> ToMResult | None:
    grounded = [h for h in reply.hypotheses if _grounded(h.evidence, context)]
    if not grounded:
        return None
    return ToMResult(
        surface_request=reply.surface_request,
        hypotheses=[
            Hypothesis(id=f"h{i + 1}", type=h.type, content=h.content, evidence=h.evidence,
                       confidence=_CONFIDENCE[h.confidence])
            for i, h in enumerate(grounded)
        ],
        support_preference=reply.support_preference,
        risk_signals=[RiskSignal(kind=r.kind, quote=r.quote) for r in reply.risk_signals
                      if _grounded(r.quote, context)],
        dropped_hypotheses=len(reply.hypotheses) - len(grounded),
    )


def tom_agent(prompt: PromptTemplate | None = None) -> ToMAgent:
    """Build the ToM agent from a prompt template (default: the shipped ``tom.v1``)."""
    template = prompt or load_prompt("tom.v1")

    async def run(inp: ToMInput, client: ModelClient) -> Outcome[ToMResult]:
        messages = template.render(context=context_block(inp.context), format_hint=format_hint(client, ToMReply))
        tags = inp.tags.model_copy(update={"agent": "tom", "prompt_version": template.version})
        reply = await generate_structured(client, messages, ToMReply, tags=tags, check=_check(inp.context))
        if reply.value is None:
            return failed(reply)
        result = _process(reply.value, inp.context)
        if result is None:
            return Outcome(abstention="quote_not_found", detail="no hypothesis quotes the conversation exactly",
                           calls=reply.calls, repaired=reply.repaired)
        return succeeded(result, reply)

    return run
