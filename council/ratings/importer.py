"""Import human and external-judge ratings (CSV or JSONL, long or wide) into a tidy frame.

Nothing is dropped or kept silently: every rating cell lands in exactly one count of the
:class:`ImportReport` (kept, out of scale, blank, non-numeric, dropped item) per rater × attribute.
No database writes happen here; the store layer persists the returned frame.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

_BLANKS = frozenset({"", "na", "n/a", "nan", "null", "none"})
_OUTCOMES = ("kept", "out_of_scale", "out_of_scale_kept", "blank", "non_numeric", "dropped_item")


class Hygiene(BaseModel):
    """How to treat suspicious values.

    The default treats values outside the scale (0 or 6 on 1–5) as missing and drops items flagged
    as empty responses. ``paper_compatible=True`` keeps every value as given and drops nothing,
    which reproduces analyses that used the raw files.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    scale_min: float = Field(1, description="Lowest valid score.")
    scale_max: float = Field(5, description="Highest valid score.")
    out_of_scale: Literal["missing", "keep"] = Field(
        "missing", description="Treat out-of-scale values as NaN or keep."
    )
    drop_empty_responses: bool = Field(True, description="Drop items whose empty-response flag is true.")
    paper_compatible: bool = Field(False, description="Keep every value as given; overrides the two above.")

    @property
    def keeps_out_of_scale(self) -> bool:
        """Whether out-of-scale numbers stay in the frame."""
        return self.paper_compatible or self.out_of_scale == "keep"

    @property
    def drops_empty(self) -> bool:
        """Whether empty-response items are dropped."""
        return self.drop_empty_responses and not self.paper_compatible


class Columns(BaseModel):
    """Column names of the source file (long layout uses rater/attribute/score; wide uses attributes)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    target: str | list[str] = Field(
        "target", description="Column(s) identifying the rated object; joined by ':'."
    )
    rater: str | None = Field("rater", description="Rater column; None with a constant ``rater``.")
    attribute: str = "attribute"
    score: str = "score"
    context: str | None = None
    responder: str | None = None
    length: str | None = None
    sample: str | None = None
    empty_flag: str | None = Field(None, description="Boolean column marking empty responses.")


class RaterAttributeCounts(BaseModel):
    """What happened to the ratings of one rater on one attribute."""

    model_config = ConfigDict(frozen=True)

    rater: str
    attribute: str
    kept: int = 0
    out_of_scale: int = Field(0, description="Out-of-scale values turned into NaN.")
    out_of_scale_kept: int = Field(0, description="Out-of-scale values kept as given (paper_compatible).")
    blank: int = Field(0, description="Empty, null or missing cells.")
    non_numeric: int = Field(0, description="Cells that are not numbers (kept as NaN).")
    dropped_item: int = Field(0, description="Ratings removed with a dropped item (empty response, ...).")

    @property
    def total(self) -> int:
        """All cells seen."""
        return sum(getattr(self, o) for o in _OUTCOMES)


class ImportReport(BaseModel):
    """Counts per rater × attribute plus dropped items and notes."""

    model_config = ConfigDict(frozen=True)

    source: str
    dataset: str | None = None
    hygiene: Hygiene
    n_items: int = Field(description="Items (targets) in the returned frame.")
    n_items_dropped: dict[str, int] = Field(default_factory=dict, description="reason -> dropped items.")
    counts: list[RaterAttributeCounts]
    notes: list[str] = Field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """Return the counts as a DataFrame (one row per rater × attribute)."""
        return pd.DataFrame([c.model_dump() for c in self.counts])


class ImportResult(NamedTuple):
    """The tidy frame and the report of what was kept and dropped."""

    frame: pd.DataFrame
    report: ImportReport


class RatingsFileError(ValueError):
    """The ratings file itself is malformed (bad CSV quoting, a row with extra fields, a line that is not JSON)."""


def _check_csv(path: Path) -> None:
    """Strict CSV: quotes closed, and every row as wide as the header (pandas would silently shift columns)."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, strict=True)
        width = None
        for row in reader:
            if not row:
                continue
            if width is None:
                width = len(row)
            elif len(row) != width:
                raise RatingsFileError(f"not valid CSV: line {reader.line_num} has {len(row)} fields, the header "
                                       f"{width}")


def _read_jsonl(path: Path) -> pd.DataFrame:
    records = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise RatingsFileError(f"line {n} is not valid JSON ({e.msg}, column {e.colno})") from e
            if not isinstance(record, dict):
                raise RatingsFileError(f"line {n} is not a JSON object")
            nested = [k for k, v in record.items() if isinstance(v, dict | list)]
            if nested:
                raise RatingsFileError(f"line {n}: field {str(nested[0])[:50]!r} is not text or a number")
            records.append(record)
    return pd.DataFrame(records, dtype=object)


def read_table(path: str | Path, fmt: Literal["csv", "jsonl"] | None = None) -> pd.DataFrame:
    """Read a CSV or JSONL file with every column as raw objects (no type guessing on scores).

    Raises:
        RatingsFileError: When the file is malformed (naming the line where it can).
        ValueError: On an unknown format.

    """
    path = Path(path)
    fmt = fmt or (
        "jsonl"
        if path.suffix.lower() in (".jsonl", ".ndjson")
        else "csv"
        if path.suffix.lower() == ".csv"
        else None
    )
    try:
        if fmt == "csv":
            _check_csv(path)
            return pd.read_csv(path, dtype=object, keep_default_na=False, index_col=False)
        if fmt == "jsonl":
            return _read_jsonl(path)
    except UnicodeDecodeError as e:
        raise RatingsFileError(f"not UTF-8 text (byte {e.start})") from e
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as e:
        detail = str(e).replace("Error tokenizing data. C error: ", "").strip()
        raise RatingsFileError(f"not valid CSV: {detail}") from e
    raise ValueError(f"cannot infer format of {path.name}; pass fmt='csv' or 'jsonl'")


def classify_scores(raw: pd.Series, hygiene: Hygiene) -> tuple[np.ndarray, np.ndarray]:
    """Parse raw score cells into floats and an outcome label per cell (see the report fields).

    Blank: None, NaN, empty or "na"/"null"-like strings. Non-numeric: anything else that is not a
    finite number (booleans included). Numbers outside the scale are NaN unless the hygiene keeps them.
    """
    obj = raw.astype(object).reset_index(drop=True)
    kinds = [type(v) for v in obj.to_numpy()]
    is_str = np.fromiter((t is str for t in kinds), dtype=bool, count=len(kinds))
    is_bool = np.fromiter((t is bool or t is np.bool_ for t in kinds), dtype=bool, count=len(kinds))
    blank = obj.isna().to_numpy().copy()
    if is_str.any():
        blank[is_str] = obj[is_str].str.strip().str.lower().isin(_BLANKS).to_numpy()
    num = pd.to_numeric(obj.where(~is_bool, None), errors="coerce").to_numpy(dtype=float)
    finite = np.isfinite(num) & ~blank & ~is_bool
    inside = finite & (num >= hygiene.scale_min) & (num <= hygiene.scale_max)
    outside = finite & ~inside
    outcome = np.full(len(obj), "non_numeric", dtype=object)
    outcome[blank] = "blank"
    outcome[inside] = "kept"
    outcome[outside] = "out_of_scale_kept" if hygiene.keeps_out_of_scale else "out_of_scale"
    values = np.where(inside | (outside & hygiene.keeps_out_of_scale), num, np.nan)
    return values, outcome


def tidy_from_long(
    raw: pd.DataFrame,
    hygiene: Hygiene,
    *,
    source: str,
    dataset: str | None = None,
    drop_masks: Mapping[str, pd.Series] | None = None,
    notes: Sequence[str] = (),
) -> ImportResult:
    """Turn a raw long frame (target, rater, attribute, raw score, optional info) into the result.

    Args:
        raw: Columns ``target``, ``rater``, ``attribute``, ``score`` (raw cells) and optional
            ``context``, ``responder``, ``length``, ``sample``, family columns.
        hygiene: Value treatment.
        source: Where the data came from (for the report).
        dataset: Dataset name, prefixed to targets when given.
        drop_masks: reason -> boolean Series over ``raw`` rows to drop (applied in order; a row is
            counted under its first reason).
        notes: Free-text remarks for the report.

    Returns:
        :class:`ImportResult`.

    """
    raw = raw.reset_index(drop=True)
    values, outcome = classify_scores(raw["score"], hygiene)
    dropped = pd.Series(False, index=raw.index)
    n_items_dropped: dict[str, int] = {}
    for reason, mask in (drop_masks or {}).items():
        new = mask.reindex(raw.index, fill_value=False).astype(bool) & ~dropped
        n_items_dropped[reason] = int(raw.loc[new, "target"].nunique())
        dropped |= new
    outcome[dropped.to_numpy()] = "dropped_item"
    counts = (
        pd.DataFrame({"rater": raw["rater"], "attribute": raw["attribute"], "o": outcome})
        .groupby(["rater", "attribute", "o"])
        .size()
        .unstack(fill_value=0)
    )
    report_counts = [
        RaterAttributeCounts(rater=str(r), attribute=str(a), **{o: int(row.get(o, 0)) for o in _OUTCOMES})
        for (r, a), row in counts.iterrows()
    ]
    frame = raw.assign(score=values)[~dropped.to_numpy()].reset_index(drop=True)
    if dataset:
        frame["target"] = dataset + ":" + frame["target"].astype(str)
    report = ImportReport(
        source=source,
        dataset=dataset,
        hygiene=hygiene,
        n_items=int(frame["target"].nunique()),
        n_items_dropped=n_items_dropped,
        counts=report_counts,
        notes=list(notes),
    )
    return ImportResult(frame, report)


def _target_ids(tab: pd.DataFrame, target: str | list[str]) -> pd.Series:
    cols = [target] if isinstance(target, str) else list(target)
    missing = [c for c in cols if c not in tab.columns]
    if missing:
        raise ValueError(f"target column(s) {missing} not in file")
    return tab[cols].astype(str).agg(":".join, axis=1)


def import_ratings(
    path: str | Path,
    *,
    layout: Literal["long", "wide"] = "long",
    fmt: Literal["csv", "jsonl"] | None = None,
    columns: Columns | None = None,
    attributes: Mapping[str, str] | Sequence[str] | None = None,
    rater: str | None = None,
    dataset: str | None = None,
    hygiene: Hygiene | None = None,
) -> ImportResult:
    """Import ratings from a CSV or JSONL file into a tidy frame and an :class:`ImportReport`.

    Args:
        path: The file.
        layout: "long" (one row per rating) or "wide" (one column per attribute).
        fmt: "csv" or "jsonl"; inferred from the suffix when None.
        columns: Source column names.
        attributes: Wide layout: attribute columns (a list, or source name -> attribute id). Long
            layout: optional mapping of source attribute names to ids. Ids are lower-cased.
        rater: Constant rater id when the file has no rater column.
        dataset: Named dataset the targets belong to (prefix ``dataset:``); None for candidate ids.
        hygiene: Value treatment; default :class:`Hygiene()`.

    Returns:
        :class:`ImportResult` (frame, report).

    Raises:
        ValueError: On a missing column, a missing rater specification or a bad layout.

    Example:
        >>> res = import_ratings("human.csv", layout="wide", attributes=["Empathy", "Safety"],
        ...                      columns=Columns(target=["conv_id", "responder"], rater=None),
        ...                      rater="human_expert")  # doctest: +SKIP

    """
    columns, hygiene = columns or Columns(), hygiene or Hygiene()
    tab = read_table(path, fmt)
    if columns.rater is None and rater is None:
        raise ValueError("give a rater column or a constant rater id")
    base = pd.DataFrame({"target": _target_ids(tab, columns.target)})
    base["rater"] = tab[columns.rater].astype(str) if columns.rater else rater
    for name in ("context", "responder", "length", "sample"):
        src = getattr(columns, name)
        if src is not None:
            if src not in tab.columns:
                raise ValueError(f"{name} column {src!r} not in file")
            base[name] = (
                pd.to_numeric(tab[src], errors="coerce") if name in ("length", "sample") else tab[src]
            )
    if layout == "wide":
        if not attributes:
            raise ValueError("wide layout needs the attribute columns")
        amap = dict(attributes) if isinstance(attributes, Mapping) else {a: a for a in attributes}
        parts = [base.assign(attribute=aid.lower(), score=tab[src]) for src, aid in amap.items()]
        flags = [tab[columns.empty_flag] for _ in amap] if columns.empty_flag else None
        raw = pd.concat(parts, ignore_index=True)
    elif layout == "long":
        amap = dict(attributes) if isinstance(attributes, Mapping) else {}
        attr = tab[columns.attribute].astype(str)
        raw = base.assign(attribute=attr.map(lambda a: amap.get(a, a).lower()), score=tab[columns.score])
        flags = [tab[columns.empty_flag]] if columns.empty_flag else None
    else:
        raise ValueError(f"layout must be 'long' or 'wide', got {layout!r}")
    masks = {}
    if flags is not None and hygiene.drops_empty:
        flag = (
            pd.concat(flags, ignore_index=True).astype(str).str.strip().str.lower().isin(["true", "1", "yes"])
        )
        masks["empty_response"] = flag
    return tidy_from_long(raw, hygiene, source=str(path), dataset=dataset, drop_masks=masks)
