"""Request and response bodies of the HTTP API (validated by pydantic; errors name the field)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from council.types import BatchItem, BatchMode, CouncilSpec, PairwiseOptions, normalise_pairs

__all__ = [
    "BatchAccepted",
    "BatchRequest",
    "BatchStatus",
    "Budget",
    "Estimate",
    "Progress",
]


class Budget(BaseModel):
    """A cap on what a batch may spend; the run stops paid calls cleanly once it is reached."""

    model_config = ConfigDict(extra="forbid")

    max_tokens: int | None = Field(None, ge=1, le=10**15, description="Prompt + completion tokens over the batch.")
    max_usd: float | None = Field(None, gt=0, le=1e9, allow_inf_nan=False,
                                  description="Dollars by litellm's price map (a finite number).")


class BatchRequest(BaseModel):
    """A batch submission: protocol, council (named or inline) and items."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "protocol": "mentalalign-7", "council": "local",
        "items": [{"id": "i1", "context": "I failed my exam and I feel worthless.",
                   "candidates": [{"id": "a", "text": "That sounds painful…", "responder": "my-bot"}]}]}]})

    protocol: str = Field("mentalalign-7", description="Protocol id: shipped or one you posted.")
    council: str | CouncilSpec = Field("local", description="A named council or an inline council spec.")
    items: list[BatchItem] = Field(min_length=1, description="The items to judge.")
    name: str = Field("", max_length=200, description="Optional display name.")
    budget: Budget | None = Field(None, description="Optional spending cap.")
    dry_run: bool = Field(False, description="Only estimate calls and tokens; store and run nothing.")
    mode: BatchMode = Field("absolute", description="absolute: score every candidate on the rubric; pairwise: "
                                                    "every judge compares pairs of candidates, in both orders.")
    pairs: str | int = Field("all", description="pairwise: 'all', N pairs per context, or 'reference:RESPONDER'.")
    compare: Literal["overall", "attributes"] = Field(
        "overall", description="pairwise: one overall preference per pair, or one verdict per rubric attribute.")
    gate: str | None = Field(None, max_length=200, description=(
        "A stored confidence gate (name: its latest version, or gate id): the council's judges run tier by tier, "
        "later tiers only on the items earlier tiers could not accept; the rest, and every unsafe or high-risk "
        "candidate, go to the review queue (absolute mode only)."))

    @field_validator("pairs", mode="before")
    @classmethod
    def _valid_pairs(cls, value: str | int) -> str | int:
        if isinstance(value, str) and len(value) > 300:
            raise ValueError("pairs: at most 300 characters")
        return normalise_pairs(value)

    def pairwise_options(self) -> PairwiseOptions | None:
        """The batch's pairwise options, or None in absolute mode."""
        return PairwiseOptions(pairs=self.pairs, compare=self.compare) if self.mode == "pairwise" else None

    @field_validator("items")
    @classmethod
    def _unique_items(cls, items: list[BatchItem]) -> list[BatchItem]:
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.id in seen:
                raise ValueError(f"item {i} repeats the item id {item.id[:50]!r}; item ids must be unique")
            seen.add(item.id)
        return items


class Estimate(BaseModel):
    """What a batch will cost before it runs (upper bounds without repairs and cache hits)."""

    contexts: int
    candidates: int
    judges: int
    calls: int = Field(description="LLM calls without repairs: per judge, (ToM + domain) per context + scoring "
                                   "per candidate × sample.")
    calls_per_context: float
    prompt_tokens: int = Field(description="Estimated prompt tokens (characters / 4 of the rendered inputs).")
    max_completion_tokens: int = Field(description="Upper bound: every call hits its max_tokens.")
    max_cost_usd: float | None = Field(description="Upper bound by litellm's price map; None when unknown.")
    calls_min: int | None = Field(None, description="Gated batches: the calls when tier 1 accepts every item "
                                                    "(`calls` is the bound when every item escalates).")


class BatchAccepted(BaseModel):
    """Answer to a submission."""

    batch_id: str
    status: str
    created: bool = Field(description="False when an identical or idempotent submission returned the same batch.")
    status_url: str
    results_url: str


class Progress(BaseModel):
    """Progress counts of a batch."""

    contexts: int
    contexts_done: int
    candidates: int
    units: int = Field(description="(context × judge) pipelines in the batch.")
    units_done: int
    calls_made: int
    calls_cached: int
    calls_failed: int


class BatchStatus(BaseModel):
    """A batch's status, progress, spend and errors."""

    batch_id: str
    name: str
    status: Literal["queued", "running", "completed", "cancelling", "cancelled", "budget_exceeded", "failed"]
    protocol: str
    council: str
    judges: list[str]
    progress: Progress
    mode: Literal["absolute", "pairwise"] = Field("absolute", description="How the batch judges its candidates.")
    judgments: int = Field(description="Attribute judgments stored (abstentions included); in a pairwise batch, "
                                       "pairwise verdict rows (presentation × sample × attribute).")
    verdicts_total: int | None = Field(None, description="Pairwise batches: verdict rows a complete run stores "
                                                         "(2 orders × planned pairs × attributes × samples per "
                                                         "judge); None for absolute batches.")
    abstentions: int = Field(description="Judgments (pairwise: verdicts) without a score (verdict), any reason.")
    abstentions_by_reason: dict[str, int]
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    budget: Budget | None
    errors: list[str]
    run_status: str | None = Field(None, description="How the batch's latest run ended (or `running`); a "
                                                     "cancelled batch's run is `cancelled`, never `failed`.")
    gate: dict[str, Any] | None = Field(None, description="Gated batches: coverage per tier, items sent to people "
                                                          "by reason, predicted agreement of what was accepted.")
    created_at: datetime
    updated_at: datetime


class ProtocolSummary(BaseModel):
    """A protocol as listed by the API."""

    id: str
    version: str
    name: str
    scale: dict[str, int]
    attributes: list[str]
    composites: dict[str, list[str]]
    content_hash: str
    shipped: bool


class RatingsUpload(BaseModel):
    """Human or external-judge ratings as a CSV or JSONL file's text, for a dataset or a batch."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "batch_id": "b_0123456789abcdef", "format": "csv", "layout": "long",
        "content": "target,rater,attribute,score\ni1:a,alice,empathy,4\n"}]})

    dataset: str | None = Field(None, max_length=200, description="A named dataset (items without texts) ...")
    batch_id: str | None = Field(None, max_length=200, description="... or a batch whose candidates were rated.")
    format: Literal["csv", "jsonl"] = Field(description="Format of `content`.")
    layout: Literal["long", "wide"] = Field("long", description="One row per rating, or one column per attribute.")
    content: str = Field(min_length=1, description="The file's text.")
    columns: dict[str, Any] | None = Field(None, description="Source column names (target, rater, attribute, "
                                                              "score, context, responder, length, sample).")
    attributes: dict[str, str] | list[str] | None = Field(None, description="Wide layout: attribute columns.")
    rater: str | None = Field(None, max_length=200, description="Constant rater when there is no rater column.")
    kind: Literal["human", "external"] = Field("human", description="Human ratings or another judge's scores.")
    families: dict[str, str] | None = Field(None, description="rater → model family.")
    protocol: str | None = Field(None, description="Protocol giving a new dataset its scale and attributes.")
    description: str = Field("", max_length=2000)


class PairwiseUpload(BaseModel):
    """Human pairwise preferences on a batch's candidates, as a CSV or JSONL file's text (see the README)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "format": "csv", "content": "item_id,candidate_a,candidate_b,preference,rater\ni1,a,b,A,alice\n"}]})

    format: Literal["csv", "jsonl"] = Field(description="Format of `content`.")
    content: str = Field(min_length=1, description="The file's text: item_id, candidate_a and candidate_b (or "
                                                   "responder_a and responder_b), preference A|B|tie, optional "
                                                   "attribute ('overall' default) and rater.")
    rater: str | None = Field(None, max_length=200, description="Constant rater id (overrides a rater column).")


class Bootstrap(BaseModel):
    """Cluster-bootstrap CIs over contexts for an agreement report."""

    model_config = ConfigDict(extra="forbid")

    n_boot: int = Field(1000, ge=10, description="Replicates (at most the service's max_bootstrap).")
    seed: int = Field(0, ge=0, le=2**32 - 1)
    level: float = Field(0.95, gt=0.0, lt=1.0, description="Two-sided confidence level.")


class AgreementRequest(BaseModel):
    """An agreement (or bias) report over a dataset or a batch, against the human reference."""

    model_config = ConfigDict(extra="forbid")

    dataset: str | None = Field(None, max_length=200)
    batch_id: str | None = Field(None, max_length=200)
    kind: Literal["agreement", "bias"] = "agreement"
    level: Literal["item", "system", "both"] = "item"
    reference: str | None = Field(None, max_length=200)
    exclude_self_family: bool = False
    paper_compatible: bool = False
    bootstrap: Bootstrap | None = Field(None, description='e.g. {"n_boot": 1000, "seed": 0}')
    pairwise: bool = False


class CalibrationRequest(BaseModel):
    """Fit, cross-validate and store a calibration."""

    model_config = ConfigDict(extra="forbid")

    dataset: str | None = Field(None, max_length=200)
    batch_id: str | None = Field(None, max_length=200)
    method: Literal["ridge-mm", "ridge", "mean-mm", "linear", "isotonic"] = "ridge-mm"
    cv: int = Field(5, ge=2, le=20)
    seed: int = Field(0, ge=0, le=2**32 - 1)
    reference: str | None = Field(None, max_length=200)
    name: str | None = Field(None, max_length=200)
    paper_compatible: bool = False


class ApplyCalibration(BaseModel):
    """Apply a stored calibration to one of your batches."""

    model_config = ConfigDict(extra="forbid")

    batch_id: str = Field(max_length=200)
