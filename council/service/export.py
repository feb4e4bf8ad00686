"""A batch's results as JSON, CSV or Parquet pages; CSV cells a spreadsheet would run as a formula are neutralised.

The OWASP rule for CSV injection: a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return gets a leading single quote, so spreadsheets show it as text. Numbers are left alone
(a negative score stays a number); only text cells — ids, responder names, reasons — are touched.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from council.results import encode_results, results_table
from council.store.store import Store

__all__ = ["FORMULA_PREFIXES", "neutralise_cell", "neutralise_formulas", "results_page"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """The cell, with a leading ``'`` when it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of the table whose text cells cannot start a formula (column names included)."""
    out = table.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise_cell, na_action="ignore")
    out.columns = [neutralise_cell(c) for c in out.columns]
    return out


def results_page(store: Store, batch_id: str, fmt: str, traces: bool, limit: int,
                 offset: int) -> tuple[str, bytes, int | None]:
    """``limit`` rows of the results table from ``offset``: (media type, content, next page's offset or None)."""
    full = results_table(store, batch_id)
    table = full.iloc[offset:offset + limit]
    next_offset = offset + limit if offset + limit < len(full) else None
    if fmt == "csv":
        table = neutralise_formulas(table)
    media, content = encode_results(store, batch_id, table, fmt, traces, {"next_offset": next_offset})
    return media, content, next_offset
