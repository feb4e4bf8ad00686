"""Import human pairwise preferences (CSV or JSONL) onto a batch: read, validate against its candidates, store.

One row is one human's preference between two candidates of one context::

    item_id, candidate_a, candidate_b, preference[, attribute][, rater]
    item_id, responder_a, responder_b, preference[, attribute][, rater]

- ``candidate_a`` / ``candidate_b``: candidate ids of the batch item; or ``responder_a`` / ``responder_b``: the
  responders (model or person) that wrote them, each naming exactly one candidate of the item. With both, the
  candidate ids decide and the responders must match them.
- ``preference``: ``A`` (candidate_a is better), ``B`` (candidate_b is better) or ``tie``, case-insensitive.
  Nothing else is accepted (no 1/2/0: whether 0 means "a" or "tie" differs between tools). A blank preference
  ("", na, null, none) is a skipped pair: counted in the import report, not stored.
- ``attribute``: ``overall`` (default, also for a blank cell) or an attribute id of the batch's protocol.
- ``rater``: the human's id; or give one constant rater for the whole file (it overrides a rater column).

Every other problem is an error naming the field and the data rows (1 = the first row after a CSV header),
raised before anything is written: unknown item or candidate, a pair of a candidate with itself, a responder
naming no or several candidates, a rater named like a judge of the batch's council, the same rater rating the
same unordered pair on the same attribute twice. Importing a (rater, attribute) again replaces its earlier
preferences on the batch; nothing else is touched.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from council.analysis.errors import AnalysisError
from council.analysis.scope import resolve_scope
from council.pairwise.types import OVERALL
from council.ratings.importer import RatingsFileError, read_table
from council.store import analysis_store
from council.store.human_pairs_store import replace_human_pairs
from council.store.store import Store

__all__ = ["HumanPairImport", "PairImportCounts", "import_human_pairs", "validate_preferences"]

_BLANKS = frozenset({"", "na", "n/a", "nan", "null", "none"})
_PREFERENCES = {"a": "A", "b": "B", "tie": "tie"}
_SHOWN = 3


class PairImportCounts(BaseModel):
    """What happened to one rater's rows on one attribute."""

    model_config = ConfigDict(frozen=True)

    rater: str
    attribute: str
    kept: int = Field(description="Preferences stored.")
    blank: int = Field(description="Rows with a blank preference (a skipped pair): counted, not stored.")


class HumanPairImport(BaseModel):
    """The record of one import of human pairwise preferences."""

    model_config = ConfigDict(frozen=True)

    import_id: str
    owner: str
    batch_id: str
    source: str
    raters: list[str]
    attributes: list[str]
    n_rows: int = Field(description="Data rows in the file.")
    n_preferences: int = Field(description="Preferences stored (rows minus blank preferences).")
    n_replaced: int = Field(description="Earlier preferences of the same (rater, attribute) that were replaced.")
    n_pairs: int = Field(description="Distinct (context, attribute, unordered pair) units with a preference.")
    counts: list[PairImportCounts]
    imported_at: datetime


def _cells(raw: pd.DataFrame, column: str) -> pd.Series:
    """The column's cells as stripped text, None for blank or missing ones (None column: all None)."""
    if column not in raw.columns:
        return pd.Series([None] * len(raw), index=raw.index, dtype=object)

    def cell(v: object) -> str | None:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        text = str(v).strip()
        return None if text.lower() in _BLANKS else text

    return pd.Series([cell(v) for v in raw[column].to_numpy(object)], index=raw.index, dtype=object)


def _fail(field: str, mask: pd.Series, what: str, shown: pd.Series | None = None) -> None:
    """Raise an AnalysisError naming ``field`` and the first data rows where ``mask`` holds."""
    if not mask.any():
        return
    rows = mask[mask].index[:_SHOWN]
    where = ", ".join(f"data row {i + 1}" + (f" ({str(shown[i])[:60]!r})" if shown is not None else "")
                      for i in rows)
    raise AnalysisError(field, f"{int(mask.sum())} rows {what}, e.g. {where}")


def _resolve_sides(raw: pd.DataFrame, frame: pd.DataFrame, candidates: pd.DataFrame) -> pd.DataFrame:
    """Fill candidate_a/b and responder_a/b from whichever columns the file has, checked against the batch."""
    has = {c: c in raw.columns for c in ("candidate_a", "candidate_b", "responder_a", "responder_b")}
    by_id = {(i, c): r for i, c, r in zip(candidates["item_id"], candidates["candidate_id"],
                                          candidates["responder"], strict=True)}
    by_responder = candidates.groupby(["item_id", "responder"])["candidate_id"].agg(list).to_dict()
    if has["candidate_a"] or has["candidate_b"]:
        for side in ("a", "b"):
            col = f"candidate_{side}"
            if not has[col]:
                raise AnalysisError(col, f"the file has candidate_{'b' if side == 'a' else 'a'} but no {col} column")
            cand = frame[col]
            _fail(col, cand.isna(), "have no candidate id")
            known = pd.Series([(i, c) in by_id for i, c in zip(frame["item_id"], cand, strict=True)], index=frame.index)
            _fail(col, ~known, "name a candidate id that is not a candidate of that item", cand)
            resp = pd.Series([by_id[(i, c)] for i, c in zip(frame["item_id"], cand, strict=True)], index=frame.index)
            given = frame[f"responder_{side}"]
            _fail(f"responder_{side}", given.notna() & (given != resp),
                  f"name a responder that did not write candidate_{side}", given)
            frame[f"responder_{side}"] = resp
        return frame
    if not (has["responder_a"] and has["responder_b"]):
        raise AnalysisError("candidate_a", "give candidate_a and candidate_b columns (candidate ids), or "
                                           "responder_a and responder_b (responder names)")
    for side in ("a", "b"):
        col = f"responder_{side}"
        resp = frame[col]
        _fail(col, resp.isna(), "have no responder")
        found = [by_responder.get((i, r), []) for i, r in zip(frame["item_id"], resp, strict=True)]
        _fail(col, pd.Series([len(f) == 0 for f in found], index=frame.index),
              "name a responder with no candidate in that item", resp)
        _fail(col, pd.Series([len(f) > 1 for f in found], index=frame.index),
              "name a responder with several candidates in that item (give candidate ids)", resp)
        frame[f"candidate_{side}"] = [f[0] for f in found]
    return frame


def validate_preferences(raw: pd.DataFrame, candidates: pd.DataFrame, *, attributes: list[str],
                         judges: list[str], rater: str | None = None) -> tuple[pd.DataFrame, list[PairImportCounts]]:
    """Check a raw preference table against a batch and return the rows to store and the counts.

    Args:
        raw: The file as read (every cell raw text or JSON scalar).
        candidates: The batch's candidates: ``item_id``, ``candidate_id``, ``responder``.
        attributes: The protocol's attribute ids (``overall`` is always allowed).
        judges: Ids of the batch's council judges (a human rater may not take one of these names).
        rater: A constant rater id for every row (overrides a ``rater`` column).

    Returns:
        The rows (``item_id, attribute, rater, candidate_a, candidate_b, responder_a, responder_b,
        preference``, blank preferences left out) and the counts per rater × attribute.

    Raises:
        AnalysisError: Naming the field and the first offending data rows (see the module docstring).

    """
    if raw.empty:
        raise AnalysisError("content", "no preferences in the file")
    raw = raw.reset_index(drop=True)
    for required in ("item_id", "preference"):
        if required not in raw.columns:
            columns = sorted(map(str, raw.columns))[:20]
            raise AnalysisError(required, f"the file has no {required} column (columns: {columns})")
    frame = pd.DataFrame({c: _cells(raw, c) for c in ("item_id", "candidate_a", "candidate_b", "responder_a",
                                                       "responder_b", "preference", "attribute", "rater")})
    if rater is not None:
        if not rater.strip():
            raise AnalysisError("rater", "the constant rater id is blank")
        frame["rater"] = rater.strip()
    elif "rater" not in raw.columns:
        raise AnalysisError("rater", "the file has no rater column; give one constant rater id")
    _fail("rater", frame["rater"].isna(), "have no rater")
    clash = frame["rater"].isin(judges)
    _fail("rater", clash, "name a judge of this batch's council as the rater (import humans under other names)",
          frame["rater"])
    _fail("item_id", frame["item_id"].isna(), "have no item_id")
    _fail("item_id", ~frame["item_id"].isin(set(candidates["item_id"])), "name an item that is not in the batch",
          frame["item_id"])
    frame["attribute"] = frame["attribute"].fillna(OVERALL).str.lower()
    allowed = {OVERALL, *attributes}
    _fail("attribute", ~frame["attribute"].isin(allowed),
          f"name an attribute that is neither 'overall' nor one of the protocol's {sorted(attributes)}",
          frame["attribute"])
    pref = frame["preference"].map(lambda v: None if v is None else _PREFERENCES.get(v.lower(), "?"))
    _fail("preference", pref == "?", "have a preference other than A, B or tie", frame["preference"])
    frame["preference"] = pref
    frame = _resolve_sides(raw, frame, candidates)
    _fail("candidate_b", frame["candidate_a"] == frame["candidate_b"],
          "compare a candidate with itself", frame["candidate_a"])
    blank = frame["preference"].isna()
    kept = frame[~blank]
    a, b = kept["candidate_a"], kept["candidate_b"]
    lo, hi = a.where(a <= b, b), b.where(a <= b, a)
    key = kept.assign(_lo=lo, _hi=hi)[["rater", "attribute", "item_id", "_lo", "_hi"]]
    repeated = key.duplicated(keep=False)
    _fail("content", repeated.reindex(frame.index, fill_value=False),
          "rate the same unordered pair twice for one rater and attribute (keep one preference per pair)",
          frame["rater"] + " " + frame["item_id"] + " " + frame["candidate_a"] + "/" + frame["candidate_b"])
    counts = (frame.assign(blank=blank).groupby(["rater", "attribute"], sort=True)["blank"]
              .agg(["size", "sum"]))
    report = [PairImportCounts(rater=str(r), attribute=str(a), kept=int(n - b), blank=int(b))
              for (r, a), (n, b) in counts.iterrows()]
    columns = ["item_id", "attribute", "rater", "candidate_a", "candidate_b", "responder_a", "responder_b",
               "preference"]
    return kept[columns].reset_index(drop=True), report


def _read(source: str | Path | bytes, fmt: Literal["csv", "jsonl"] | None) -> pd.DataFrame:
    try:
        if isinstance(source, bytes):
            if fmt not in ("csv", "jsonl"):
                raise AnalysisError("format", "give format 'csv' or 'jsonl' for uploaded bytes")
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / f"upload.{fmt}"
                path.write_bytes(source)
                return read_table(path, fmt)
        path = Path(source)
        if not path.is_file():
            raise AnalysisError("path", f"{path} is not a file")
        return read_table(path, fmt)
    except RatingsFileError as e:
        raise AnalysisError("content", str(e)) from e
    except ValueError as e:
        if isinstance(e, AnalysisError):
            raise
        raise AnalysisError("format", str(e)) from e


def import_human_pairs(store: Store, source: str | Path | bytes, *, batch_id: str,
                       fmt: Literal["csv", "jsonl"] | None = None, rater: str | None = None,
                       owner: str = "local") -> HumanPairImport:
    """Import a CSV or JSONL file of human pairwise preferences onto one of the owner's batches.

    Args:
        store: The store.
        source: A file path, or the file's bytes (then ``fmt`` is required).
        batch_id: The batch whose candidates were compared.
        fmt: "csv" or "jsonl"; from the file suffix when None.
        rater: A constant rater id for every row (else the ``rater`` column).
        owner: Owner of the batch ("local" for the CLI, the API key's owner in the service).

    Returns:
        :class:`HumanPairImport` (counts, replaced rows, raters).

    Raises:
        NotFoundError: The owner has no such batch (another owner's batch is "not found" too).
        AnalysisError: Naming the field and rows; nothing is written then.

    """
    scope = resolve_scope(store, batch_id=batch_id, owner=owner)
    raw = _read(source, fmt)
    candidates = store.query("SELECT item_id, candidate_id, responder FROM candidates WHERE batch_id = ?", [batch_id])
    rows, counts = validate_preferences(raw, candidates, attributes=scope.attributes, judges=scope.council_judges,
                                        rater=rater)
    if rows.empty:
        raise AnalysisError("preference", f"all {len(raw)} rows have a blank preference; nothing to import")
    import_id, now = analysis_store.new_id("hpi"), analysis_store.now()
    name = "<upload>" if isinstance(source, bytes) else str(source)
    written, replaced = replace_human_pairs(store, rows, owner=owner, batch_id=batch_id, source=name,
                                            import_id=import_id, imported_at=now)
    pairs = {(i, a, *sorted((x, y))) for i, a, x, y in zip(rows["item_id"], rows["attribute"], rows["candidate_a"],
                                                            rows["candidate_b"], strict=True)}
    return HumanPairImport(import_id=import_id, owner=owner, batch_id=batch_id, source=name,
                           raters=sorted(rows["rater"].unique()), attributes=sorted(rows["attribute"].unique()),
                           n_rows=len(raw), n_preferences=written, n_replaced=replaced, n_pairs=len(pairs),
                           counts=counts, imported_at=now)
