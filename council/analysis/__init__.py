"""Store-level analysis: import ratings, agreement and bias reports, calibrations, applying them to batches.

The CLI (``council ratings|agreement|bias|calibrate|calibrations``) and the HTTP service call these
functions; the statistics themselves are pure functions in :mod:`council.stats` and
:mod:`council.calibration`. Every function takes the owner whose data it reads or writes; another
owner's entities are not found. Errors are ``ValueError`` subclasses naming the field.
"""

from council.analysis.apply import apply_calibration_to_batch, check_council_calibration
from council.analysis.calibrate import (
    cross_validate_maps,
    fit_and_store_calibration,
    get_calibration,
    list_calibrations,
)
from council.analysis.datasets import get_dataset, list_datasets
from council.analysis.errors import AnalysisError, CalibrationMismatchError, NotFoundError
from council.analysis.imports import import_ratings_file
from council.analysis.mentalalign import import_mentalalign_dataset
from council.analysis.records import (
    AgreementParams,
    ApplyRecord,
    CalibrationFit,
    CalibrationInfo,
    CalibrationMethod,
    DatasetInfo,
    ImportRecord,
    ReportInfo,
    ReportResult,
    StoredCalibration,
    StoredReport,
)
from council.analysis.reports import get_report, list_reports, run_agreement, run_bias
from council.analysis.scope import Scope, ratings_frame, resolve_scope

__all__ = [
    "AgreementParams",
    "AnalysisError",
    "ApplyRecord",
    "CalibrationFit",
    "CalibrationInfo",
    "CalibrationMethod",
    "CalibrationMismatchError",
    "DatasetInfo",
    "ImportRecord",
    "NotFoundError",
    "ReportInfo",
    "ReportResult",
    "Scope",
    "StoredCalibration",
    "StoredReport",
    "apply_calibration_to_batch",
    "check_council_calibration",
    "cross_validate_maps",
    "fit_and_store_calibration",
    "get_calibration",
    "get_dataset",
    "get_report",
    "import_mentalalign_dataset",
    "import_ratings_file",
    "list_calibrations",
    "list_datasets",
    "list_reports",
    "ratings_frame",
    "resolve_scope",
    "run_agreement",
    "run_bias",
]
