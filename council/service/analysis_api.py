"""The analysis part of the service core: ratings, agreement/bias reports and calibrations.

Each call runs the store-level function of :mod:`council.analysis` in a worker thread, so statistics
(seconds on large datasets) never stall the event loop that serves the judge replicas' ledger calls.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import ValidationError

from council.analysis import (
    AnalysisError,
    apply_calibration_to_batch,
    fit_and_store_calibration,
    get_calibration,
    get_report,
    import_ratings_file,
    list_calibrations,
    list_datasets,
    list_reports,
    run_agreement,
    run_bias,
)
from council.ratings import Columns
from council.service.errors import RequestError
from council.service.limits import Limits, check_bootstrap, check_import_content, check_ratings_upload
from council.service.schemas import AgreementRequest, CalibrationRequest, PairwiseUpload, RatingsUpload
from council.store.store import Store

__all__ = ["AnalysisService"]


def _columns(columns: dict[str, Any] | None) -> Columns | None:
    """The uploaded column names, or an AnalysisError naming them (a ValidationError would reach the client as 500)."""
    if not columns:
        return None
    try:
        return Columns(**columns)
    except (ValidationError, TypeError) as e:
        problems = e.errors() if isinstance(e, ValidationError) else [{"loc": (), "msg": str(e)}]
        raise AnalysisError("columns", "; ".join(f"{'.'.join(map(str, p['loc'])) or 'columns'}: {p['msg']}"
                                                 for p in problems)) from e


def _jsonable(value: Any) -> Any:
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value


class AnalysisService:
    """Analysis endpoints over the core's store, scoped by owner."""

    def __init__(self, store: Store, limits: Limits | None = None) -> None:
        self.store = store
        self.limits = limits or Limits()

    async def import_ratings(self, owner: str, body: RatingsUpload) -> dict[str, Any]:
        """Import an uploaded ratings file (within the import limits); returns the import report."""
        check_ratings_upload(body, self.limits)
        record = await asyncio.to_thread(
            import_ratings_file, self.store, body.content.encode(), dataset=body.dataset, batch_id=body.batch_id,
            fmt=body.format, layout=body.layout, columns=_columns(body.columns),
            attributes=body.attributes, rater=body.rater, kind=body.kind, families=body.families,
            protocol=body.protocol, description=body.description, owner=owner)
        return record.model_dump(mode="json")

    async def agreement(self, owner: str, body: AgreementRequest) -> dict[str, Any]:
        """Compute and store an agreement or bias report; returns its id and flat records."""
        check_bootstrap(body.bootstrap.model_dump() if body.bootstrap else None, self.limits)
        await asyncio.to_thread(self.check_raters, owner, body.dataset, body.batch_id)
        run = run_agreement if body.kind == "agreement" else run_bias
        params = body.model_dump(exclude={"kind"})
        if body.kind == "bias":
            params = {k: v for k, v in params.items() if k in ("dataset", "batch_id", "reference",
                                                               "paper_compatible")}
        result = await asyncio.to_thread(run, self.store, owner=owner, **params)
        return {"report_id": result.report_id, "kind": body.kind,
                "records": [_jsonable(r) for r in result.records]}

    def check_raters(self, owner: str, dataset: str | None, batch_id: str | None) -> None:
        """Refuse a scope with more raters than ``max_raters`` (422 naming the scope) before any statistic runs."""
        if (dataset is None) == (batch_id is None):
            return  # the analysis function names that mistake
        column, key = ("dataset", dataset) if dataset is not None else ("batch_id", batch_id)
        n = self.store.query(f"SELECT count(DISTINCT rater) AS n FROM ratings WHERE owner = ? AND {column} = ?",
                             [owner, key]).n[0]
        if int(n) > self.limits.max_raters:
            raise RequestError(f"{column}: {int(n)} raters, at most {self.limits.max_raters} per report", field=column)

    async def report(self, owner: str, report_id: str) -> dict[str, Any]:
        """A stored report with its records."""
        return (await asyncio.to_thread(get_report, self.store, report_id, owner)).model_dump(mode="json")

    async def reports(self, owner: str) -> list[dict[str, Any]]:
        """This owner's reports (without records)."""
        return [r.model_dump(mode="json") for r in await asyncio.to_thread(list_reports, self.store, owner)]

    async def datasets(self, owner: str) -> list[dict[str, Any]]:
        """This owner's datasets."""
        return [d.model_dump(mode="json") for d in await asyncio.to_thread(list_datasets, self.store, owner)]

    async def calibrate(self, owner: str, body: CalibrationRequest) -> dict[str, Any]:
        """Fit, cross-validate and store a calibration; returns its id and the CV table."""
        fit = await asyncio.to_thread(fit_and_store_calibration, self.store, owner=owner, **body.model_dump())
        return {"calibration_id": fit.calibration_id, "cv": _jsonable(fit.cv)}

    async def calibration(self, owner: str, calibration_id: str) -> dict[str, Any]:
        """A stored calibration with its parameters and CV metrics."""
        found = await asyncio.to_thread(get_calibration, self.store, calibration_id, owner)
        return found.model_dump(mode="json")

    async def calibrations(self, owner: str) -> list[dict[str, Any]]:
        """This owner's calibrations."""
        return [c.model_dump(mode="json") for c in await asyncio.to_thread(list_calibrations, self.store, owner)]

    async def apply(self, owner: str, calibration_id: str, batch_id: str) -> dict[str, Any]:
        """Write a calibration's scores beside the raw ones of one of this owner's batches."""
        record = await asyncio.to_thread(apply_calibration_to_batch, self.store, batch_id, calibration_id,
                                         owner=owner)
        return record.model_dump(mode="json")

    async def import_pairwise(self, owner: str, batch_id: str, body: PairwiseUpload) -> dict[str, Any]:
        """Import human pairwise preferences onto one of this owner's batches; returns the import record."""
        from council.pairwise.human_import import import_human_pairs

        check_import_content(body.content, self.limits)
        record = await asyncio.to_thread(import_human_pairs, self.store, body.content.encode(), batch_id=batch_id,
                                         fmt=body.format, rater=body.rater, owner=owner)
        return record.model_dump(mode="json")

    async def human_pairwise(self, owner: str, batch_id: str, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
        """A pairwise batch against its human preferences: τ of the BT rankings, pair agreement, the ceiling."""
        from council.pairwise.human import human_pairwise_agreement
        from council.stats.types import BootstrapSpec

        if not 10 <= n_boot <= self.limits.max_bootstrap:
            raise RequestError(f"n_boot: between 10 and {self.limits.max_bootstrap}", field="n_boot")
        result = await asyncio.to_thread(human_pairwise_agreement, self.store, batch_id, owner=owner,
                                         spec=BootstrapSpec(n_boot=n_boot, seed=seed))
        return result.model_dump(mode="json")
