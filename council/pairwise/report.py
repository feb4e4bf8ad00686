"""A pairwise batch's report from the store: Bradley–Terry leaderboards with CIs and per-judge position rates."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from council.pairwise.consistency import combine_orders, first_position_preference, position_consistency
from council.pairwise.leaderboard import leaderboard
from council.pairwise.types import JudgeRate, Leaderboard
from council.stats.types import BootstrapSpec
from council.store.store import Store

__all__ = ["PairwiseReport", "pairwise_report", "report_from_verdicts"]


class PairwiseReport(BaseModel):
    """What a pairwise batch says: per attribute a leaderboard, and each judge's position statistics."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    leaderboards: list[Leaderboard] = Field(description="One per compared attribute ('overall' or rubric ids).")
    score: str = Field(description="'soft_score_a' (probability-weighted) when every outcome has it, else 'score_a'.")
    position_consistency: list[JudgeRate]
    first_position: list[JudgeRate] = Field(description="first_position_bias and first_position_rate_decisive.")
    verdicts: int = Field(description="Verdict rows (presentation × sample × attribute), abstentions included.")
    abstentions: int
    incomplete_pairs: int = Field(description="Usable verdicts whose other order is missing (no outcome).")


def report_from_verdicts(verdicts: pd.DataFrame, spec: BootstrapSpec | None = None) -> PairwiseReport:
    """Combine orders, fit a leaderboard per attribute and compute each judge's position rates.

    Raises:
        ValueError: When no pair has a usable verdict in both orders (nothing to rank).
    """
    spec = spec or BootstrapSpec()
    combined = combine_orders(verdicts)
    outcomes = combined.outcomes
    if outcomes.empty:
        raise ValueError("no pair has a usable verdict in both orders; nothing to rank")
    soft = bool(np.isfinite(outcomes["soft_score_a"].to_numpy(dtype=float)).all())
    score = "soft_score_a" if soft else "score_a"
    boards = [leaderboard(outcomes, attribute=a, score=score, spec=spec)
              for a in sorted(outcomes["attribute"].unique())]
    return PairwiseReport(
        leaderboards=boards, score=score, position_consistency=position_consistency(outcomes, spec),
        first_position=first_position_preference(outcomes, spec), verdicts=len(verdicts),
        abstentions=int(verdicts["verdict"].isna().sum()), incomplete_pairs=len(combined.incomplete))


def pairwise_report(store: Store, batch_id: str, spec: BootstrapSpec | None = None) -> PairwiseReport:
    """:func:`report_from_verdicts` over a stored batch's ``pairwise_verdicts``."""
    return report_from_verdicts(store.pair_verdicts(batch_id), spec)
