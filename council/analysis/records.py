"""Typed, frozen records at the analysis boundary (CLI, HTTP service): inputs, stored entities, results."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from council.calibration.model import CouncilCalibration, CVReport, RaterMap, TrainingInfo
from council.ratings.importer import ImportReport
from council.stats.types import AgreementRecord, BootstrapSpec

__all__ = [
    "AgreementParams",
    "ApplyRecord",
    "CalibrationFit",
    "CalibrationInfo",
    "CalibrationMethod",
    "DatasetInfo",
    "ImportRecord",
    "ReportInfo",
    "ReportResult",
    "StoredCalibration",
    "StoredReport",
]

CalibrationMethod = Literal["ridge-mm", "ridge", "mean-mm", "linear", "isotonic"]
"""Council calibrators (``ridge-mm``, ``ridge``, ``mean-mm``) or per-judge maps (``linear``, ``isotonic``)."""
COUNCIL_METHODS: tuple[str, ...] = ("ridge-mm", "ridge", "mean-mm")
MAP_METHODS: tuple[str, ...] = ("linear", "isotonic")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="null")


class DatasetInfo(_Frozen):
    """A named set of rated items without texts, e.g. MentalAlign-70k."""

    owner: str
    name: str
    description: str = ""
    protocol_id: str | None = Field(
        None, description="Protocol its attributes, scale and composites come from."
    )
    scale: tuple[float, float] = Field(description="Rating scale (min, max).")
    attributes: list[str] = Field(description="Attribute ids in display order.")
    composites: dict[str, list[str]] = Field(
        default_factory=dict, description="Composite -> member attributes."
    )
    meta: dict[str, Any] = Field(
        default_factory=dict, description="E.g. own_models: judge -> its own responders."
    )
    created_at: datetime
    updated_at: datetime


class ImportRecord(_Frozen):
    """What one import stored, with the importer's report (counts per rater × attribute)."""

    import_id: str
    owner: str
    dataset: str | None = Field(None, description="Dataset the ratings belong to (or None for a batch).")
    batch_id: str | None = Field(
        None, description="Batch whose candidates were rated (or None for a dataset)."
    )
    source: str = Field(description="File or directory read.")
    raters: list[str] = Field(
        description="Raters imported (their earlier ratings in this scope were replaced)."
    )
    n_ratings: int = Field(description="Rating rows stored, values as given (hygiene applies when reading).")
    excluded_targets: dict[str, int] = Field(
        default_factory=dict,
        description="reason -> targets default hygiene drops (kept for paper-compatible).",
    )
    report: ImportReport = Field(
        description="Counts under the hygiene asked for: kept / out of scale / blank ..."
    )
    created_at: datetime


class AgreementParams(_Frozen):
    """Parameters of an agreement or bias report (stored with it, so it can be re-run)."""

    level: Literal["item", "system", "both"] = "item"
    reference: str | None = Field(
        None, description="Reference rater; default human_expert or the only human."
    )
    exclude_self_family: bool = Field(
        False,
        description="Remove each judge's own responders: its own model when paper_compatible and the dataset "
        "names own models (the paper's recipe), its family otherwise.",
    )
    paper_compatible: bool = Field(False, description="Keep every value as given (no hygiene).")
    bootstrap: BootstrapSpec | None = Field(None, description="Seeded cluster bootstrap over contexts.")
    pairwise: bool = Field(False, description="Add the judge–judge records (every pair of judges).")


class ReportInfo(_Frozen):
    """A stored report without its records."""

    report_id: str
    owner: str
    kind: Literal["agreement", "bias", "robustness"]
    dataset: str | None = None
    batch_id: str | None = None
    params: dict[str, Any] = Field(
        description="AgreementParams plus what was resolved (reference, exclusions)."
    )
    n_records: int
    created_at: datetime


class StoredReport(ReportInfo):
    """A stored report with its flat records."""

    records: list[AgreementRecord]


class ReportResult(NamedTuple):
    """What :func:`~council.analysis.run_agreement` returns: the stored report's id and its records."""

    report_id: str
    records: list[AgreementRecord]


class CalibrationInfo(_Frozen):
    """A stored calibration without its parameters."""

    calibration_id: str
    owner: str
    name: str = Field(description="Calibrations of the same name are versions of one another.")
    version: int = Field(description="1, 2, ... per (owner, name).")
    method: CalibrationMethod
    kind: Literal["council", "rater_maps"]
    dataset: str | None = None
    batch_id: str | None = None
    training: TrainingInfo = Field(
        description="Training data: reference, judges, attributes, targets, contexts."
    )
    raters: list[str] = Field(
        description="Judge names the calibration needs (a council's judge ids must match)."
    )
    attributes: list[str]
    scale: tuple[float, float]
    cv: CVReport | None = Field(None, description="Grouped K-fold cross-validation metrics.")
    created_at: datetime


class StoredCalibration(CalibrationInfo):
    """A stored calibration with its fitted parameters (one of ``council`` or ``maps``)."""

    council: CouncilCalibration | None = None
    maps: list[RaterMap] = Field(default_factory=list)


class CalibrationFit(NamedTuple):
    """What :func:`~council.analysis.fit_and_store_calibration` returns."""

    calibration_id: str
    cv: CVReport


class ApplyRecord(_Frozen):
    """What applying a calibration to a batch wrote."""

    batch_id: str
    calibration_id: str
    kind: Literal["council", "rater_maps"]
    n_written: int = Field(description="Calibrated values written (judgment rows or candidate × attribute).")
    n_missing: int = Field(description="Of those, how many are missing (no judge score to calibrate).")
    judges_used: list[str]
    judges_ignored: list[str] = Field(description="Council judges the calibration does not use.")
    detail: dict[str, Any] = Field(default_factory=dict, description="E.g. imputed features per attribute.")
    applied_at: datetime
