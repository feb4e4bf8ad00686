"""A batch's results as JSON, CSV or Parquet pages; CSV cells a spreadsheet would run as a formula are neutralised.

The OWASP rule for CSV injection: a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return gets a leading single quote, so spreadsheets show it as text. Numbers are left alone
(a negative score stays a number); only text cells — ids, responder names, reasons — are touched.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pandas as pd

from council.results import candidates, council_scores, judge_scores
from council.store.store import Store

__all__ = ["FORMULA_PREFIXES", "neutralise_cell", "neutralise_formulas", "results_page", "results_table"]

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


def results_table(store: Store, batch_id: str) -> pd.DataFrame:
    """One tidy table of a batch's results: every judge's and the council's score per candidate × attribute."""
    judges = judge_scores(store, batch_id).rename(columns={"judge_id": "rater"})
    judges["status"] = ["abstained" if isinstance(a, str) else "ok" if pd.notna(s) else "incomplete"
                        for a, s in zip(judges.abstention, judges.score, strict=True)]
    council = council_scores(store, batch_id).assign(rater="council", abstention=None)
    columns = ["item_id", "candidate_id", "rater", "attribute", "score", "calibrated_score", "status", "abstention"]
    table = pd.concat([judges[columns], council[columns + ["n_scored", "spread"]]], ignore_index=True)
    meta = candidates(store, batch_id)[["item_id", "candidate_id", "responder"]]
    return meta.merge(table, on=["item_id", "candidate_id"], how="right")


def results_page(store: Store, batch_id: str, fmt: str, traces: bool, limit: int,
                 offset: int) -> tuple[str, bytes, int | None]:
    """``limit`` rows of the results table from ``offset``: (media type, content, next page's offset or None)."""
    full = results_table(store, batch_id)
    table = full.iloc[offset:offset + limit]
    next_offset = offset + limit if offset + limit < len(full) else None
    if fmt == "csv":
        return "text/csv", neutralise_formulas(table).to_csv(index=False).encode(), next_offset
    if fmt == "parquet":
        buffer = io.BytesIO()
        table.to_parquet(buffer, index=False)
        return "application/vnd.apache.parquet", buffer.getvalue(), next_offset
    body: dict[str, Any] = {"batch_id": batch_id, "scores": json.loads(table.to_json(orient="records")),
                            "next_offset": next_offset}
    if traces:
        outputs = store.query("SELECT item_id, judge_id, agent, candidate_id, sample, output, abstention, detail, "
                              "repaired FROM agent_outputs WHERE batch_id = ? ORDER BY ALL", [batch_id])
        outputs["output"] = outputs.output.map(lambda o: json.loads(o) if isinstance(o, str) else None)
        body["traces"] = json.loads(outputs.to_json(orient="records"))
    return "application/json", json.dumps(body).encode(), next_offset
