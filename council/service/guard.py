"""Per-batch spending guard: counts tokens and dollars as calls are recorded, refuses paid calls past the cap."""

from __future__ import annotations

from council.service.schemas import Budget
from judges.client.records import CallRecord
from judges.errors import BudgetExceeded

__all__ = ["BatchGuard"]


class BatchGuard:
    """Tracks one running batch's spend against its optional budget."""

    def __init__(self, budget: Budget | None, tokens_spent: int = 0, usd_spent: float = 0.0) -> None:
        self.budget = budget
        self.tokens = tokens_spent
        self.usd = usd_spent
        self.tripped = False

    def spend(self, record: CallRecord) -> None:
        """Count a recorded call (cache hits cost nothing)."""
        if not record.cache_hit:
            self.tokens += record.prompt_tokens + record.completion_tokens
            self.usd += record.cost_usd

    def check(self) -> None:
        """Raise :class:`BudgetExceeded` when the budget is spent."""
        if self.budget is None:
            return
        if self.budget.max_tokens is not None and self.tokens >= self.budget.max_tokens:
            self.tripped = True
            raise BudgetExceeded(f"token budget {self.budget.max_tokens} spent ({self.tokens} tokens)")
        if self.budget.max_usd is not None and self.usd >= self.budget.max_usd:
            self.tripped = True
            raise BudgetExceeded(f"budget ${self.budget.max_usd} spent (${self.usd:.4f})")

    def stop_reason(self) -> str | None:
        """``budget_exceeded`` once the guard refused a call."""
        return "budget_exceeded" if self.tripped else None
