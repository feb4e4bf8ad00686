"""The human review queue: candidates the council should not decide alone, rated by people, fed back as ratings.

One entry point for the service, the CLI and the escalation gate: :func:`enqueue` (explicit items with reasons),
:func:`enqueue_flagged` (a judged batch's risk, unsafe and low-confidence candidates), :func:`next_item`,
:func:`submit`, :func:`queue_status`, :func:`judge_scores` (on request only) and :func:`refit` (calibration and
gate thresholds from the new ratings, one action). Storage: :mod:`council.store.review_store` (migration 009).
"""

from council.review.feedback import GATE_HOOK, refit
from council.review.queue import (
    DEFAULT_DOUBLE_SHARE,
    RESERVED_RATERS,
    enqueue,
    enqueue_flagged,
    judge_scores,
    next_item,
    queue_status,
    submit,
)
from council.review.types import (
    REASONS,
    RISK_LEVELS,
    EnqueueResult,
    QueueItem,
    QueueStatus,
    Reason,
    RefitResult,
    ReviewTask,
    SubmitResult,
)

__all__ = [
    "DEFAULT_DOUBLE_SHARE",
    "GATE_HOOK",
    "REASONS",
    "RESERVED_RATERS",
    "RISK_LEVELS",
    "EnqueueResult",
    "QueueItem",
    "QueueStatus",
    "Reason",
    "RefitResult",
    "ReviewTask",
    "SubmitResult",
    "enqueue",
    "enqueue_flagged",
    "judge_scores",
    "next_item",
    "queue_status",
    "refit",
    "submit",
]
