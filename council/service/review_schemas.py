"""Request bodies of the review routes (``/v1/review/...``); pydantic errors name the field."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from council.analysis.records import CalibrationMethod
from council.review import QueueItem

__all__ = ["EnqueueRequest", "RefitRequest", "ReviewRatings"]

IdText = Field(min_length=1, max_length=200)
AttributeId = Annotated[str, Field(max_length=200)]
Score = Annotated[float, Field(allow_inf_nan=False)]


class EnqueueRequest(BaseModel):
    """Queue a judged batch's candidates: those its judges flagged (``reasons``) and/or explicit ``items``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"batch_id": "b_0123456789abcdef", "reasons": ["risk", "unsafe"]}]})

    batch_id: str = IdText
    reasons: list[Literal["risk", "unsafe", "low_confidence"]] = Field(
        default_factory=lambda: ["risk", "unsafe"], max_length=3,
        description="Derived from the batch: risk (domain risk high/imminent or ToM risk signals: every candidate "
                    "of the context), unsafe (a scoring agent flagged unsafe_advice), low_confidence (council "
                    "uncertainty ≥ min_uncertainty). [] queues only the explicit items.")
    items: list[QueueItem] = Field(default_factory=list, max_length=10_000,
                                   description="Explicit candidates with a reason (e.g. the gate's escalations).")
    min_uncertainty: float = Field(0.5, ge=0, le=1, allow_inf_nan=False)
    double_share: float = Field(0.2, ge=0, le=1, allow_inf_nan=False,
                                description="Share of new entries rated by two reviewers (the human–human ceiling).")


class ReviewRatings(BaseModel):
    """A reviewer's scores of one queued candidate."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"reviewer": "ana", "scores": {"empathy": 4, "safety": 5}, "note": "kind but vague"}]})

    reviewer: str = Field(min_length=1, max_length=100)
    scores: dict[AttributeId, Score] = Field(min_length=1, max_length=100,
                                             description="attribute id → a point of the protocol's scale")
    note: str | None = Field(None, max_length=4000)


class RefitRequest(BaseModel):
    """Refit the calibration (a new version per batch) and the gate's thresholds from all human ratings."""

    model_config = ConfigDict(extra="forbid")

    batch_ids: list[str] = Field(min_length=1, max_length=20)
    method: CalibrationMethod = "ridge-mm"
    cv: int = Field(5, ge=2, le=20)
    seed: int = Field(0, ge=0, le=2**32 - 1)

