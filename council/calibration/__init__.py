"""Calibration of judges and councils against human ratings: fit, apply, cross-validate (JSON)."""

from council.calibration.apply import (
    ApplyReport,
    ApplyResult,
    apply_calibration,
    apply_rater_map,
    apply_rater_maps,
)
from council.calibration.cv import cross_validate_council, fit_validated_council, heldout_metrics
from council.calibration.fit import design, fit_council, fit_rater_map, fit_rater_maps
from council.calibration.model import (
    AttributeModel,
    CouncilCalibration,
    CVReport,
    CVRow,
    RaterMap,
    TargetCheck,
    TrainingInfo,
)

__all__ = [
    "ApplyReport",
    "ApplyResult",
    "AttributeModel",
    "CVReport",
    "CVRow",
    "CouncilCalibration",
    "RaterMap",
    "TargetCheck",
    "TrainingInfo",
    "apply_calibration",
    "apply_rater_map",
    "apply_rater_maps",
    "cross_validate_council",
    "design",
    "fit_council",
    "fit_rater_map",
    "fit_rater_maps",
    "fit_validated_council",
    "heldout_metrics",
]
