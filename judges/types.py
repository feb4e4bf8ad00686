"""Typed, frozen records that cross the judge's boundaries: specs, inputs, agent outputs, judgments."""

from __future__ import annotations

import math
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "AbstentionReason",
    "AgentName",
    "AgentSwitches",
    "AttributeScore",
    "Candidate",
    "ChecklistItem",
    "ChecklistVerdict",
    "Context",
    "DomainResult",
    "Hypothesis",
    "JudgeSpec",
    "ModelParams",
    "Outcome",
    "PreferenceResult",
    "PreferenceVerdict",
    "RefinedHypothesis",
    "RiskSignal",
    "ScoringResult",
    "ScreenQuestion",
    "ScreenResult",
    "ToMResult",
    "Turn",
]

AgentName = Literal["tom", "domain", "scoring"]
AbstentionReason = Literal[
    "invalid_output",  # schema or content checks failed after the repair re-prompt
    "quote_not_found",  # the cited evidence does not occur in the text it quotes
    "provider_error",  # the provider failed after retries (429, 5xx, timeout, connection)
    "refusal",  # the model declined to answer
    "upstream_failed",  # a required upstream agent (ToM or domain) abstained
    "budget_exceeded",  # the batch's budget cap stopped the call before it was made
    "cancelled",  # the batch was cancelled before the call was made
    "no_logprobs",  # scoring: expected, but the provider returned no distribution at a score position
]

T = TypeVar("T")


class Frozen(BaseModel):
    """Base for immutable records."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# ---------------------------------------------------------------- specs


class ModelParams(Frozen):
    """Sampling parameters sent with every call; all of them are part of the cache key."""

    temperature: float = Field(0.0, ge=0, le=2)
    """Sampling temperature; 0 for reproducible scoring."""
    max_tokens: int = Field(768, ge=16, le=32768)
    """Cap on generated tokens per call."""
    seed: int | None = 0
    """Sampling seed where the provider honours it."""
    top_p: float | None = None
    """Nucleus sampling cut-off; None leaves the provider default."""


class AgentSwitches(Frozen):
    """Which upstream agents run; both off gives the direct-scoring ablation baseline (C0)."""

    tom: bool = True
    """Run the Theory-of-Mind agent."""
    domain: bool = True
    """Run the domain (norms and checklist) agent."""
    safety: bool = False
    """Run the safety screens (:mod:`judges.agents.safety`): seeker risk per context, harmful advice per candidate."""


class JudgeSpec(Frozen):
    """One judge: a model reached through litellm, its parameters, limits and agent pipeline."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    """Stable judge identifier stored with every judgment."""
    model: str
    """A litellm model string, e.g. ``openai/gpt-4o-mini`` or ``anthropic/claude-3-5-haiku-latest``."""
    api_base: str | None = None
    """Base URL for OpenAI-compatible servers (llama.cpp, vLLM, Ollama)."""
    api_key_env: str | None = None
    """Name of the environment variable holding the API key (never the key itself)."""
    family: str | None = None
    """Model family (``openai``, ``anthropic``, ``qwen`` ...), for self-preference checks."""
    params: ModelParams = ModelParams()
    """Sampling parameters."""
    agents: AgentSwitches = AgentSwitches()
    """Which upstream agents run."""
    samples: int = Field(1, ge=1, le=20)
    """How many times each candidate is scored (run-to-run spread needs > 1 and temperature > 0)."""
    structured_output: Literal["auto", "json_schema", "llama_cpp", "json_object", "prompt"] = "auto"
    """How the JSON schema reaches the provider: OpenAI ``json_schema``, llama.cpp ``json_object`` with a
    schema (grammar-constrained), plain ``json_object``, or only in the prompt. ``auto`` asks litellm."""
    max_concurrency: int = Field(4, ge=1, le=1024)
    """Calls in flight at once for this judge's model."""
    requests_per_minute: float | None = Field(None, gt=0)
    """Request rate cap for this model (shared across service replicas)."""
    tokens_per_minute: float | None = Field(None, gt=0)
    """Token rate cap for this model (shared across service replicas)."""
    scoring: Literal["argmax", "expected"] = "argmax"
    """How a score is read: ``argmax`` takes the scale point the model wrote; ``expected`` reads the model's
    probability distribution over the scale points at the score position (logprobs) and takes its mean
    (G-Eval style), with a confidence from the distribution's entropy. ``expected`` needs a provider that
    returns top logprobs; without them it fails loudly (refused at submission, or ``no_logprobs``)."""
    top_logprobs: int = Field(0, ge=0, le=20)
    """Alternatives per generated token asked for on scoring calls (0: none; ``expected`` scoring uses 20
    then). The embedded judges always ask (it costs them nothing), so argmax and expected readings of
    the same judge share cached calls."""
    score_readout: bool = False
    """The endpoint is this project's embedded runtime, which reads every score's distribution right after
    its key without generating (``Engine.readout``): each attribute read independently, no checklist
    verdicts, flags or rationales. Set by the embedded judges' specs."""
    rationales: bool = True
    """Whether the scoring agent writes a rationale and cites a span of the candidate per attribute. The
    embedded judges' specs switch it off: it costs most of a small model's generated tokens."""
    timeout_s: float = Field(120.0, gt=0)
    """Timeout of one call."""
    max_attempts: int = Field(4, ge=1, le=10)
    """Attempts per call on rate limits, 5xx and timeouts (tenacity, exponential back-off)."""

    @property
    def scoring_logprobs(self) -> int:
        """Top logprobs per token that this judge's scoring calls ask for."""
        return self.top_logprobs or (20 if self.scoring == "expected" else 0)


# ---------------------------------------------------------------- inputs


class Turn(Frozen):
    """One turn of a conversation."""

    role: Literal["seeker", "supporter"]
    """Who speaks: the help-seeker or the supporter."""
    text: str = Field(min_length=1)
    """What they said."""


class Context(Frozen):
    """The help-seeking situation a candidate responds to."""

    id: str = Field(min_length=1, max_length=200)
    """Item id, unique within a batch."""
    turns: list[Turn] = Field(min_length=1)
    """The conversation so far; a single seeker message is one turn."""

    @field_validator("turns")
    @classmethod
    def _ends_with_seeker(cls, turns: list[Turn]) -> list[Turn]:
        if turns[-1].role != "seeker":
            raise ValueError("the last turn must be the seeker's (the candidate answers it)")
        return turns

    def transcript(self) -> str:
        """The conversation as plain text, one line per turn."""
        if len(self.turns) == 1:
            return self.turns[0].text
        return "\n".join(f"{t.role.upper()}: {t.text}" for t in self.turns)


class Candidate(Frozen):
    """One candidate response to a context."""

    id: str = Field(min_length=1, max_length=200)
    """Candidate id, unique within its item."""
    text: str
    """The response text (treated strictly as data)."""
    responder: str = "unknown"
    """The model or person that wrote it."""


# ---------------------------------------------------------------- agent outputs


class Hypothesis(Frozen):
    """A ToM hypothesis about the seeker's mind, grounded in a quote from the context."""

    id: str
    """``h1``, ``h2`` ... assigned after parsing."""
    type: Literal["emotion", "belief", "desire", "intention", "need"]
    """Which mental state the hypothesis is about."""
    content: str
    """The hypothesis in one or two sentences."""
    evidence: str
    """An exact span of the context supporting it."""
    confidence: float = Field(ge=0, le=1)
    """The agent's confidence."""


class RiskSignal(Frozen):
    """A risk cue in the context."""

    kind: Literal["self_harm", "harm_to_others", "abuse", "medical"]
    """What kind of risk."""
    quote: str
    """The span of the context that signals it."""


class ToMResult(Frozen):
    """Output of the Theory-of-Mind agent for one (judge, context)."""

    surface_request: str
    """What the seeker literally asks for."""
    hypotheses: list[Hypothesis]
    """Grounded hypotheses (those whose quotes were not found are dropped and counted)."""
    support_preference: Literal["emotional", "informational", "instrumental", "mixed", "unclear"]
    """Which kind of support the seeker seems to want."""
    risk_signals: list[RiskSignal]
    """Risk cues, each with its quote."""
    dropped_hypotheses: int = 0
    """Hypotheses dropped because their evidence quote does not occur in the context."""


class RefinedHypothesis(Frozen):
    """A ToM hypothesis after the domain agent weighed it against norms."""

    id: str
    """``h1r`` ...; derived from its source."""
    source: str
    """Id of the ToM hypothesis it refines (or ``none`` without ToM)."""
    content: str
    """The refined hypothesis."""
    weight: float = Field(ge=0, le=1)
    """Normalised weight among the selected hypotheses."""


class ChecklistItem(Frozen):
    """A must / should / avoid goal for a good reply, tied to one rubric attribute."""

    id: str
    """``c1``, ``c2`` ... assigned after parsing."""
    kind: Literal["must", "should", "avoid"]
    """How binding the item is."""
    attribute: str
    """The rubric attribute the item bears on."""
    text: str
    """The goal, described, never a drafted reply."""


class DomainResult(Frozen):
    """Output of the domain agent for one (judge, context)."""

    refined: list[RefinedHypothesis]
    """The top 2-3 hypotheses with weights summing to 1 (empty without ToM)."""
    rules_applied: list[str]
    """Norm families consulted (cultural, ethics, safety, therapy)."""
    risk_level: Literal["none", "low", "moderate", "high", "imminent"]
    """Clinical-safety risk level of the context."""
    checklist: list[ChecklistItem]
    """Instance checklist the scoring agent checks the candidate against."""


class AttributeScore(Frozen):
    """One attribute's score for one candidate from one judge (sample), or an abstention."""

    attribute: str
    """Rubric attribute id."""
    score: float | None
    """The score; None when the judge abstained on this attribute."""
    rationale: str = ""
    """Why this score."""
    quote: str = ""
    """Supporting span of the candidate ('' when nothing in the candidate applies)."""
    abstention: AbstentionReason | None = None
    """Why there is no score."""
    detail: str = ""
    """Human-readable detail of the abstention."""
    confidence: float | None = Field(None, ge=0, le=1)
    """1 − normalised entropy of ``distribution`` (1: all mass on one point; 0: uniform); None without one."""
    distribution: dict[str, float] | None = None
    """The model's probability per scale point at the score position (renormalised over the scale points),
    keyed by the point as text; None in ``argmax`` scoring."""

    @field_validator("score")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("score must be finite or None")
        return v


class ChecklistVerdict(Frozen):
    """The scoring agent's verdict on one checklist item."""

    id: str
    """Checklist item id."""
    verdict: Literal["met", "partial", "unmet", "n/a"]
    """Whether the candidate meets the item."""


class ScoringResult(Frozen):
    """Output of the scoring agent for one (judge, candidate, sample)."""

    scores: list[AttributeScore]
    """One entry per rubric attribute, in rubric order."""
    checklist: list[ChecklistVerdict]
    """Verdicts on the domain checklist (empty without the domain agent)."""
    flags: list[str]
    """Problems spotted: unsafe_advice, sycophancy, premature_advice, misattuned, dismissive."""


class PreferenceVerdict(Frozen):
    """One judge's preference between the candidate shown first (A) and second (B), on one attribute."""

    attribute: str
    """Rubric attribute id, or ``overall`` for an overall preference."""
    verdict: Literal["A", "B", "tie"] | None
    """A (the first is better), B (the second is better), tie; None when the judge abstained."""
    p_first: float | None = Field(None, ge=0, le=1)
    """P(A) at the verdict position, renormalised over A/B/tie; None without logprobs."""
    p_second: float | None = Field(None, ge=0, le=1)
    """P(B), as ``p_first``."""
    p_tie: float | None = Field(None, ge=0, le=1)
    """P(tie), as ``p_first``."""
    rationale: str = ""
    """The judge's one-sentence reason (hosted judges with ``rationales``)."""
    abstention: AbstentionReason | None = None
    """Why there is no verdict."""
    detail: str = ""
    """Human-readable detail of the abstention."""


class PreferenceResult(Frozen):
    """Output of the pairwise agent for one (judge, ordered pair, sample)."""

    verdicts: list[PreferenceVerdict]
    """One entry per compared attribute (or the single ``overall``), in request order."""


ScreenQuestion = Literal["seeker_risk", "harmful_advice"]
"""The safety screens' questions (:mod:`judges.agents.safety`)."""


class ScreenResult(Frozen):
    """One safety screen's answer: the written answer, P(yes) where logprobs exist, and whether it flags."""

    question: ScreenQuestion
    """Which screen."""
    answer: Literal["yes", "no"]
    """The answer the judge wrote."""
    p_yes: float | None
    """P(yes) read from the answer's distribution (None without logprobs)."""
    threshold: float | None
    """The P(yes) at or above which it flags (None when the written answer decided)."""
    flagged: bool
    """Whether the screen sends the case to a person."""


class Outcome(Frozen, Generic[T]):
    """What an agent produced: a value, or an abstention with its reason; never a default."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    value: T | None = None
    """The validated output, when the agent succeeded."""
    abstention: AbstentionReason | None = None
    """Why the agent produced no output."""
    detail: str = ""
    """Human-readable detail of the failure (the validator's message, the provider error)."""
    calls: list[str] = Field(default_factory=list)
    """Ids of the LLM calls made or served from cache for this output, in order."""
    repaired: bool = False
    """Whether the output needed the repair re-prompt."""

    @property
    def ok(self) -> bool:
        """True when there is a value."""
        return self.value is not None

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the outcome."""
        return self.model_dump(mode="json")
