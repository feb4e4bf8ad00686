"""Confidence-gated escalation: tiers of judges, a calibrated confidence per item, thresholds with a guarantee.

Entry points: :func:`fit_gate` (fit per tier a calibrator and a confidence model on human ratings and choose
each tier's threshold by fixed-sequence testing, Jung et al. 2024 "Trust or Escalate"), :func:`route` (send
each candidate × attribute to the first tier confident enough, else to people), and the versioned store of
gates (:func:`save_gate`, :func:`get_gate`, :func:`list_gates`, :func:`fit_and_store_gate`).
"""

from council.escalation.gate import Routing, fit_gate, route, summarise
from council.escalation.storage import (
    GateInfo,
    StoredGate,
    fit_and_store_gate,
    get_gate,
    latest_gate,
    list_gates,
    save_gate,
)
from council.escalation.thresholds import (
    ThresholdSelection,
    ThresholdTest,
    clopper_pearson_upper,
    fixed_sequence_threshold,
)
from council.escalation.types import (
    AgreementTarget,
    ConfidenceModel,
    EscalationGate,
    GateSummary,
    GateTraining,
    TierModel,
    TierSpec,
    TierThreshold,
)

__all__ = [
    "AgreementTarget",
    "ConfidenceModel",
    "EscalationGate",
    "GateInfo",
    "GateSummary",
    "GateTraining",
    "Routing",
    "StoredGate",
    "ThresholdSelection",
    "ThresholdTest",
    "TierModel",
    "TierSpec",
    "TierThreshold",
    "clopper_pearson_upper",
    "fit_and_store_gate",
    "fit_gate",
    "fixed_sequence_threshold",
    "get_gate",
    "latest_gate",
    "list_gates",
    "route",
    "save_gate",
    "summarise",
]
