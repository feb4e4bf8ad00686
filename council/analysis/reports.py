"""Agreement and bias reports over a dataset or batch, computed by :mod:`council.stats`, stored as records."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any, Literal

import pandas as pd
from pydantic import ValidationError

from council.analysis.errors import AnalysisError, NotFoundError
from council.analysis.records import AgreementParams, ReportInfo, ReportResult, StoredReport
from council.analysis.scope import (
    Scope,
    judges_in,
    pick_reference,
    raters_by_kind,
    ratings_frame,
    resolve_scope,
)
from council.stats import agreement_report, bias_report, human_ceiling, pairwise_records, records_frame
from council.stats.types import AgreementRecord, BootstrapSpec
from council.store import analysis_store as db
from council.store.store import Store

__all__ = ["get_report", "list_reports", "run_agreement", "run_bias"]

Exclusion = bool | Mapping[str, Collection[str]]


def _params(**kwargs: Any) -> AgreementParams:
    try:
        return AgreementParams(**kwargs)
    except ValidationError as e:
        err = e.errors()[0]
        raise AnalysisError(".".join(str(p) for p in err["loc"]) or "params", err["msg"]) from e


def _exclusion(scope: Scope, df: pd.DataFrame, p: AgreementParams) -> tuple[Exclusion, str]:
    """Resolve what ``exclude_self_family`` means here, with a label for the stored parameters.

    With ``paper_compatible`` on a dataset that names each judge's own model (MentalAlign), each judge
    loses only its own model's responses, as in Badawi et al. (2025); otherwise its whole family's.
    """
    if not p.exclude_self_family:
        return False, "none"
    if p.paper_compatible and scope.kind == "dataset" and scope.own_models:
        return {k: tuple(v) for k, v in scope.own_models.items()}, "own_model"
    if {"rater_family", "responder_family"} <= set(df.columns) and df["rater_family"].notna().any():
        return True, "family"
    raise AnalysisError("exclude_self_family", "the raters have no model families to exclude by")


def _prepare(
    store: Store, dataset: str | None, batch_id: str | None, owner: str, p: AgreementParams
) -> tuple[Scope, pd.DataFrame, str, list[str]]:
    scope = resolve_scope(store, dataset=dataset, batch_id=batch_id, owner=owner)
    df = ratings_frame(store, scope=scope, paper_compatible=p.paper_compatible)
    if df.empty:
        raise AnalysisError("dataset" if dataset is not None else "batch_id", "no ratings to analyse")
    return scope, df, pick_reference(df, p.reference), judges_in(scope, df)


def _store(
    store: Store, kind: str, scope: Scope, params: dict[str, Any], records: list[AgreementRecord]
) -> ReportResult:
    info = {
        "report_id": db.new_id("rep"),
        "owner": scope.owner,
        "kind": kind,
        "dataset": scope.dataset,
        "batch_id": scope.batch_id,
        "params": params,
        "created_at": db.now(),
    }
    frame = records_frame(records) if records else pd.DataFrame(columns=list(AgreementRecord.model_fields))
    db.save_report(store, info, frame)
    return ReportResult(info["report_id"], records)


def run_agreement(
    store: Store,
    *,
    dataset: str | None = None,
    batch_id: str | None = None,
    level: Literal["item", "system", "both"] = "item",
    reference: str | None = None,
    exclude_self_family: bool = False,
    paper_compatible: bool = False,
    bootstrap: BootstrapSpec | Mapping[str, Any] | None = None,
    pairwise: bool = False,
    owner: str = "local",
) -> ReportResult:
    """Agreement of every judge, the council and any other rater with the reference; stored as a report.

    Runs :func:`council.stats.agreement_report` (six ICC forms with F CIs, correlations, κ, α, CCC,
    MAE/RMSE, bias, Bland–Altman, SD ratio, ceiling; per attribute and composite) with the scope's
    scale and composites, adds the human–human ceiling when there are several human raters and, with
    ``pairwise``, the judge–judge records.

    Args:
        store: The store.
        dataset: A dataset name, or
        batch_id: a batch (its judgments plus the ratings imported for it).
        level: "item", "system" (per-responder means) or "both".
        reference: Reference rater; default ``human_expert`` or the only human rater.
        exclude_self_family: Remove each judge's own responders from its comparisons: its own model
            with ``paper_compatible`` on a dataset that names own models (the paper's recipe), its
            family otherwise (see the README).
        paper_compatible: Keep every value as given (0s and 6s, empty-response items).
        bootstrap: Seeded cluster bootstrap over contexts (``{"n_boot": 1000, "seed": 0}``).
        pairwise: Add every judge pair's records.
        owner: Owner of the data and of the stored report.

    Returns:
        :class:`~council.analysis.records.ReportResult` (report_id, records).

    Raises:
        AnalysisError: Naming the field (bad level, no reference, no families ...).
        NotFoundError: If the dataset or batch does not exist for this owner.

    """
    p = _params(
        level=level,
        reference=reference,
        exclude_self_family=exclude_self_family,
        paper_compatible=paper_compatible,
        bootstrap=bootstrap,
        pairwise=pairwise,
    )
    scope, df, ref, judges = _prepare(store, dataset, batch_id, owner, p)
    exclude, exclusion = _exclusion(scope, df, p)
    levels: list[Literal["item", "system"]] = ["item", "system"] if p.level == "both" else [p.level]  # type: ignore[list-item]
    if "system" in levels and df["responder"].isna().all():
        raise AnalysisError("level", "system level needs responders (the model that wrote each response)")
    try:
        records = agreement_report(
            df,
            ref,
            level=levels,
            judges=judges,
            exclude_self_family=exclude,
            bootstrap=p.bootstrap,
            scale=scope.int_scale,
            composites=scope.composites,
        )
        humans = raters_by_kind(df)["human"]
        for lv in levels:
            if lv == "item":
                records += human_ceiling(df, humans, scale=scope.int_scale, composites=scope.composites)
            if p.pairwise and len(judges) >= 2:
                records += pairwise_records(
                    df,
                    judges,
                    level=lv,
                    bootstrap=p.bootstrap,
                    scale=scope.int_scale,
                    composites=scope.composites,
                )
    except ValueError as e:
        raise AnalysisError("ratings", str(e)) from e
    resolved = {
        **p.model_dump(mode="json"),
        "reference": ref,
        "judges": judges,
        "exclusion": exclusion,
        "excluded": {k: list(v) for k, v in exclude.items()} if isinstance(exclude, Mapping) else None,
    }
    return _store(store, "agreement", scope, resolved, records)


def run_bias(
    store: Store,
    *,
    dataset: str | None = None,
    batch_id: str | None = None,
    reference: str | None = None,
    paper_compatible: bool = False,
    owner: str = "local",
) -> ReportResult:
    """Bias diagnostics stored as a report: source-model bias, self-preference, length bias, run spread.

    Self-preference uses each judge's family (batches: from the council spec; MentalAlign: the model
    families); length bias needs candidate texts (batches); run spread needs judges sampled more than once.

    Raises:
        AnalysisError: Naming the field.
        NotFoundError: If the dataset or batch does not exist for this owner.

    """
    p = _params(reference=reference, paper_compatible=paper_compatible)
    scope, df, ref, judges = _prepare(store, dataset, batch_id, owner, p)
    try:
        records = bias_report(df, ref, judges=judges, composites=scope.composites)
    except ValueError as e:
        raise AnalysisError("ratings", str(e)) from e
    return _store(
        store, "bias", scope, {**p.model_dump(mode="json"), "reference": ref, "judges": judges}, records
    )


def _info(row: pd.Series) -> dict[str, Any]:
    d = row.to_dict()
    d["params"] = json.loads(d["params"])
    return {k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in d.items()}


def get_report(store: Store, report_id: str, owner: str = "local") -> StoredReport:
    """Return a stored report with its records.

    Raises:
        NotFoundError: If this owner has no such report.

    """
    rows = db.list_rows(store, "reports", owner, "report_id", report_id)
    if rows.empty:
        raise NotFoundError("report_id", f"no report {report_id!r}")
    recs = db.report_records(store, report_id)
    records = [
        AgreementRecord.model_validate({k: (float("nan") if v is None else v) for k, v in r.items()})
        for r in recs.to_dict("records")
    ]
    return StoredReport(**_info(rows.iloc[0]), records=records)


def list_reports(store: Store, owner: str = "local") -> list[ReportInfo]:
    """List the owner's reports, newest first (without records)."""
    return [ReportInfo(**_info(r)) for _, r in db.list_rows(store, "reports", owner, "report_id").iterrows()]
