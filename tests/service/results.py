"""Reading a batch's results in the three formats the API serves, normalised so they can be compared."""

from __future__ import annotations

import io
import math
from typing import Any

import pandas as pd

from tests.service.harness import Api

KEY = ["item_id", "candidate_id", "rater", "attribute"]


def fetch(api: Api, batch_id: str, fmt: str, **params: Any) -> Any:
    """GET the results in one format: a dict for JSON, a DataFrame for CSV and Parquet."""
    r = api.http.get(f"/v1/batches/{batch_id}/results", params={"format": fmt, **params})
    assert r.status_code == 200, r.text
    if fmt == "json":
        assert r.headers["content-type"].startswith("application/json")
        return r.json()
    if fmt == "csv":
        assert r.headers["content-type"].startswith("text/csv")
        return pd.read_csv(io.BytesIO(r.content), dtype={"item_id": str, "candidate_id": str, "rater": str,
                                                          "attribute": str, "responder": str})
    assert r.headers["content-type"] == "application/vnd.apache.parquet"
    return pd.read_parquet(io.BytesIO(r.content))


def _plain(value: Any) -> Any:
    """One representation per value: None for every kind of missing, floats rounded, numpy scalars unwrapped."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, str) and value == "":
        return None  # CSV writes missing strings as empty fields
    return value


def normalise(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts in a stable order, with missing values as None."""
    frame = frame.sort_values(KEY, kind="stable").reset_index(drop=True)
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
