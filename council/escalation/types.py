"""Records of the confidence gate: the target, tiers, confidence models, thresholds and the fitted gate."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from council.calibration.model import CouncilCalibration

__all__ = [
    "GATE_VERSION",
    "AgreementTarget",
    "ConfidenceModel",
    "EscalationGate",
    "GateSummary",
    "GateTraining",
    "TierModel",
    "TierSpec",
    "TierThreshold",
]

GATE_VERSION = 1


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="strings")


class AgreementTarget(_Frozen):
    """What the user asks for: agreement with the human under a criterion, at a level, with a risk.

    ``exact``: the accepted score equals the human's; ``within_k``: it is at most ``k`` points away.
    The guarantee: with probability ≥ 1 − ``risk`` over the calibration data, the accepted items'
    agreement rate is ≥ ``level``.
    """

    criterion: Literal["exact", "within_k"]
    k: int = Field(0, description="Tolerance in scale points: 0 for exact, ≥ 1 for within_k.")
    level: float = Field(description="Target agreement rate in (0, 1), e.g. 0.95.")
    risk: float = Field(description="Probability that the guarantee fails, in (0, 1), e.g. 0.1.")

    @model_validator(mode="after")
    def _check(self) -> AgreementTarget:
        if self.criterion == "exact" and self.k != 0:
            raise ValueError(f"k: exact agreement has k = 0, got {self.k}")
        if self.criterion == "within_k" and self.k < 1:
            raise ValueError(f"k: within_k needs k ≥ 1, got {self.k}")
        if not 0 < self.level < 1:
            raise ValueError(f"level: must be in (0, 1), got {self.level}")
        if not 0 < self.risk < 1:
            raise ValueError(f"risk: must be in (0, 1), got {self.risk}")
        return self

    @classmethod
    def parse(cls, text: str, risk: float) -> AgreementTarget:
        """Build from ``"exact>=0.75"`` or ``"within1>=0.95"`` (the CLI/bench spelling)."""
        crit, _, lvl = text.replace(" ", "").partition(">=")
        if not lvl:
            raise ValueError(f"target: expected e.g. 'within1>=0.95', got {text!r}")
        if crit == "exact":
            return cls(criterion="exact", k=0, level=float(lvl), risk=risk)
        if crit.startswith("within") and crit[6:].isdigit():
            return cls(criterion="within_k", k=int(crit[6:]), level=float(lvl), risk=risk)
        raise ValueError(f"target: criterion must be 'exact' or 'withinK', got {crit!r}")

    def agrees(self, answer: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """Elementwise: does ``answer`` agree with ``reference`` (False where either is NaN)."""
        a, r = np.asarray(answer, float), np.asarray(reference, float)
        with np.errstate(invalid="ignore"):
            return np.abs(a - r) <= self.k + 1e-9

    @property
    def label(self) -> str:
        """E.g. ``within-1 ≥ 0.95 (risk 0.1)``."""
        crit = "exact" if self.criterion == "exact" else f"within-{self.k}"
        return f"{crit} ≥ {self.level:g} (risk {self.risk:g})"


class TierSpec(_Frozen):
    """One tier of a council: a name and the judges whose scores make its result.

    Tiers are tried in order; a later tier's judges are called only for the items escalated to it. A tier
    may list the judges of earlier tiers too (their scores are already paid for), which makes its result
    the council of everything called so far.
    """

    name: str
    judges: list[str] = Field(min_length=1)


class ConfidenceModel(_Frozen):
    """Logistic model of P(the tier's answer agrees with the human | features).

    P = 1 / (1 + exp(−(intercept + Σ coef_i · x_i))) over ``features`` (names from
    :func:`council.escalation.features.feature_names`).
    """

    features: list[str]
    coef: list[float]
    intercept: float
    C: float = Field(description="Inverse L2 penalty of the fit.")
    n: int = Field(description="Training items.")
    base_rate: float = Field(description="Training agreement rate.")

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Confidences for a feature matrix in ``features`` order."""
        z = np.asarray(x, float) @ np.asarray(self.coef) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))


class TierThreshold(_Frozen):
    """The threshold chosen for one tier and the evidence for it (fixed-sequence test summary)."""

    tier: str
    threshold: float | None = Field(description="Confidence needed to accept; None: the tier accepts nothing.")
    delta: float = Field(description="This tier's share of the risk (Bonferroni: risk / number of tiers).")
    n_reaching: int = Field(description="Calibration items that reached this tier (not accepted earlier).")
    n_accepted: int = Field(description="Of those, accepted at the threshold.")
    agreement: float | None = Field(description="Out-of-fold agreement rate of the accepted calibration items.")
    agreement_lower: float | None = Field(description="1 − the risk upper bound at the threshold.")
    n_effective: float | None = Field(description="Effective sample size of the bound at the threshold.")
    n_tests: int = Field(description="Thresholds tested before stopping.")
    stopped_at: float | None = Field(description="The first threshold that failed (None if none failed).")


class GateTraining(_Frozen):
    """What a gate was fitted on and how."""

    description: str = ""
    reference: str
    attributes: list[str]
    n_targets: int = Field(description="Targets with a reference score.")
    n_items: int = Field(description="Target × attribute items with a reference score.")
    n_contexts: int
    n_threshold_items: int = Field(description="Items of the threshold half (the other half fits the models).")
    seed: int = Field(description="Seed of the split into fit and threshold halves (grouped by context).")
    calibration_method: str
    clustered_bound: bool = Field(description="Bound with the effective sample size of contexts.")
    min_accepted: int
    alpha_split: Literal["bonferroni"] = "bonferroni"


class TierModel(_Frozen):
    """A tier with its fitted calibration (judges → calibrated score) and confidence model."""

    tier: TierSpec
    calibration: CouncilCalibration
    confidence: ConfidenceModel


class EscalationGate(_Frozen):
    """A fitted, serialisable gate: per tier a calibration, a confidence model and a threshold."""

    version: int = GATE_VERSION
    target: AgreementTarget
    scale: tuple[float, float]
    tiers: list[TierModel]
    thresholds: list[TierThreshold]
    training: GateTraining

    @property
    def tier_names(self) -> list[str]:
        """Tier names in order."""
        return [t.tier.name for t in self.tiers]

    def to_json(self, path: str | Path | None = None) -> str:
        """Serialise to JSON (and write it to ``path`` when given)."""
        text = self.model_dump_json()
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_json(cls, text: str) -> EscalationGate:
        """Load from a JSON string."""
        return cls.model_validate_json(text)


class GateSummary(_Frozen):
    """What routing did to a frame of items: coverage per tier, review, predicted (and realised) agreement."""

    n_items: int
    accepted: dict[str, int] = Field(description="tier → items accepted there.")
    coverage: dict[str, float] = Field(description="tier → share of all items accepted there.")
    n_review: int = Field(description="Items for people: escalated past the last tier, unscored, or risk.")
    n_risk: int = Field(description="Of those, forced to review by a risk flag.")
    n_awaiting: int = Field(description="Items escalated to a tier whose judges have not scored them yet.")
    predicted_agreement: float | None = Field(description="Mean confidence of the accepted items.")
    realised_agreement: float | None = Field(None, description="Agreement of accepted items with the reference, "
                                                               "when the frame has one.")
    n_with_reference: int = 0
