"""Pairwise jury: pair planning, order combination, Bradley–Terry leaderboards, judge biases (pure functions).

Frames in, typed records out, no I/O: the store (``pairwise_verdicts``, migration 007) and the run, API and
dashboard layers call these functions.
"""

from council.pairwise.agreement import (
    mean_score_replicates,
    pairwise_vs_absolute,
    pairwise_vs_pairwise,
    ranking_agreement,
)
from council.pairwise.bradley_terry import BTFit, bradley_terry, comparisons, fit_strengths, win_rates
from council.pairwise.consistency import (
    OUTCOME_KEYS,
    CombinedOrders,
    combine_orders,
    first_position_preference,
    position_consistency,
)
from council.pairwise.frames import VERDICT_COLUMNS, validate_verdicts, verdicts_frame
from council.pairwise.judge_bias import length_preference, self_preference
from council.pairwise.leaderboard import StrengthReplicates, bootstrap_strengths, leaderboard
from council.pairwise.plan import (
    OrderedPair,
    PairsSpec,
    PlannedPair,
    calls_per_context,
    ordered_pairs,
    parse_pairs,
    plan_pairs,
    planned_calls,
)
from council.pairwise.types import (
    OVERALL,
    JudgeRate,
    Leaderboard,
    NeighbourSeparation,
    Order,
    PairVerdict,
    RankingAgreement,
    ResponderStrength,
    SelfPreference,
    Verdict,
    WinRate,
)

__all__ = [
    "OUTCOME_KEYS",
    "OVERALL",
    "VERDICT_COLUMNS",
    "BTFit",
    "CombinedOrders",
    "JudgeRate",
    "Leaderboard",
    "NeighbourSeparation",
    "Order",
    "OrderedPair",
    "PairVerdict",
    "PairsSpec",
    "PlannedPair",
    "RankingAgreement",
    "ResponderStrength",
    "SelfPreference",
    "StrengthReplicates",
    "Verdict",
    "WinRate",
    "bootstrap_strengths",
    "bradley_terry",
    "calls_per_context",
    "combine_orders",
    "comparisons",
    "first_position_preference",
    "fit_strengths",
    "leaderboard",
    "length_preference",
    "mean_score_replicates",
    "ordered_pairs",
    "pairwise_vs_absolute",
    "pairwise_vs_pairwise",
    "parse_pairs",
    "plan_pairs",
    "planned_calls",
    "position_consistency",
    "ranking_agreement",
    "self_preference",
    "validate_verdicts",
    "verdicts_frame",
    "win_rates",
]
