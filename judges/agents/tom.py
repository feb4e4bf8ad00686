"""The Theory-of-Mind agent: hypotheses about the seeker's mind, each grounded in a span of their words.

Runs once per (judge, context) and never sees a candidate, so its output is a shared frame of
reference for scoring every candidate of the context. Evidence is the number of one of the seeker's
spans: an enum under schema-constrained decoding, so it is grounded by construction. A hypothesis
whose number names no span (possible only without constrained decoding) is dropped; the agent
abstains only when no grounded hypothesis remains.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from judges.agents._common import ConversationView, brief, conversation_view, failed, format_hint, prompt_version
from judges.client.model import ModelClient
from judges.client.records import CallTags
from judges.injection import DEFAULT_DEFENCES, Defences
from judges.prompts import PromptTemplate, load_prompt
from judges.structured import generate_structured
from judges.types import Context, Frozen, Hypothesis, Outcome, RiskSignal, ToMResult
from protocols import Protocol

__all__ = ["ToMAgent", "ToMInput", "tom_agent", "tom_reply_model"]

_CONFIDENCE = {"low": 0.3, "medium": 0.6, "high": 0.9}
HypothesisType = Literal["emotion", "belief", "desire", "intention", "need"]
SupportPreference = Literal["emotional", "informational", "instrumental", "mixed", "unclear"]
RiskKind = Literal["self_harm", "harm_to_others", "abuse", "medical"]


@cache
def tom_reply_model(n_spans: int) -> type[BaseModel]:
    """The reply schema for a conversation with ``n_spans`` numbered seeker spans (evidence is one of them)."""
    config = ConfigDict(extra="ignore")
    span = Field(json_schema_extra={"enum": list(range(1, n_spans + 1))})
    hypothesis = create_model(
        "HypothesisReply", __config__=config,
        type=(HypothesisType, ...),
        content=(str, Field(min_length=3, max_length=50)),
        evidence=(int, span),
        confidence=(Literal["low", "medium", "high"], ...),
    )
    risk = create_model("RiskReply", __config__=config, kind=(RiskKind, ...), evidence=(int, span))
    return create_model(
        "ToMReply", __config__=config,
        hypotheses=(list[hypothesis], Field(min_length=1, max_length=3)),  # type: ignore[valid-type]
        surface_request=(str, Field(max_length=40)),
        support_preference=(SupportPreference, ...),
        risk_signals=(list[risk], Field(max_length=2)),  # type: ignore[valid-type]
    )


class ToMInput(Frozen):
    """The ToM agent's input: only the context (and the protocol of the shared brief), never a candidate."""

    context: Context
    """The help-seeking context."""
    protocol: Protocol
    """The rubric in the panel brief that every agent of the judge shares."""
    tags: CallTags
    """Where its calls belong."""


ToMAgent = Callable[[ToMInput, ModelClient], Awaitable[Outcome[ToMResult]]]


def _process(reply: Any, view: ConversationView) -> ToMResult | None:
    grounded = [(h, view.span(h.evidence)) for h in reply.hypotheses if view.span(h.evidence) is not None]
    if not grounded:
        return None
    return ToMResult(
        surface_request=reply.surface_request,
        hypotheses=[
            Hypothesis(id=f"h{i + 1}", type=h.type, content=h.content, evidence=quote,
                       confidence=_CONFIDENCE[h.confidence])
            for i, (h, quote) in enumerate(grounded)
        ],
        support_preference=reply.support_preference,
        risk_signals=[RiskSignal(kind=r.kind, quote=view.span(r.evidence)) for r in reply.risk_signals
                      if view.span(r.evidence) is not None],
        dropped_hypotheses=len(reply.hypotheses) - len(grounded),
    )


def tom_agent(prompt: PromptTemplate | None = None, defences: Defences = DEFAULT_DEFENCES) -> ToMAgent:
    """Build the ToM agent from a prompt template (default: the shipped ``tom.v2``) and text defences."""
    template = prompt or load_prompt("tom.v2")

    async def run(inp: ToMInput, client: ModelClient) -> Outcome[ToMResult]:
        view = conversation_view(inp.context, defences)
        model = tom_reply_model(len(view.spans))
        messages = template.render(brief=brief(inp.protocol), context=view.block,
                                   format_hint=format_hint(client, model))
        tags = inp.tags.model_copy(update={"agent": "tom", "prompt_version": prompt_version(template.version)})
        reply = await generate_structured(client, messages, model, tags=tags)
        if reply.value is None:
            return failed(reply)
        result = _process(reply.value, view)
        if result is None:
            return Outcome(abstention="quote_not_found", detail="no hypothesis cites a span of the seeker's words",
                           calls=reply.calls, repaired=reply.repaired)
        return Outcome(value=result, calls=reply.calls, repaired=reply.repaired)

    return run
