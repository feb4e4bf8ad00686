"""Typed, frozen records of the pairwise jury: one judge's verdict on one ordered pair, and the results.

Words used throughout the package:

- **first / second**: the candidate shown in position A / position B of one call. A verdict ``"A"`` prefers
  the candidate shown first. ``p_first`` and ``p_second`` are the judge's probabilities of answering A and B.
- **order**: ``"AB"`` when the pair is shown in the plan's orientation (its candidate ``a`` first), ``"BA"``
  when swapped. Every planned pair is judged in both orders.
- **outcome**: one judge's verdict on an unordered pair after combining both orders (see
  :mod:`council.pairwise.consistency`); ``score_a`` is 1 (a wins), 0.5 (tie) or 0 (b wins).

Every statistic names its exact form and carries n contexts, bootstrap replicates and the CI method.
``NaN`` means "not computable"; it serialises to JSON ``null``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

Verdict = Literal["A", "B", "tie"]
Order = Literal["AB", "BA"]
OVERALL = "overall"
"""The attribute id of an overall preference (no rubric attribute)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PairVerdict(_Frozen):
    """One judge's answer to one ordered pair of candidates of one context, on one attribute."""

    item_id: str = Field(description="The context (batch item).")
    judge_id: str
    attribute: str = Field(OVERALL, description="Rubric attribute id, or 'overall' for an overall preference.")
    first_candidate: str = Field(description="Candidate shown in position A.")
    second_candidate: str = Field(description="Candidate shown in position B.")
    first_responder: str = Field(description="Model or person that wrote the first candidate.")
    second_responder: str = Field(description="Model or person that wrote the second candidate.")
    order: Order = Field(description="'AB': the plan's orientation; 'BA': the same pair swapped.")
    sample: int = Field(0, ge=0, description="Sample index when a judge answers the same call more than once.")
    verdict: Verdict | None = Field(description="A (first preferred), B (second preferred), tie; None = abstained.")
    p_first: float | None = Field(None, ge=0, le=1, description="P(A) from the judge's logprobs, when available.")
    p_second: float | None = Field(None, ge=0, le=1, description="P(B) from the judge's logprobs, when available.")
    p_tie: float | None = Field(None, ge=0, le=1, description="P(tie) from the judge's logprobs, when available.")
    rationale: str | None = Field(None, description="The judge's short rationale (hosted judges).")
    abstention: str | None = Field(None, description="Why there is no verdict (parse_failure, refusal, ...).")
    detail: str | None = None
    calls: list[str] = Field(default_factory=list, description="Ids of the LLM calls behind this verdict.")

    @model_validator(mode="after")
    def _verdict_or_abstention(self) -> PairVerdict:
        if (self.verdict is None) == (self.abstention is None):
            raise ValueError("a pair verdict has either a verdict or an abstention reason, not both or neither")
        if self.first_candidate == self.second_candidate:
            raise ValueError("a candidate cannot be compared with itself")
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def preference(self) -> float | None:
        """Probability-weighted preference for the first candidate, P(A) − P(B), in [−1, 1]."""
        if self.p_first is None or self.p_second is None:
            return None
        return self.p_first - self.p_second


class JudgeRate(_Frozen):
    """A per-judge rate over pairwise verdicts (position consistency, first-position preference, ...)."""

    judge_id: str
    attribute: str
    statistic: str = Field(description="Exact name, e.g. 'position_consistency_rate', 'first_position_bias'.")
    value: float
    ci_low: float
    ci_high: float
    n: int = Field(description="Units the rate is over (complete pairs, decisive verdicts ...).")
    n_contexts: int
    n_boot: int = Field(description="Bootstrap replicates behind the CI (0 when there is none).")
    ci_method: str = Field(description="'cluster-bootstrap(n, seed=s)' over contexts, or 'none'.")
    level: float = 0.95


class ResponderStrength(_Frozen):
    """One responder's Bradley–Terry strength and rank with cluster-bootstrap intervals."""

    responder: str
    strength: float = Field(description="Log-strength (natural log-odds units), centred to mean 0 over responders.")
    ci_low: float
    ci_high: float
    rank: int = Field(description="1 = strongest, by the point estimate.")
    rank_low: int = Field(description="Best rank inside the bootstrap interval of ranks.")
    rank_high: int = Field(description="Worst rank inside the bootstrap interval of ranks.")
    comparisons: int = Field(description="Outcomes (judge × pair) this responder took part in.")
    wins: float = Field(description="Wins counting ties as halves.")


class NeighbourSeparation(_Frozen):
    """Whether two neighbouring ranks are told apart: the bootstrap CI of their strength difference."""

    higher: str = Field(description="Responder at rank r.")
    lower: str = Field(description="Responder at rank r + 1.")
    difference: float = Field(description="strength(higher) − strength(lower) ≥ 0.")
    ci_low: float
    ci_high: float
    share_ordered: float = Field(description="Share of bootstrap replicates keeping higher above lower.")
    separable: bool = Field(description="True when the CI of the difference excludes 0.")


class WinRate(_Frozen):
    """Observed share of outcomes won by ``responder`` against ``opponent`` (ties count half)."""

    responder: str
    opponent: str
    win_rate: float
    n: int


class Leaderboard(_Frozen):
    """Bradley–Terry leaderboard of responders from pairwise outcomes, with cluster-bootstrap intervals."""

    statistic: str = Field("bradley_terry_strength", description="What the strengths are.")
    attribute: str
    ties: str = Field(description="How ties enter the likelihood.")
    fit: str = Field(description="Estimator used (library and method).")
    strengths: list[ResponderStrength] = Field(description="Ordered from rank 1 down.")
    neighbours: list[NeighbourSeparation]
    win_rates: list[WinRate]
    n_outcomes: int
    n_contexts: int
    n_boot: int
    ci_method: str
    level: float


class SelfPreference(_Frozen):
    """A judge's preference for its own family's responders, against the same opponents, vs other judges."""

    judge_id: str
    family: str
    attribute: str
    own_responders: list[str]
    statistic: str = "own_family_win_rate_difference"
    win_rate_judge: float = Field(description="Own-family responders' win rate (ties half) under this judge.")
    win_rate_others: float = Field(description="Their win rate on the same pairs under other-family judges.")
    difference: float = Field(description="win_rate_judge − win_rate_others; > 0 means self-preference.")
    ci_low: float
    ci_high: float
    n_pairs: int = Field(description="(context, pair) units judged by this judge and at least one other.")
    n_contexts: int
    n_boot: int
    ci_method: str
    level: float = 0.95


class RankingAgreement(_Frozen):
    """Agreement of two rankings of the same responders (Kendall τ-b) with a cluster-bootstrap CI."""

    statistic: str = Field("kendall_tau_b", description="scipy.stats.kendalltau, variant 'b' (ties corrected).")
    ranking: str = Field(description="Name of the ranking compared, e.g. 'pairwise_bt'.")
    reference: str = Field(description="Name of the reference ranking, e.g. 'absolute_mean', 'human_pairwise_bt'.")
    attribute: str | None = Field(None, description="The pairwise attribute ranked, when the caller names it.")
    value: float
    ci_low: float
    ci_high: float
    p_value: float = Field(description="scipy's p-value of τ = 0 (exact for small n without ties).")
    n_responders: int
    n_contexts: int
    n_boot: int
    ci_method: str
    level: float = 0.95
