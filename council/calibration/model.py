"""Serialisable calibration records: per-rater maps, the council calibrator and CV results."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CALIBRATION_VERSION = 1


class _Frozen(BaseModel):
    # NaN metrics (e.g. an undefined ICC) survive a JSON round trip as the string "NaN".
    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="strings")


class TrainingInfo(_Frozen):
    """What a calibration was fitted on."""

    description: str = Field("", description="Free text: dataset, hygiene, filters.")
    reference: str = Field(description="Rater whose scale is the target (the human expert).")
    judges: list[str] = Field(description="Judges whose scores are the features.")
    attributes: list[str] = Field(description="Attributes calibrated.")
    n_targets: int = Field(description="Targets with a reference score on at least one attribute.")
    n_contexts: int | None = Field(None, description="Distinct contexts, if known.")


class RaterMap(_Frozen):
    """A monotone map from one rater's raw scores to the reference scale on one attribute.

    ``linear``: params ``intercept``, ``slope`` (OLS of reference on rater). ``isotonic``: params
    ``x`` and ``y`` (the fitted step thresholds, interpolated linearly, clipped at the ends).
    """

    rater: str
    attribute: str
    method: Literal["linear", "isotonic"]
    params: dict[str, float | list[float]]
    scale: tuple[float, float]
    n: int = Field(description="Training pairs.")


class AttributeModel(_Frozen):
    """The council calibrator of one attribute.

    Prediction: p = intercept + Σ coef_j · f_j over ``features`` (missing f_j imputed with
    ``feature_means``), then z = (p − p_mean)/p_sd and score = clip(offset + spread · z, scale),
    where (offset, spread) were solved so that the clipped training predictions have the training
    reference's mean and SD (moment matching after clipping). ``method`` 'ridge' skips the
    z/offset/spread step (plain shrunken prediction, clipped).
    """

    attribute: str
    features: list[str] = Field(description="Feature names 'rater|attribute'.")
    coef: list[float]
    intercept: float
    feature_means: list[float] = Field(description="Training means used to impute missing features.")
    p_mean: float = 0.0
    p_sd: float = 1.0
    offset: float = 0.0
    spread: float = 1.0
    matched: bool = Field(True, description="Whether the moment-matching step is applied.")
    n: int = Field(description="Training targets.")
    target_mean: float = Field(description="Training reference mean.")
    target_sd: float = Field(description="Training reference SD (ddof=0).")


class CVRow(_Frozen):
    """Held-out agreement with the reference on one attribute (out-of-fold predictions)."""

    attribute: str
    n: int = Field(description="Targets evaluated (reference and calibrated score present).")
    best_judge: str = Field(description="Single raw judge with the highest ICC(A,1).")
    best_judge_icc_a1: float
    best_judge_bias: float
    best_judge_mae: float
    council_icc_a1: float = Field(description="Raw council (judge mean).")
    council_bias: float
    council_mae: float
    calibrated_icc_a1: float
    calibrated_bias: float
    calibrated_mae: float

    @property
    def gain(self) -> float:
        """Calibrated ICC(A,1) minus the best raw judge's."""
        return self.calibrated_icc_a1 - self.best_judge_icc_a1


class TargetCheck(_Frozen):
    """One acceptance target and whether it is met."""

    name: str
    value: float
    bound: float
    passed: bool


class CVReport(_Frozen):
    """K-fold cross-validation grouped by context."""

    method: str
    n_splits: int
    seed: int
    grouped_by: str = "context"
    rows: list[CVRow]

    @property
    def mean_calibrated_icc_a1(self) -> float:
        """Mean over attributes of the calibrated ICC(A,1)."""
        return sum(r.calibrated_icc_a1 for r in self.rows) / len(self.rows)

    def check(
        self, min_gain: float = 0.08, min_mean_icc: float = 0.50, max_abs_bias: float = 0.02
    ) -> list[TargetCheck]:
        """Compare with the acceptance targets (gain over best judge, mean ICC(A,1), |bias|)."""
        out = [
            TargetCheck(
                name=f"gain[{r.attribute}]",
                value=r.gain,
                bound=min_gain,
                passed=not math.isnan(r.gain) and r.gain >= min_gain,
            )
            for r in self.rows
        ]
        m = self.mean_calibrated_icc_a1
        out.append(TargetCheck(name="mean_icc_a1", value=m, bound=min_mean_icc, passed=m >= min_mean_icc))
        out += [
            TargetCheck(
                name=f"abs_bias[{r.attribute}]",
                value=abs(r.calibrated_bias),
                bound=max_abs_bias,
                passed=abs(r.calibrated_bias) <= max_abs_bias,
            )
            for r in self.rows
        ]
        return out


class CouncilCalibration(_Frozen):
    """A fitted council calibrator: all judges' scores on all attributes -> one score per attribute."""

    version: int = CALIBRATION_VERSION
    method: Literal["ridge-mm", "ridge", "mean-mm"]
    alpha: float = Field(description="Ridge penalty (0 for mean-mm).")
    scale: tuple[float, float]
    judges: list[str]
    attributes: list[str]
    models: list[AttributeModel]
    training: TrainingInfo
    cv: CVReport | None = None

    def to_json(self, path: str | Path | None = None) -> str:
        """Serialise to JSON (and write it to ``path`` when given)."""
        text = self.model_dump_json(indent=2)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> CouncilCalibration:
        """Load from a JSON string or a file path."""
        p = Path(text_or_path) if not str(text_or_path).lstrip().startswith("{") else None
        text = p.read_text(encoding="utf-8") if p is not None else str(text_or_path)
        return cls.model_validate_json(text)

    def model_for(self, attribute: str) -> AttributeModel:
        """Return the attribute's model.

        Raises:
            KeyError: If the attribute was not calibrated.

        """
        for m in self.models:
            if m.attribute == attribute:
                return m
        raise KeyError(f"attribute {attribute!r} not calibrated; have {self.attributes}")
