"""The scoring agent: every rubric attribute of one candidate, with a rationale and a quote.

Runs once per (judge, candidate, sample). It reads the context, the refined hypotheses and checklist
from upstream, the protocol's anchored rubric and the candidate (delimited, treated as data), gives a
verdict per checklist item and scores each attribute. An attribute whose quote does not occur in the
candidate, or whose score contradicts an unmet "must" item, abstains after the repair re-prompt.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from judges.agents._common import context_block, failed, format_hint
from judges.client.model import ModelClient
from judges.client.records import CallTags
from judges.prompts import PromptTemplate, delimit, load_prompt, neutralise
from judges.quotes import quote_occurs
from judges.structured import Problem, generate_structured
from judges.types import (
    AttributeScore,
    Candidate,
    ChecklistVerdict,
    Context,
    DomainResult,
    Frozen,
    Outcome,
    ScoringResult,
    ToMResult,
)
from protocols import Protocol

__all__ = ["FLAGS", "ScoringAgent", "ScoringInput", "scoring_agent", "scoring_reply_model"]

FLAGS = ("unsafe_advice", "sycophancy", "premature_advice", "misattuned", "dismissive")
Verdict = Literal["met", "partial", "unmet", "n/a"]


@cache
def scoring_reply_model(
    attribute_ids: tuple[str, ...], points: tuple[int, ...], checklist_ids: tuple[str, ...]
) -> type[BaseModel]:
    """The reply schema: checklist verdicts, then per attribute rationale → quote → score, then flags."""
    config = ConfigDict(extra="ignore")
    attribute_reply = create_model(
        "AttributeReply",
        __config__=config,
        rationale=(str, Field(min_length=3, max_length=160)),
        quote=(str, Field(max_length=120)),
        score=(Literal[points], ...),  # type: ignore[valid-type]
    )
    fields: dict[str, Any] = {}
    if checklist_ids:
        verdicts = create_model("ChecklistVerdicts", __config__=config,
                                **{cid: (Verdict, ...) for cid in checklist_ids})
        fields["checklist"] = (verdicts, ...)
    fields.update({aid: (attribute_reply, ...) for aid in attribute_ids})
    fields["flags"] = (list[Literal[FLAGS]], Field(max_length=5))  # type: ignore[valid-type]
    return create_model("ScoreReply", __config__=config, **fields)


class ScoringInput(Frozen):
    """The scoring agent's input for one candidate."""

    context: Context
    """The help-seeking context."""
    candidate: Candidate
    """The candidate response to score."""
    protocol: Protocol
    """The rubric."""
    tom: ToMResult | None = None
    """ToM output (None when switched off)."""
    domain: DomainResult | None = None
    """Domain output (None when switched off)."""
    sample: int = 0
    """Sample index (part of the cache key)."""
    tags: CallTags
    """Where its calls belong."""


ScoringAgent = Callable[[ScoringInput, ModelClient], Awaitable[Outcome[ScoringResult]]]


def _understanding_block(tom: ToMResult | None, domain: DomainResult | None) -> str:
    lines: list[str] = []
    if domain is not None and domain.refined:
        lines.append("What the panel inferred about the seeker (weight):")
        lines += [f"- {h.id} ({h.weight:.2f}): {h.content}" for h in domain.refined]
    elif tom is not None:
        lines.append("What the panel inferred about the seeker (confidence):")
        lines += [f"- {h.id} ({h.confidence:.1f}): {h.content}" for h in tom.hypotheses]
    if domain is not None:
        lines.append(f"Risk level: {domain.risk_level}")
        lines.append("Checklist for a good reply (for an 'avoid' item, 'met' means the reply avoids it):")
        lines += [f"- {c.id} [{c.kind}, {c.attribute}]: {c.text}" for c in domain.checklist]
    return "\n".join(lines) or "Score the candidate directly against the rubric."


def _must_unmet(domain: DomainResult | None, verdicts: dict[str, str]) -> dict[str, list[str]]:
    """Attribute → ids of unmet "must" items tied to it."""
    unmet: dict[str, list[str]] = {}
    for item in domain.checklist if domain else []:
        if item.kind == "must" and verdicts.get(item.id) == "unmet":
            unmet.setdefault(item.attribute, []).append(item.id)
    return unmet


def _verdicts(reply: Any) -> dict[str, str]:
    checklist = getattr(reply, "checklist", None)
    return checklist.model_dump() if checklist is not None else {}


def _check(inp: ScoringInput) -> Callable[[Any], list[Problem]]:
    top = inp.protocol.scale.max
    texts = (inp.candidate.text, neutralise("candidate", inp.candidate.text))  # as written and as shown

    def check(reply: Any) -> list[Problem]:
        problems: list[Problem] = []
        unmet = _must_unmet(inp.domain, _verdicts(reply))
        for aid in inp.protocol.attribute_ids:
            entry = getattr(reply, aid)
            if entry.quote.strip() and not any(quote_occurs(entry.quote, t) for t in texts):
                problems.append(Problem(f"{aid}.quote", f"{entry.quote!r} is not an exact span of the candidate "
                                        "(copy it exactly, or use an empty string)", "quote_not_found"))
            if entry.score == top and aid in unmet:
                problems.append(Problem(f"{aid}.score", f"checklist item(s) {', '.join(unmet[aid])} (must) are "
                                        f"unmet, so {aid} cannot get the top score {top}"))
        return problems

    return check


def _process(reply: Any, problems: list[Problem], inp: ScoringInput) -> ScoringResult:
    broken = {p.field.split(".")[0]: p for p in problems}
    scores = []
    for aid in inp.protocol.attribute_ids:
        entry = getattr(reply, aid)
        problem = broken.get(aid)
        if problem is None:
            scores.append(AttributeScore(attribute=aid, score=float(entry.score), rationale=entry.rationale,
                                         quote=entry.quote))
        else:
            scores.append(AttributeScore(attribute=aid, score=None, rationale=entry.rationale, quote=entry.quote,
                                         abstention=problem.kind, detail=problem.message))  # type: ignore[arg-type]
    return ScoringResult(
        scores=scores,
        checklist=[ChecklistVerdict(id=cid, verdict=v) for cid, v in _verdicts(reply).items()],
        flags=sorted(set(reply.flags)),
    )


def scoring_agent(prompt: PromptTemplate | None = None) -> ScoringAgent:
    """Build the scoring agent from a prompt template (default: the shipped ``scoring.v1``)."""
    template = prompt or load_prompt("scoring.v1")

    async def run(inp: ScoringInput, client: ModelClient) -> Outcome[ScoringResult]:
        checklist_ids = tuple(c.id for c in inp.domain.checklist) if inp.domain else ()
        model = scoring_reply_model(tuple(inp.protocol.attribute_ids), tuple(inp.protocol.scale.points),
                                    checklist_ids)
        messages = template.render(
            context=context_block(inp.context),
            understanding=_understanding_block(inp.tom, inp.domain),
            rubric=inp.protocol.rubric_text(),
            candidate=delimit("candidate", inp.candidate.text),
            format_hint=format_hint(client, model),
        )
        tags = inp.tags.model_copy(update={"agent": "scoring", "prompt_version": template.version,
                                           "candidate_id": inp.candidate.id})
        reply = await generate_structured(client, messages, model, tags=tags, check=_check(inp), sample=inp.sample)
        if reply.value is None:
            return failed(reply)
        return Outcome(value=_process(reply.value, reply.problems, inp), calls=reply.calls, repaired=reply.repaired)

    return run
