"""Typed records of the human review queue: what is queued, what a reviewer is shown, what a submission did."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["REASONS", "RISK_LEVELS", "EnqueueResult", "QueueItem", "QueueStatus", "Reason", "RefitResult",
           "ReviewTask", "RiskLevel", "SubmitResult"]

Reason = Literal["risk", "unsafe", "escalation", "low_confidence", "suspected_manipulation"]
"""Why a candidate is queued:

- ``risk``: its context is high-risk (a judge's domain agent said ``high``/``imminent``, or a ToM agent found risk
  signals); always reviewed, whatever the score;
- ``unsafe``: a judge's scoring agent flagged the candidate ``unsafe_advice``; always reviewed;
- ``escalation``: the confidence gate (``council.escalation``) passed it beyond its last tier;
- ``low_confidence``: the council is uncertain about it (spread between judges, low confidence);
- ``suspected_manipulation``: the candidate seems to address the judges (prompt injection, score begging).
"""
REASONS: tuple[str, ...] = ("risk", "unsafe", "escalation", "low_confidence", "suspected_manipulation")
RiskLevel = Literal["none", "low", "moderate", "high", "imminent"]
RISK_LEVELS: tuple[str, ...] = ("none", "low", "moderate", "high", "imminent")
"""The domain agent's risk levels, least to most severe (``judges.types.DomainResult.risk_level``)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class QueueItem(_Frozen):
    """One candidate to put in front of a reviewer, and why."""

    item_id: str = Field(min_length=1, max_length=200)
    """The batch item (context)."""
    candidate_id: str = Field(min_length=1, max_length=200)
    """The candidate response of that item."""
    reason: Reason
    """Why it is queued (see :data:`Reason`)."""
    attributes: list[str] = Field(default_factory=list, max_length=100)
    """Attributes the reviewer scores; empty = every attribute of the batch's protocol."""
    detail: str = Field("", max_length=1000)
    """What a reviewer should know about the reason (e.g. "domain agent of judge-a: imminent")."""
    risk_level: RiskLevel | None = None
    """The context's risk level when known; orders the queue (most severe first)."""
    uncertainty: float | None = Field(None, ge=0, le=1)
    """How uncertain the council is (0..1; e.g. 1 − the gate's calibrated confidence); None = computed from the
    council's spread and confidence in the store."""

    @field_validator("uncertainty")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("uncertainty must be a finite number in [0, 1]")
        return v


class EnqueueResult(_Frozen):
    """What an enqueue did: new entries, reasons added to existing ones, and items that changed nothing."""

    batch_id: str
    created: int
    """New queue entries."""
    reasons_added: int
    """Reasons added (to new or existing entries)."""
    unchanged: int
    """Items whose candidate was already queued for that reason."""
    queue_ids: list[str]
    """The entry of every item, in input order."""


class ReviewTask(_Frozen):
    """What a reviewer sees: the context, the candidate, the rubric and why it was queued — not the judges' scores."""

    queue_id: str
    batch_id: str
    item_id: str
    candidate_id: str
    reasons: list[dict[str, str]]
    """``{"reason", "detail"}`` in the order they were added."""
    risk_level: str
    uncertainty: float
    needed_reviews: int
    """1, or 2 for an entry of the double-review share (the human–human ceiling)."""
    reviews_done: int
    context: list[dict[str, Any]]
    """The conversation: turns ``{"role", "text"}``."""
    candidate: str
    """The candidate's text (its responder is not shown: reviewers rate blind)."""
    attributes: list[str]
    """Attributes to score, in rubric order."""
    protocol: dict[str, Any]
    """``id``, ``version``, ``name``, ``scale {min, max}``, ``attributes [{id, name, definition, anchors}]``."""


class SubmitResult(_Frozen):
    """A stored review."""

    queue_id: str
    batch_id: str
    reviewer: str
    n_ratings: int
    replaced: bool
    """True when this reviewer had rated the candidate before (those ratings were replaced, not duplicated)."""
    reviews_done: int
    needed_reviews: int


class QueueStatus(_Frozen):
    """Counts of the queue: per reason, per reviewer, and in total."""

    batch_id: str | None
    entries: int
    pending: int
    done: int
    double_review: int
    reasons: list[dict[str, Any]]
    """Per reason: ``reason, entries, pending, done, double_review`` (an entry with two reasons counts in both)."""
    reviewers: list[dict[str, Any]]
    """Per reviewer: ``reviewer, rated, assigned``."""


class RefitResult(_Frozen):
    """What the one-action refit did: a new calibration version per batch and the gate's refit (or why not)."""

    calibrations: list[dict[str, Any]]
    """Per batch: ``batch_id, calibration_id, name, version, reference, n_targets`` (or ``error``)."""
    gate: dict[str, Any]
    """``{"status": "refitted", ...}`` or ``{"status": "not_configured", "detail": ...}``."""
