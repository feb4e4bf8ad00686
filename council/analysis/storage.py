"""Shared by the importers: importer frames to ``ratings`` rows, and writing one import with its report."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from council.analysis.records import ImportRecord
from council.ratings import ImportResult
from council.store import analysis_store as db
from council.store.store import Store

__all__ = ["storage_frame", "store_import"]


def storage_frame(
    res: ImportResult,
    *,
    owner: str,
    dataset: str | None,
    batch_id: str | None,
    import_id: str,
    kinds: Mapping[str, str],
    families: Mapping[str, str | None],
    scale: tuple[float, float],
    excluded: Mapping[str, str],
) -> pd.DataFrame:
    """Turn an importer frame (values as given) into rows of the ``ratings`` table."""
    f = res.frame
    score = f["score"].astype(float)

    def col(name: str) -> pd.Series | None:
        return f[name] if name in f.columns else None

    fam = col("rater_family")
    return pd.DataFrame(
        {
            "owner": owner,
            "dataset": dataset,
            "batch_id": batch_id,
            "target": f["target"].astype(str),
            "rater": f["rater"].astype(str),
            "rater_kind": f["rater"].map(kinds),
            "family": fam if fam is not None else f["rater"].map(lambda r: families.get(r)),
            "attribute": f["attribute"].astype(str),
            "score": score,
            "out_of_scale": ((score < scale[0]) | (score > scale[1])).fillna(False).astype(bool),
            "excluded": f["target"].map(dict(excluded)),
            "context": (col("context") if col("context") is not None else f["target"]).astype(str),
            "responder": col("responder"),
            "responder_family": col("responder_family"),
            "length": pd.to_numeric(col("length"), errors="coerce") if col("length") is not None else None,
            "sample": pd.to_numeric(col("sample"), errors="coerce").fillna(0).astype(int)
            if col("sample") is not None
            else 0,
            "import_id": import_id,
        }
    )


def store_import(
    store: Store,
    frame: pd.DataFrame,
    res: ImportResult,
    *,
    import_id: str,
    owner: str,
    dataset: str | None,
    batch_id: str | None,
    source: str,
    excluded: Mapping[str, str],
) -> ImportRecord:
    """Write the rows and the import's report; return the :class:`ImportRecord`."""
    created = db.now()
    n = db.replace_ratings(
        store,
        frame,
        {
            "import_id": import_id,
            "owner": owner,
            "dataset": dataset,
            "batch_id": batch_id,
            "source": source,
            "report": res.report.model_dump_json(),
            "created_at": created,
        },
    )
    reasons = pd.Series(list(excluded.values()), dtype=object)
    return ImportRecord(
        import_id=import_id,
        owner=owner,
        dataset=dataset,
        batch_id=batch_id,
        source=source,
        raters=sorted(frame["rater"].unique().tolist()),
        n_ratings=n,
        excluded_targets={str(k): int(v) for k, v in reasons.value_counts().items()},
        report=res.report,
        created_at=created,
    )
