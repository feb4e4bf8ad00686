"""Errors of the analysis layer: ``ValueError`` subclasses that name the offending field.

They derive from :class:`judges.errors.ConfigError` (itself a ``ValueError``), so the CLI reports them
with exit code 2 and the service can map :class:`NotFoundError` to 404 and the rest to 400/422.
"""

from __future__ import annotations

from judges.errors import ConfigError

__all__ = ["AnalysisError", "CalibrationMismatchError", "NotFoundError"]


class AnalysisError(ConfigError):
    """Bad input to an analysis function (import, agreement, calibration); ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        """The argument or data field at fault (``dataset``, ``batch_id``, ``calibration_id`` ...)."""
        self.message = message
        """What is wrong, without the field."""

    def __reduce__(self) -> tuple[type[AnalysisError], tuple[str, str]]:
        # Pickling (how Ray hands exceptions between the service's deployments) would rebuild the error from
        # ``args``, the one joined string, which the two-argument constructor refuses: the API answered 500.
        return type(self), (self.field, self.message)


class NotFoundError(AnalysisError):
    """The dataset, batch, report or calibration does not exist for this owner.

    Another owner's entities are reported as not found, so their existence does not leak.
    """


class CalibrationMismatchError(AnalysisError):
    """A calibration cannot apply to a batch: judges, attributes or scale differ."""
