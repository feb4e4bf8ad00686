"""The pairwise agent: which of two candidates serves the seeker better, overall or per rubric attribute.

Runs once per (judge, ordered pair, sample); the caller asks for both orders of every pair. It reads the
same system message (the panel brief with the rubric) and the same conversation block and panel notes as
the scoring agent — the ToM and domain outputs of the (judge, context), shared with absolute scoring — so a
local model reuses that prefix and a hosted one its prompt cache; what differs (the two candidates, the
stage line) comes last. The pairwise instruction ("Stage 3, compare") is in this agent's own user template
(``pairwise.v1``), so the brief ``panel.v2`` and every ToM, domain and scoring call stay byte-identical to
absolute scoring and share their cache entries.

The reply is ``{"<attribute>": "A" | "B" | "tie", ...}`` (``overall`` for an overall preference); with
``rationales`` (hosted judges) each entry is ``{"rationale": ..., "verdict": ...}``, rationale first.

Probability weighting: when the call returns top logprobs, P(A), P(B) and P(tie) are read at each verdict
position (:func:`judges.distribution.option_distributions`) and renormalised over the three options; the
caller's preference is P(A) − P(B). Embedded judges (``score_readout`` specs) use **generation with
logprobs**, not the server's score readout, which reads single-digit scale points only: the schema-guided
decoder forces ``{"overall": "`` and lets the model choose only the option, so a verdict costs a few model
steps and its top alternatives are the raw model distribution at that position. A verdict without logprobs
keeps the option the judge wrote (the probabilities stay None); a reply that never parses, or a provider
failure, is an abstention with its reason — never a made-up verdict.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from judges.agents._common import brief, conversation_view, failed, format_hint, prompt_version, untrusted_parts
from judges.agents.scoring import understanding_block
from judges.client.model import ModelClient
from judges.client.records import CallTags
from judges.distribution import option_distributions
from judges.injection import DEFAULT_DEFENCES, Defences
from judges.prompts import PromptTemplate, load_prompt, neutralise
from judges.structured import StructuredReply, generate_structured
from judges.types import (
    Candidate,
    Context,
    DomainResult,
    Frozen,
    Outcome,
    PreferenceResult,
    PreferenceVerdict,
    ToMResult,
)
from protocols import Protocol

__all__ = ["OPTIONS", "OVERALL", "PairwiseAgent", "PairwiseInput", "pairwise_agent", "pairwise_reply_model"]

OPTIONS = ("A", "B", "tie")
OVERALL = "overall"
"""The attribute id of an overall preference."""
Option = Literal["A", "B", "tie"]


@cache
def pairwise_reply_model(attributes: tuple[str, ...], rationales: bool) -> type[BaseModel]:
    """The reply schema: per attribute a verdict, or with ``rationales`` a one-sentence rationale then the verdict."""
    config = ConfigDict(extra="ignore")
    if not rationales:
        return create_model("PreferenceReply", __config__=config, **{a: (Option, ...) for a in attributes})
    entry = create_model("PreferenceEntry", __config__=config,
                         rationale=(str, Field(min_length=3, max_length=160)), verdict=(Option, ...))
    return create_model("PreferenceReply", __config__=config, **{a: (entry, ...) for a in attributes})


class PairwiseInput(Frozen):
    """The pairwise agent's input: one context and two candidates in the order they are shown."""

    context: Context
    """The help-seeking context."""
    first: Candidate
    """The candidate shown as reply A."""
    second: Candidate
    """The candidate shown as reply B."""
    protocol: Protocol
    """The rubric."""
    attributes: list[str] = Field(default_factory=lambda: [OVERALL], min_length=1)
    """Rubric attribute ids to compare on, or ``["overall"]`` for one overall preference."""
    tom: ToMResult | None = None
    """ToM output of this (judge, context) (None when switched off)."""
    domain: DomainResult | None = None
    """Domain output of this (judge, context) (None when switched off)."""
    sample: int = 0
    """Sample index (part of the cache key)."""
    tags: CallTags
    """Where its calls belong."""


PairwiseAgent = Callable[[PairwiseInput, ModelClient], Awaitable[Outcome[PreferenceResult]]]


def _candidates_block(first: Candidate, second: Candidate, defences: Defences = DEFAULT_DEFENCES) -> str:
    """Both replies, each shown through ``defences`` and delimited as untrusted data (markers neutralised)."""
    def block(tag: str, text: str) -> str:
        shown = untrusted_parts(text, [text], defences, role="reply")[0]
        return f"<{tag}>\n{neutralise('candidate_a', neutralise('candidate_b', shown))}\n</{tag}>"
    return f"Reply A:\n{block('candidate_a', first.text)}\n\nReply B:\n{block('candidate_b', second.text)}"


def _question(attributes: Sequence[str]) -> str:
    if list(attributes) == [OVERALL]:
        return "Give one overall verdict (key overall), weighing every rubric attribute."
    return f"Give a verdict for each of these rubric attributes: {', '.join(attributes)}."


def _steps(rationales: bool) -> str:
    if rationales:
        return " For each verdict first give a one-sentence rationale, then the verdict."
    return " Give only the verdicts."


def _read(reply: StructuredReply[Any], attributes: Sequence[str], rationales: bool) -> PreferenceResult:
    """Each attribute's verdict from the parsed reply and, where logprobs exist, its distribution over A/B/tie."""
    distributions = option_distributions(reply.text, reply.logprobs, attributes, OPTIONS, nested=rationales)
    verdicts = []
    for name in attributes:
        entry = getattr(reply.value, name)
        dist = distributions[name]
        verdicts.append(PreferenceVerdict(
            attribute=name, verdict=entry if isinstance(entry, str) else entry.verdict,
            rationale="" if isinstance(entry, str) else entry.rationale,
            p_first=dist["A"] if dist else None, p_second=dist["B"] if dist else None,
            p_tie=dist["tie"] if dist else None))
    return PreferenceResult(verdicts=verdicts)


def pairwise_agent(prompt: PromptTemplate | None = None, defences: Defences = DEFAULT_DEFENCES) -> PairwiseAgent:
    """Build the pairwise agent from a prompt template (default: the shipped ``pairwise.v1``) and text defences."""
    template = prompt or load_prompt("pairwise.v1")

    async def run(inp: PairwiseInput, client: ModelClient) -> Outcome[PreferenceResult]:
        spec = client.spec
        rationales = spec.rationales and not spec.score_readout
        attributes = tuple(inp.attributes)
        unknown = [a for a in attributes if a != OVERALL and a not in inp.protocol.attribute_ids]
        if unknown or (OVERALL in attributes and len(attributes) > 1):
            raise ValueError(f"attributes must be ['overall'] or rubric attribute ids; got {list(attributes)}")
        model = pairwise_reply_model(attributes, rationales)
        messages = template.render(
            brief=brief(inp.protocol),
            context=conversation_view(inp.context, defences).block,
            understanding=understanding_block(inp.tom, inp.domain),
            candidates=_candidates_block(inp.first, inp.second, defences),
            question=_question(attributes),
            steps=_steps(rationales),
            format_hint=format_hint(client, model),
        )
        tags = inp.tags.model_copy(update={"agent": "pairwise", "prompt_version": prompt_version(template.version),
                                           "candidate_id": f"{inp.first.id}>{inp.second.id}"})
        reply = await generate_structured(client, messages, model, tags=tags, sample=inp.sample,
                                          top_logprobs=spec.scoring_logprobs or (20 if spec.score_readout else 0))
        if reply.value is None:
            return failed(reply)
        return Outcome(value=_read(reply, attributes, rationales), calls=reply.calls, repaired=reply.repaired)

    return run
