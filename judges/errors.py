"""The two error families of the judge layer, decided once.

``ConfigError`` is deterministic (a bad spec, an unknown protocol, an unreachable configuration) and is
raised at build or start-up, never retried. ``ExecutionError`` is a failure of one call (provider error,
rate limit, timeout, bad output): retried where that can help, then recorded as an abstention.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["BudgetExceeded", "ConfigError", "ExecutionError", "ExecutionErrorKind"]

ExecutionErrorKind = Literal[
    "rate_limit", "server_error", "timeout", "connection", "bad_request", "auth", "refusal", "other"
]


class ConfigError(ValueError):
    """A configuration problem: fix the spec; retrying cannot help."""


class ExecutionError(RuntimeError):
    """One LLM call failed.

    Attributes:
        kind: what failed, e.g. ``rate_limit`` or ``timeout``.
        retryable: whether trying again may succeed.
        retry_after: seconds the provider asked us to wait (Retry-After), if it said.
    """

    def __init__(
        self, message: str, *, kind: ExecutionErrorKind, retryable: bool, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.kind: ExecutionErrorKind = kind
        self.retryable = retryable
        self.retry_after = retry_after


class BudgetExceeded(RuntimeError):
    """A batch's token or dollar budget is spent; no further paid calls are made."""
