"""Import human and external-judge ratings into the store, keyed to a named dataset or a batch's candidates.

Values are stored as given, with two marks: ``out_of_scale`` per value and ``excluded`` (a reason) per
target that default hygiene drops (empty responses, misaligned contexts). Hygiene is applied when reading,
so one import serves both the default analysis and the paper-compatible one. The returned report counts
every cell under the hygiene asked for at import: nothing is dropped or kept silently.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import pandas as pd

from council.analysis.errors import AnalysisError
from council.analysis.records import ImportRecord
from council.analysis.scope import Scope, batch_target, resolve_scope
from council.analysis.storage import storage_frame, store_import
from council.ratings import (
    Columns,
    Hygiene,
    ImportResult,
    import_ratings,
)
from council.ratings.importer import RatingsFileError, read_table
from council.store import analysis_store as db
from council.store.store import Store
from protocols import ProtocolError, load_protocol

__all__ = ["import_ratings_file"]

Kind = Literal["human", "external"]


def _dataset_setup(
    store: Store, name: str, owner: str, protocol: str | None, scale: tuple[float, float] | None
) -> tuple[tuple[float, float], list[str] | None, dict]:
    """(scale, allowed attributes or None, composites) of a dataset, existing or about to be created."""
    row = db.dataset_row(store, owner, name)
    if row is not None:
        have = (row["scale_min"], row["scale_max"])
        if scale is not None and tuple(scale) != have:
            raise AnalysisError("scale", f"dataset {name!r} has scale {have}, not {tuple(scale)}")
        attrs = json.loads(row["attributes"]) if row["protocol_id"] else None
        return have, attrs, json.loads(row["composites"])
    if protocol is not None:
        try:
            p = load_protocol(protocol)
        except ProtocolError as e:
            raise AnalysisError("protocol", str(e)) from e
        return (p.scale.min, p.scale.max), p.attribute_ids, {k: list(v) for k, v in p.composites.items()}
    return tuple(scale or (1, 5)), None, {}  # type: ignore[return-value]


def _as_path(source: str | Path | bytes, fmt: str | None, tmp: Path) -> Path:
    if not isinstance(source, bytes):
        path = Path(source)
        if not path.is_file():
            raise AnalysisError("path", f"{path} is not a file")
        return path
    if fmt not in ("csv", "jsonl"):
        raise AnalysisError("format", "give format 'csv' or 'jsonl' for uploaded bytes")
    path = tmp / f"upload.{fmt}"
    path.write_bytes(source)
    return path


def _resolve_columns(
    path: Path, fmt: str | None, scope: Scope | None, columns: Columns | None, rater: str | None
) -> Columns:
    """Resolve the source columns: batch files may key rows by ``item_id`` and ``candidate_id``.

    A constant ``rater`` overrides the rater column.
    """
    cols = columns or Columns()
    try:
        header = set(read_table(path, fmt).columns)  # type: ignore[arg-type]
    except RatingsFileError as e:
        raise AnalysisError("content", str(e)) from e
    if (
        scope is not None
        and cols.target == "target"
        and "target" not in header
        and {"item_id", "candidate_id"} <= header
    ):
        cols = cols.model_copy(update={"target": ["item_id", "candidate_id"]})
    if rater is not None:
        cols = cols.model_copy(update={"rater": None})
    return cols


def _check_batch(res: ImportResult, scope: Scope, store: Store) -> None:
    cands = store.query("SELECT item_id, candidate_id FROM candidates WHERE batch_id = ?", [scope.key])
    known = {batch_target(i, c) for i, c in zip(cands["item_id"], cands["candidate_id"], strict=True)}
    unknown = sorted(set(res.frame["target"].astype(str)) - known)
    if unknown:
        raise AnalysisError(
            "target",
            f"{len(unknown)} targets are not candidates of batch {scope.key} "
            f"(expected item_id:candidate_id), e.g. {unknown[:3]}",
        )
    clash = sorted(set(res.frame["rater"]) & set(scope.council_judges))
    if clash:
        raise AnalysisError(
            "rater", f"{clash} are judges of this batch's council; import them under other names"
        )


def _check_duplicates(frame: pd.DataFrame) -> None:
    """Refuse a file rating the same (target, rater, attribute[, sample]) twice: later statistics need one value."""
    keys = [k for k in ("target", "rater", "attribute", "sample") if k in frame.columns]
    repeated = frame[frame.duplicated(keys, keep=False)]
    if repeated.empty:
        return
    groups = repeated.groupby([repeated[k].astype(str) for k in keys], sort=False).groups
    shown = [f"({', '.join(map(str, key if isinstance(key, tuple) else (key,)))}) in data rows "
             f"{', '.join(str(i + 1) for i in list(rows)[:5])}" for key, rows in list(groups.items())[:3]]
    raise AnalysisError("content", f"{len(groups)} duplicate ({', '.join(keys)}) keys, e.g. " + "; ".join(shown))


def import_ratings_file(
    store: Store,
    source: str | Path | bytes,
    *,
    dataset: str | None = None,
    batch_id: str | None = None,
    fmt: Literal["csv", "jsonl"] | None = None,
    layout: Literal["long", "wide"] = "long",
    columns: Columns | None = None,
    attributes: Mapping[str, str] | Sequence[str] | None = None,
    rater: str | None = None,
    kind: Kind = "human",
    families: Mapping[str, str] | None = None,
    paper_compatible: bool = False,
    drop_empty_responses: bool = True,
    scale: tuple[float, float] | None = None,
    protocol: str | None = None,
    description: str = "",
    owner: str = "local",
) -> ImportRecord:
    """Import a CSV or JSONL file (long or wide, several raters per item) into a dataset or onto a batch.

    A rater imported again into the same dataset or batch replaces its earlier ratings there.

    Args:
        store: The store.
        source: A file path, or the file's bytes (then ``fmt`` is required).
        dataset: Named dataset (created on first import; targets become ``dataset:target``).
        batch_id: Or a batch: targets must be its candidates, ``item_id:candidate_id`` (a ``target``
            column, or ``item_id`` and ``candidate_id`` columns).
        fmt: "csv" or "jsonl"; inferred from the file suffix when None.
        layout: "long" (one row per rating) or "wide" (one column per attribute).
        columns: Source column names (see :class:`council.ratings.Columns`).
        attributes: Wide layout: the attribute columns (list, or source name -> attribute id).
        rater: Constant rater id when the file has no rater column.
        kind: "human" or "external" (another judge's scores); applies to every rater in the file.
        families: rater -> model family (self-preference and self-family exclusion).
        paper_compatible: Report counts keeping every value as given (storage keeps them anyway).
        drop_empty_responses: Default hygiene drops items whose ``columns.empty_flag`` is true.
        scale: Rating scale of a new dataset without protocol (default 1–5).
        protocol: Protocol id giving a new dataset its scale, attributes and composites.
        description: Dataset description.
        owner: Owner of the ratings (the service's API key; "local" for the CLI).

    Returns:
        :class:`~council.analysis.records.ImportRecord` with the importer's report.

    Raises:
        AnalysisError: Naming the field: a missing column, an unknown attribute or target, a bad format.
        NotFoundError: If the batch does not exist for this owner.

    """
    scope = resolve_scope(store, batch_id=batch_id, owner=owner) if batch_id is not None else None
    if (dataset is None) == (batch_id is None):
        raise AnalysisError("dataset", "give exactly one of dataset or batch_id")
    if scope is not None:
        scale_, allowed, composites = scope.scale, scope.attributes, scope.composites
    else:
        scale_, allowed, composites = _dataset_setup(store, str(dataset), owner, protocol, scale)
    families = dict(families or {})
    with tempfile.TemporaryDirectory() as tmp:
        path = _as_path(source, fmt, Path(tmp))
        cols = _resolve_columns(path, fmt, scope, columns, rater)

        def run(h: Hygiene) -> ImportResult:
            try:
                return import_ratings(
                    path,
                    layout=layout,
                    fmt=fmt,
                    columns=cols,
                    attributes=attributes,
                    rater=rater,
                    dataset=dataset,
                    hygiene=h,
                )
            except RatingsFileError as e:
                raise AnalysisError("content", str(e)) from e
            except KeyError as e:
                raise AnalysisError("columns", f"column {e} not in file") from e
            except ValueError as e:
                raise AnalysisError("columns", str(e)) from e

        given = run(Hygiene(scale_min=scale_[0], scale_max=scale_[1], paper_compatible=True))
        default = run(
            Hygiene(scale_min=scale_[0], scale_max=scale_[1], drop_empty_responses=drop_empty_responses)
        )
    report = given if paper_compatible else default
    if isinstance(source, bytes):  # the report names the upload, not the temporary file it was parsed from
        report = report._replace(report=report.report.model_copy(update={"source": "<upload>"}))
    if given.frame.empty:
        raise AnalysisError("source", "no ratings in the file")
    _check_duplicates(given.frame)
    unknown = sorted(set(given.frame["attribute"]) - set(allowed)) if allowed is not None else []
    if unknown:
        raise AnalysisError("attribute", f"{unknown} not in the attributes {allowed}")
    if scope is not None:
        _check_batch(given, scope, store)
    dropped = set(given.frame["target"]) - set(default.frame["target"])
    excluded = {t: "empty_response" for t in dropped}
    raters = given.frame["rater"].unique()
    kinds = {r: kind for r in raters}
    fams = {r: families.get(r, "human" if kind == "human" else None) for r in raters}
    import_id = db.new_id("imp")
    frame = storage_frame(
        given,
        owner=owner,
        dataset=dataset,
        batch_id=batch_id,
        import_id=import_id,
        kinds=kinds,
        families=fams,
        scale=scale_,
        excluded=excluded,
    )
    if dataset is not None:
        attrs = list(dict.fromkeys(allowed or given.frame["attribute"].tolist()))
        db.upsert_dataset(
            store,
            owner,
            dataset,
            description=description,
            protocol_id=protocol,
            scale=scale_,
            attributes=attrs,
            composites=composites,
            meta={},
        )
    return store_import(
        store,
        frame,
        report,
        import_id=import_id,
        owner=owner,
        dataset=dataset,
        batch_id=batch_id,
        source=str(source) if not isinstance(source, bytes) else "<upload>",
        excluded=excluded,
    )
