"""The domain agent: weighs ToM hypotheses against cultural, ethical and clinical-safety norms.

Runs once per (judge, context), never sees a candidate, keeps the 1-3 most plausible hypotheses with
weights, rates the risk level and writes a must / should / avoid checklist tied to rubric attributes.
It describes goals and never drafts a reply. Without ToM (ablation C2) it derives the checklist from
the context alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from judges.agents._common import brief, conversation_view, failed, format_hint, prompt_version, succeeded
from judges.client.model import ModelClient
from judges.client.records import CallTags
from judges.injection import DEFAULT_DEFENCES, Defences
from judges.prompts import PromptTemplate, load_prompt
from judges.structured import generate_structured
from judges.types import ChecklistItem, Context, DomainResult, Frozen, Outcome, RefinedHypothesis, ToMResult
from protocols import Protocol

__all__ = ["DomainAgent", "DomainInput", "domain_agent", "domain_reply_model"]

RuleFamily = Literal["cultural", "ethics", "safety", "therapy"]
RiskLevel = Literal["none", "low", "moderate", "high", "imminent"]
Kind = Literal["must", "should", "avoid"]


@cache
def domain_reply_model(hypothesis_ids: tuple[str, ...], attribute_ids: tuple[str, ...]) -> type[BaseModel]:
    """The reply schema for these hypothesis ids (empty without ToM) and rubric attributes."""
    config = ConfigDict(extra="ignore")
    checklist_item = create_model(
        "ChecklistEntry", __config__=config,
        kind=(Kind, ...),
        attribute=(Literal[attribute_ids], ...),  # type: ignore[valid-type]
        text=(str, Field(min_length=3, max_length=40)),
    )
    fields: dict[str, Any] = {}
    if hypothesis_ids:
        kept = create_model(
            "KeptHypothesis", __config__=config,
            source=(Literal[hypothesis_ids], ...),  # type: ignore[valid-type]
            plausibility=(Literal[1, 2, 3, 4, 5], ...),
        )
        fields["keep"] = (list[kept], Field(min_length=1, max_length=3))  # type: ignore[valid-type]
    fields["norms"] = (list[RuleFamily], Field(max_length=2))
    fields["risk_level"] = (RiskLevel, ...)
    fields["checklist"] = (list[checklist_item], Field(min_length=2, max_length=3))  # type: ignore[valid-type]
    return create_model("DomainReply", __config__=config, **fields)


class DomainInput(Frozen):
    """The domain agent's input: the context and the ToM output, never a candidate."""

    context: Context
    """The help-seeking context."""
    tom: ToMResult | None
    """The ToM hypotheses, or None when ToM is switched off."""
    protocol: Protocol
    """The rubric whose attributes the checklist refers to."""
    tags: CallTags
    """Where its calls belong."""


DomainAgent = Callable[[DomainInput, ModelClient], Awaitable[Outcome[DomainResult]]]


def _hypotheses_block(tom: ToMResult | None) -> str:
    if tom is None:
        return "No hypotheses are given: infer the seeker's needs from the conversation yourself."
    lines = ["Stage 1 found:", f"- asks for: {tom.surface_request}", f"- wants support: {tom.support_preference}"]
    lines += [f"- {h.id} ({h.type}, {h.confidence:.1f}): {h.content}" for h in tom.hypotheses]
    lines += [f"- risk signal: {r.kind} (\"{r.quote}\")" for r in tom.risk_signals]
    return "\n".join(lines)


def _process(reply: Any, tom: ToMResult | None) -> DomainResult:
    hypotheses = {h.id: h for h in tom.hypotheses} if tom else {}
    unique: dict[str, Any] = {}
    for entry in getattr(reply, "keep", None) or []:
        unique.setdefault(entry.source, entry)  # a hypothesis kept twice keeps its first rating
    total = sum(r.plausibility for r in unique.values()) or 1
    return DomainResult(
        refined=[RefinedHypothesis(id=f"{r.source}r", source=r.source, content=hypotheses[r.source].content,
                                   weight=r.plausibility / total) for r in unique.values()],
        rules_applied=list(dict.fromkeys(reply.norms)),
        risk_level=reply.risk_level,
        checklist=[ChecklistItem(id=f"c{i + 1}", kind=c.kind, attribute=c.attribute, text=c.text)
                   for i, c in enumerate(reply.checklist)],
    )


def domain_agent(prompt: PromptTemplate | None = None, defences: Defences = DEFAULT_DEFENCES) -> DomainAgent:
    """Build the domain agent from a prompt template (default: the shipped ``domain.v2``) and text defences."""
    template = prompt or load_prompt("domain.v2")

    async def run(inp: DomainInput, client: ModelClient) -> Outcome[DomainResult]:
        hypothesis_ids = tuple(h.id for h in inp.tom.hypotheses) if inp.tom else ()
        model = domain_reply_model(hypothesis_ids, tuple(inp.protocol.attribute_ids))
        messages = template.render(
            brief=brief(inp.protocol),
            context=conversation_view(inp.context, defences).block,
            hypotheses=_hypotheses_block(inp.tom),
            attributes=", ".join(inp.protocol.attribute_ids),
            format_hint=format_hint(client, model),
        )
        tags = inp.tags.model_copy(update={"agent": "domain", "prompt_version": prompt_version(template.version)})
        reply = await generate_structured(client, messages, model, tags=tags)
        if reply.value is None:
            return failed(reply)
        return succeeded(_process(reply.value, inp.tom), reply)

    return run
