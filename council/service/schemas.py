"""Request and response bodies of the HTTP API (validated by pydantic; errors name the field)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from council.types import BatchItem, CouncilSpec

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

    max_tokens: int | None = Field(None, ge=1, description="Prompt + completion tokens over the batch.")
    max_usd: float | None = Field(None, gt=0, description="Dollars by litellm's price map.")


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
    judgments: int
    abstentions: int
    abstentions_by_reason: dict[str, int]
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    budget: Budget | None
    errors: list[str]
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


def error_body(message: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    """The JSON error body every failure answers with (never a stack trace)."""
    body: dict[str, Any] = {"error": message}
    if field:
        body["field"] = field
    body.update(extra)
    return body
