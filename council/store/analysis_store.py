"""Store functions for ratings, reports and calibrations (tables of migration 003).

Plain functions over a :class:`~council.store.store.Store`: SQL lives here, the analysis layer
(:mod:`council.analysis`) decides what to write. Every read filters by owner.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd

from council.store.store import Store

__all__ = [
    "RATING_COLUMNS",
    "batch_row",
    "dataset_row",
    "list_rows",
    "new_id",
    "now",
    "read_judgments",
    "read_ratings",
    "replace_ratings",
    "report_records",
    "save_calibration",
    "save_report",
    "upsert_dataset",
    "write_calibrated",
]

RATING_COLUMNS: tuple[str, ...] = (
    "owner",
    "dataset",
    "batch_id",
    "target",
    "rater",
    "rater_kind",
    "family",
    "attribute",
    "score",
    "out_of_scale",
    "excluded",
    "context",
    "responder",
    "responder_family",
    "length",
    "sample",
    "import_id",
    "seq",
)
_RECORD_COLUMNS = (
    "rater",
    "reference",
    "attribute",
    "level",
    "statistic",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "k",
    "ci_method",
    "p_value",
    "extra",
)


def now() -> datetime:
    """Return the current UTC time."""
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """Return a fresh random id such as ``rep_0123456789abcdef``."""
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


@contextmanager
def _registered(db: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> Iterator[str]:
    db.register(name, frame)
    try:
        yield name
    finally:
        db.unregister(name)


def _row(store: Store, sql: str, params: list[Any]) -> dict[str, Any] | None:
    df = store.query(sql, params)
    return None if df.empty else df.iloc[0].to_dict()


def dataset_row(store: Store, owner: str, name: str) -> dict[str, Any] | None:
    """Return the dataset's row, or None when this owner has no such dataset."""
    return _row(store, "SELECT * FROM datasets WHERE owner = ? AND name = ?", [owner, name])


def batch_row(store: Store, batch_id: str) -> dict[str, Any] | None:
    """Return a batch's owner, council JSON, calibration id and protocol document, or None."""
    return _row(
        store,
        """
        SELECT b.batch_id, b.owner, b.council, b.calibration_id, b.status, p.document AS protocol
        FROM batches b JOIN protocols p USING (protocol_hash) WHERE b.batch_id = ?""",
        [batch_id],
    )


def upsert_dataset(
    store: Store,
    owner: str,
    name: str,
    *,
    description: str,
    protocol_id: str | None,
    scale: tuple[float, float],
    attributes: Sequence[str],
    composites: dict[str, list[str]],
    meta: dict[str, Any],
) -> None:
    """Create the dataset, or extend an existing one with new attributes (description kept unless given)."""
    with store.transaction() as db:
        row = db.execute(
            "SELECT attributes, description FROM datasets WHERE owner = ? AND name = ?", [owner, name]
        ).fetchone()
        if row is None:
            db.execute(
                "INSERT INTO datasets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    owner,
                    name,
                    description,
                    protocol_id,
                    scale[0],
                    scale[1],
                    _json(list(attributes)),
                    _json(composites),
                    _json(meta),
                    now(),
                    now(),
                ],
            )
            return
        known = json.loads(row[0])
        merged = known + [a for a in attributes if a not in known]
        db.execute(
            "UPDATE datasets SET attributes = ?, description = ?, updated_at = ? "
            "WHERE owner = ? AND name = ?",
            [_json(merged), description or row[1], now(), owner, name],
        )


def replace_ratings(store: Store, frame: pd.DataFrame, import_row: dict[str, Any]) -> int:
    """Store one import: its raters' earlier ratings in the same scope are replaced; return rows written.

    ``frame`` has every :data:`RATING_COLUMNS` column except ``seq`` (assigned here, keeping file order).
    """
    scope_col, scope = (
        ("dataset", import_row["dataset"]) if import_row["dataset"] else ("batch_id", import_row["batch_id"])
    )
    raters = sorted(frame["rater"].unique().tolist())
    with store.transaction() as db:
        start = db.execute("SELECT coalesce(max(seq), 0) + 1 FROM ratings").fetchone()[0]
        frame = frame.assign(seq=range(start, start + len(frame)))[list(RATING_COLUMNS)]
        db.execute(
            f"DELETE FROM ratings WHERE owner = ? AND {scope_col} = ? AND list_contains(?, rater)",
            [import_row["owner"], scope, raters],
        )
        with _registered(db, "_new_ratings", frame):
            db.execute(f"INSERT INTO ratings SELECT {', '.join(RATING_COLUMNS)} FROM _new_ratings")
        db.execute(
            "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                import_row["import_id"],
                import_row["owner"],
                import_row["dataset"],
                import_row["batch_id"],
                import_row["source"],
                _json(raters),
                len(frame),
                import_row["report"],
                import_row["created_at"],
            ],
        )
    return len(frame)


def read_ratings(
    store: Store,
    owner: str,
    *,
    dataset: str | None = None,
    batch_id: str | None = None,
    paper_compatible: bool = False,
) -> pd.DataFrame:
    """Read the imported ratings of a dataset or batch as a tidy frame, in import order.

    Default hygiene turns out-of-scale values into NaN and drops targets with an exclusion reason;
    ``paper_compatible`` keeps every value as given.
    """
    scope_col, scope = ("dataset", dataset) if dataset is not None else ("batch_id", batch_id)
    return store.query(
        f"""
        SELECT target, rater, rater_kind, family AS rater_family, attribute,
               CASE WHEN $paper OR NOT out_of_scale THEN score END AS score,
               context, responder, responder_family, length, sample
        FROM ratings WHERE owner = $owner AND {scope_col} = $scope AND ($paper OR excluded IS NULL)
        ORDER BY seq""",
        {"paper": paper_compatible, "owner": owner, "scope": scope},
    )  # type: ignore[arg-type]


def read_judgments(store: Store, batch_id: str) -> pd.DataFrame:
    """Read a batch's judge scores per sample (NaN = abstention) with candidate info, in batch order."""
    return store.query(
        """
        SELECT j.item_id, j.candidate_id, j.judge_id, j.attribute_id, j.sample, j.score,
               c.responder, length(c.text) AS length
        FROM judgments j
        JOIN candidates c USING (batch_id, item_id, candidate_id)
        JOIN items i USING (batch_id, item_id)
        WHERE j.batch_id = ?
        ORDER BY i.position, c.position, j.judge_id, j.attribute_id, j.sample""",
        [batch_id],
    )


def save_report(store: Store, info: dict[str, Any], records: pd.DataFrame) -> None:
    """Store a report row and its flat records (``records`` has the AgreementRecord columns)."""
    rows = records.assign(
        report_id=info["report_id"], position=range(len(records)), extra=records["extra"].map(_json)
    )
    with store.transaction() as db:
        db.execute(
            "INSERT INTO reports VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                info["report_id"],
                info["owner"],
                info["kind"],
                info["dataset"],
                info["batch_id"],
                _json(info["params"]),
                len(records),
                info["created_at"],
            ],
        )
        with _registered(db, "_new_records", rows):
            db.execute(
                f"INSERT INTO report_records SELECT report_id, position, {', '.join(_RECORD_COLUMNS)} "
                "FROM _new_records"
            )


def report_records(store: Store, report_id: str) -> pd.DataFrame:
    """Read a report's records in their stored order (``extra`` as parsed JSON)."""
    df = store.query(
        f"SELECT {', '.join(_RECORD_COLUMNS)} FROM report_records WHERE report_id = ? ORDER BY position",
        [report_id],
    )
    return df.assign(extra=df["extra"].map(json.loads))


def list_rows(store: Store, table: str, owner: str, key: str, value: str | None = None) -> pd.DataFrame:
    """Read rows of ``datasets``, ``reports`` or ``calibrations`` of an owner (optionally one key)."""
    if table not in ("datasets", "reports", "calibrations"):
        raise ValueError(f"unknown table {table!r}")
    where, params = "owner = ?", [owner]
    if value is not None:
        where, params = where + f" AND {key} = ?", [owner, value]
    return store.query(f"SELECT * FROM {table} WHERE {where} ORDER BY created_at DESC", params)


def save_calibration(store: Store, row: dict[str, Any]) -> int:
    """Store a calibration as the next version of its (owner, name); return the version."""
    with store.transaction() as db:
        version = db.execute(
            "SELECT coalesce(max(version), 0) + 1 FROM calibrations WHERE owner = ? AND name = ?",
            [row["owner"], row["name"]],
        ).fetchone()[0]
        db.execute(
            "INSERT INTO calibrations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                row["calibration_id"],
                row["owner"],
                row["name"],
                version,
                row["method"],
                row["kind"],
                row["dataset"],
                row["batch_id"],
                row["training"],
                row["cv"],
                row["parameters"],
                _json(row["raters"]),
                _json(row["attributes"]),
                row["scale"][0],
                row["scale"][1],
                row["created_at"],
            ],
        )
    return int(version)


def write_calibrated(
    store: Store,
    batch_id: str,
    calibration_id: str,
    owner: str,
    *,
    judgments: pd.DataFrame | None,
    council: pd.DataFrame | None,
    report: dict[str, Any],
) -> None:
    """Replace a batch's calibrated scores: per-judgment values and/or the council calibrator's scores.

    Earlier calibrated values of the batch are cleared first, so one calibration is in force at a time.
    ``judgments``: item_id, candidate_id, judge_id, attribute_id, sample, calibrated_score.
    ``council``: item_id, candidate_id, attribute_id, score.
    """
    with store.transaction() as db:
        db.execute(
            "UPDATE judgments SET calibrated_score = NULL "
            "WHERE batch_id = ? AND calibrated_score IS NOT NULL",
            [batch_id],
        )
        db.execute("DELETE FROM council_calibrated WHERE batch_id = ?", [batch_id])
        if judgments is not None and len(judgments):
            with _registered(db, "_calibrated", judgments):
                db.execute(
                    """
                    UPDATE judgments SET calibrated_score = u.calibrated_score FROM _calibrated u
                    WHERE judgments.batch_id = ? AND judgments.item_id = u.item_id
                      AND judgments.candidate_id = u.candidate_id AND judgments.judge_id = u.judge_id
                      AND judgments.attribute_id = u.attribute_id AND judgments.sample = u.sample""",
                    [batch_id],
                )
        if council is not None and len(council):
            with _registered(db, "_council_calibrated", council):
                db.execute(
                    """
                    INSERT INTO council_calibrated
                    SELECT ?, item_id, candidate_id, attribute_id, ?, score, ? FROM _council_calibrated""",
                    [batch_id, calibration_id, now()],
                )
        db.execute(
            "INSERT OR REPLACE INTO calibration_applications VALUES (?, ?, ?, ?, ?)",
            [batch_id, calibration_id, owner, _json(report), now()],
        )
