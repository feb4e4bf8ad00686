"""Typed records of the council layer: batches, council specs and run summaries."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from judges.types import Candidate, Context, JudgeSpec, Turn

__all__ = ["Aggregation", "Batch", "BatchItem", "BatchMode", "CouncilSpec", "PairwiseOptions", "RunSummary",
           "normalise_pairs"]

Aggregation = Literal["mean", "median", "trimmed_mean", "majority"]
BatchMode = Literal["absolute", "pairwise"]
"""``absolute``: every candidate scored on the rubric; ``pairwise``: candidates compared in pairs."""


class Frozen(BaseModel):
    """Base for immutable records."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class BatchItem(Frozen):
    """One help-seeking context and the candidate responses to judge."""

    id: str = Field(min_length=1, max_length=200)
    """Item id, unique within the batch."""
    context: str | list[Turn]
    """The seeker's message, or the conversation as turns ending with the seeker's."""
    candidates: list[Candidate] = Field(min_length=1)
    """Candidate responses to the last seeker turn."""
    meta: dict[str, Any] = Field(default_factory=dict)
    """Free-form metadata kept with the item (source, topic ...)."""

    @field_validator("context")
    @classmethod
    def _non_empty(cls, v: str | list[Turn]) -> str | list[Turn]:
        if isinstance(v, str) and not v.strip():
            raise ValueError("context must not be empty")
        if isinstance(v, list) and (not v or v[-1].role != "seeker"):
            raise ValueError("the conversation must end with the seeker's turn (the candidates answer it)")
        return v

    @model_validator(mode="after")
    def _unique_candidates(self) -> BatchItem:
        ids = [c.id for c in self.candidates]
        if len(set(ids)) != len(ids):
            raise ValueError(f"candidates: duplicate ids in item {self.id!r}")
        return self

    def as_context(self) -> Context:
        """The item's context as the judges see it."""
        turns = [Turn(role="seeker", text=self.context)] if isinstance(self.context, str) else self.context
        return Context(id=self.id, turns=turns)


class Batch(Frozen):
    """Items to judge with one protocol."""

    items: list[BatchItem] = Field(min_length=1)
    """The items, in order."""
    name: str = ""
    """Optional human-readable name."""

    @model_validator(mode="after")
    def _unique_items(self) -> Batch:
        ids = [i.id for i in self.items]
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})[:5]
            raise ValueError(f"items: duplicate item ids {dup}")
        return self

    @property
    def n_candidates(self) -> int:
        """Number of candidates over all items."""
        return sum(len(i.candidates) for i in self.items)


class CouncilSpec(Frozen):
    """Judges, how their scores are combined, and the quorum a council score needs."""

    id: str = Field("custom", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    """Council name."""
    judges: list[JudgeSpec] = Field(min_length=1)
    """The members."""
    aggregation: Aggregation = "median"
    """How judges' scores combine per candidate and attribute."""
    quorum: int | None = Field(None, ge=1)
    """Scoring judges needed for a council score; default: half the council, rounded up."""
    trim: float = Field(0.2, ge=0, lt=0.5)
    """Share cut from each end for ``trimmed_mean``."""
    calibration_id: str | None = None
    """A stored calibration whose calibrated score new judgments carry beside the raw one."""

    @model_validator(mode="after")
    def _unique_judges(self) -> CouncilSpec:
        ids = [j.id for j in self.judges]
        if len(set(ids)) != len(ids):
            raise ValueError("judges: duplicate judge ids")
        if self.quorum is not None and self.quorum > len(self.judges):
            raise ValueError(f"quorum: {self.quorum} is more than the {len(self.judges)} judges")
        return self

    @property
    def effective_quorum(self) -> int:
        """The quorum in force."""
        return self.quorum if self.quorum is not None else (len(self.judges) + 1) // 2


def normalise_pairs(value: str | int) -> str | int:
    """A ``pairs`` option in canonical form (``all``, an int n, ``reference:R``), so equal options give one batch id.

    Raises:
        ValueError: Anything else (its message names the accepted forms).
    """
    from council.pairwise.plan import parse_pairs  # numpy only; keeps the pairwise package off plain imports

    spec = parse_pairs(value)
    if spec.kind == "sample":
        return spec.n  # type: ignore[return-value]
    return "all" if spec.kind == "all" else f"reference:{spec.reference}"


class PairwiseOptions(Frozen):
    """How a pairwise batch compares its candidates (``mode: pairwise``)."""

    pairs: str | int = "all"
    """``all`` (every pair), a positive integer n (n pairs per context, drawn from ``seed`` and the item id) or
    ``reference:RESPONDER`` (every candidate against that responder's); every pair is judged in both orders."""
    compare: Literal["overall", "attributes"] = "overall"
    """One overall preference per pair, or one verdict per rubric attribute (the same call answers all)."""
    seed: int = Field(0, ge=0, le=2**32 - 1)
    """Seed of the n-pairs-per-context draw."""

    @field_validator("pairs", mode="before")
    @classmethod
    def _valid_pairs(cls, value: str | int) -> str | int:
        return normalise_pairs(value)

    def attributes(self, attribute_ids: list[str]) -> list[str]:
        """What each pairwise call compares on: ``["overall"]`` or the protocol's attribute ids."""
        return ["overall"] if self.compare == "overall" else list(attribute_ids)

    def check_batch(self, batch: Batch) -> None:
        """Refuse a reference responder that writes no candidate of the batch (there would be nothing to compare).

        Raises:
            ValueError: Naming the ``pairs`` option and the responders the batch has.
        """
        if isinstance(self.pairs, str) and self.pairs.startswith("reference:"):
            reference = self.pairs.split(":", 1)[1]
            responders = sorted({c.responder for item in batch.items for c in item.candidates})
            if reference not in responders:
                raise ValueError(f"pairs: reference responder {reference[:100]!r} wrote no candidate; responders in "
                                 f"the batch: {', '.join(r[:50] for r in responders[:20])}")

    def as_options(self) -> dict[str, Any]:
        """The batch's stored options (``batches.options``) for this mode."""
        return {"mode": "pairwise", "pairwise": self.model_dump(mode="json")}


def content_id(prefix: str, *parts: Any) -> str:
    """A stable id from the canonical JSON of the parts (same content → same id)."""
    canonical = json.dumps(parts, sort_keys=True, default=lambda o: o.model_dump(mode="json"))
    return f"{prefix}_{hashlib.sha256(canonical.encode()).hexdigest()[:16]}"


class RunSummary(Frozen):
    """What one run of a batch did."""

    run_id: str
    """This run."""
    batch_id: str
    """The batch."""
    status: Literal["completed", "cancelled", "budget_exceeded", "failed"]
    """How the run ended."""
    calls_made: int
    """LLM calls sent to a provider."""
    calls_cached: int
    """LLM calls served from the cache."""
    calls_failed: int
    """Calls that failed after retries."""
    abstentions: int
    """Attribute judgments without a score."""
    judgments: int
    """Attribute judgments stored (scored or abstained)."""
    prompt_tokens: int
    """Tokens sent (not counting cache hits)."""
    completion_tokens: int
    """Tokens received (not counting cache hits)."""
    cost_usd: float
    """Provider cost by litellm's price map."""
    seconds: float
    """Wall time."""
