"""The scoring agent: every rubric attribute of one candidate, read as a scale point or as a distribution.

Runs once per (judge, candidate, sample). It reads the context, the refined hypotheses and checklist
from upstream and the candidate (delimited, treated as data; the rubric is in the shared brief), gives
a verdict per checklist item and a score per attribute at a fixed position of a compact JSON reply.
With ``rationales`` each attribute also gets a one-sentence rationale and the number of a candidate span
as evidence (grounded by construction under constrained decoding).

Scores are read per the judge's ``scoring`` mode: ``argmax`` takes the point written; ``expected`` takes
the mean of the model's distribution over the scale points at that position (see
:mod:`judges.distribution`), and abstains with ``no_logprobs`` where the provider gave none. An unmet
"must" item caps its attribute below the top score: in argmax mode a top score is sent back for repair,
in expected mode the distribution is conditioned on the points below the top.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from judges.agents._common import brief, conversation_view, failed, format_hint, prompt_version, untrusted_parts
from judges.client.model import ModelClient
from judges.client.records import CallTags
from judges.distribution import ScoreDistribution, confidence, expected, score_distributions
from judges.injection import DEFAULT_DEFENCES, Defences
from judges.prompts import PromptTemplate, delimit, load_prompt
from judges.spans import numbered, split_spans
from judges.structured import Problem, StructuredReply, generate_structured
from judges.types import (
    AttributeScore,
    Candidate,
    ChecklistVerdict,
    Context,
    DomainResult,
    Frozen,
    JudgeSpec,
    Outcome,
    ScoringResult,
    ToMResult,
)
from protocols import Protocol

__all__ = ["FLAGS", "ScoringAgent", "ScoringInput", "scoring_agent", "scoring_reply_model", "understanding_block"]

FLAGS = ("unsafe_advice", "sycophancy", "premature_advice", "misattuned", "dismissive")
Verdict = Literal["met", "partial", "unmet", "n/a"]


@cache
def scoring_reply_model(
    attribute_ids: tuple[str, ...], points: tuple[int, ...], checklist_ids: tuple[str, ...],
    evidence_spans: int | None = None, flags: bool = True,
) -> type[BaseModel]:
    """The reply schema: checklist verdicts, then each attribute's score, then flags.

    With ``evidence_spans`` (rationales on) each attribute is ``{rationale, evidence, score}``, evidence
    being 0 (nothing applies) or the number of one of the candidate's spans. Without ``flags`` (a score
    readout) the reply holds the scores only.
    """
    config = ConfigDict(extra="ignore")
    score = (Literal[points], ...)  # type: ignore[valid-type]
    fields: dict[str, Any] = {}
    if checklist_ids:
        verdicts = create_model("ChecklistVerdicts", __config__=config,
                                **{cid: (Verdict, ...) for cid in checklist_ids})
        fields["checklist"] = (verdicts, ...)
    if evidence_spans is None:
        fields.update({aid: score for aid in attribute_ids})
    else:
        attribute_reply = create_model(
            "AttributeReply", __config__=config,
            rationale=(str, Field(min_length=3, max_length=160)),
            evidence=(int, Field(json_schema_extra={"enum": list(range(evidence_spans + 1))})),
            score=score,
        )
        fields.update({aid: (attribute_reply, ...) for aid in attribute_ids})
    if flags:
        fields["flags"] = (list[Literal[FLAGS]], Field(max_length=3))  # type: ignore[valid-type]
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


def understanding_block(tom: ToMResult | None, domain: DomainResult | None) -> str:
    """The panel's notes on the seeker (ToM / domain outputs) as the scoring and pairwise agents read them."""
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
    return "\n".join(lines) or "No panel notes. Score the candidate directly against the rubric."


def _steps(has_checklist: bool, rationales: bool, readout: bool) -> str:
    if readout:
        return ""
    steps = []
    if has_checklist:
        steps.append("First say for each checklist item whether the reply met it (met, partial, unmet, n/a).")
    if rationales:
        steps.append("For each attribute give a one-sentence rationale, the number of the candidate span that "
                     "shows it (0 when none applies), then the score.")
    else:
        steps.append("For each attribute give only its score.")
    steps.append("Then flag any problem you see.")
    return " " + " ".join(steps)


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


def _point(entry: Any) -> int:
    return entry if isinstance(entry, int) else entry.score


def _check(inp: ScoringInput, spec: JudgeSpec) -> Callable[[Any], list[Problem]]:
    top = inp.protocol.scale.max

    def check(reply: Any) -> list[Problem]:
        if spec.scoring == "expected":  # the cap conditions the distribution instead (see _read)
            return []
        unmet = _must_unmet(inp.domain, _verdicts(reply))
        return [Problem(f"{aid}.score", f"checklist item(s) {', '.join(unmet[aid])} (must) are unmet, so {aid} "
                        f"cannot get the top score {top}")
                for aid in inp.protocol.attribute_ids if _point(getattr(reply, aid)) == top and aid in unmet]

    return check


def _capped(distribution: ScoreDistribution, top: int) -> ScoreDistribution | None:
    """The distribution conditioned on the points below the top (None when they have no mass)."""
    below = {p: v for p, v in distribution.items() if int(p) < top}
    total = sum(below.values())
    return {p: v / total for p, v in below.items()} | {str(top): 0.0} if total > 0 else None


def _read(aid: str, entry: Any, problem: Problem | None, distribution: ScoreDistribution | None, capped: bool,
          inp: ScoringInput, spec: JudgeSpec, spans: list[str], has_logprobs: bool) -> AttributeScore:
    """One attribute's score (or abstention) from the reply entry and its distribution."""
    rationale = "" if isinstance(entry, int) else entry.rationale
    evidence = 0 if isinstance(entry, int) else entry.evidence
    quote = spans[evidence - 1] if 1 <= evidence <= len(spans) else ""
    common = {"attribute": aid, "rationale": rationale, "quote": quote}
    if problem is not None:
        return AttributeScore(**common, score=None, abstention=problem.kind,  # type: ignore[arg-type]
                              detail=problem.message)
    if distribution is not None and capped:
        distribution = _capped(distribution, inp.protocol.scale.max)
    if distribution is None:
        if spec.scoring == "expected":
            detail = ("the provider returned no logprobs" if not has_logprobs else
                      "no scale point among the alternatives at the score position")
            return AttributeScore(**common, score=None, abstention="no_logprobs", detail=detail)
        return AttributeScore(**common, score=float(_point(entry)))
    value = expected(distribution) if spec.scoring == "expected" else float(_point(entry))
    return AttributeScore(**common, score=value, confidence=confidence(distribution), distribution=distribution)


def _process(reply: StructuredReply[Any], inp: ScoringInput, spec: JudgeSpec, spans: list[str]) -> ScoringResult:
    value = reply.value
    broken = {p.field.split(".")[0]: p for p in reply.problems}
    ids = inp.protocol.attribute_ids
    distributions = score_distributions(reply.text, reply.logprobs, ids, inp.protocol.scale.points,
                                        nested=spec.rationales and not spec.score_readout)
    unmet = _must_unmet(inp.domain, _verdicts(value))
    scores = [_read(aid, getattr(value, aid), broken.get(aid), distributions[aid], aid in unmet, inp, spec, spans,
                    bool(reply.logprobs)) for aid in ids]
    return ScoringResult(
        scores=scores,
        checklist=[ChecklistVerdict(id=cid, verdict=v) for cid, v in _verdicts(value).items()],
        flags=sorted(set(getattr(value, "flags", ()))),
    )


def scoring_agent(prompt: PromptTemplate | None = None, defences: Defences = DEFAULT_DEFENCES) -> ScoringAgent:
    """Build the scoring agent from a prompt template (default: the shipped ``scoring.v2``) and text defences.

    The candidate and the conversation are shown through ``defences`` (:mod:`judges.injection.defend`); cited
    spans are read from the candidate as written.
    """
    template = prompt or load_prompt("scoring.v2")

    async def run(inp: ScoringInput, client: ModelClient) -> Outcome[ScoringResult]:
        spec = client.spec
        readout, rationales = spec.score_readout, spec.rationales and not spec.score_readout
        checklist_ids = tuple(c.id for c in inp.domain.checklist) if inp.domain and not readout else ()
        spans = split_spans(inp.candidate.text) if rationales else []
        ids, points = tuple(inp.protocol.attribute_ids), tuple(inp.protocol.scale.points)
        model = scoring_reply_model(ids, points, checklist_ids, len(spans) if rationales else None, not readout)
        text = inp.candidate.text
        shown = numbered(untrusted_parts(text, spans, defences, role="reply")) if rationales else \
            untrusted_parts(text, [text], defences, role="reply")[0]
        messages = template.render(
            brief=brief(inp.protocol),
            context=conversation_view(inp.context, defences).block,
            understanding=understanding_block(inp.tom, inp.domain),
            candidate=delimit("candidate", shown),
            steps=_steps(bool(checklist_ids), rationales, readout),
            format_hint=format_hint(client, model),
        )
        tags = inp.tags.model_copy(update={"agent": "scoring", "prompt_version": prompt_version(template.version),
                                           "candidate_id": inp.candidate.id})
        extra = {"score_readout": {"fields": list(ids), "points": list(points)}} if readout else None
        reply = await generate_structured(client, messages, model, tags=tags, check=_check(inp, spec),
                                          sample=inp.sample, top_logprobs=spec.scoring_logprobs, extra_body=extra)
        if reply.value is None:
            return failed(reply)
        return Outcome(value=_process(reply, inp, spec, spans), calls=reply.calls, repaired=reply.repaired)

    return run
