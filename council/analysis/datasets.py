"""Reading datasets back: their scale, attributes, composites and what they hold."""

from __future__ import annotations

import json
from typing import Any

from council.analysis.errors import NotFoundError
from council.analysis.records import DatasetInfo
from council.store import analysis_store as db
from council.store.store import Store

__all__ = ["get_dataset", "list_datasets"]


def _info(row: dict[str, Any]) -> DatasetInfo:
    return DatasetInfo(
        owner=row["owner"],
        name=row["name"],
        description=row["description"],
        protocol_id=row["protocol_id"] if isinstance(row["protocol_id"], str) else None,
        scale=(row["scale_min"], row["scale_max"]),
        attributes=json.loads(row["attributes"]),
        composites=json.loads(row["composites"]),
        meta=json.loads(row["meta"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def get_dataset(store: Store, name: str, owner: str = "local") -> DatasetInfo:
    """Return one dataset of this owner.

    Raises:
        NotFoundError: If this owner has no such dataset.

    """
    rows = db.list_rows(store, "datasets", owner, "name", name)
    if rows.empty:
        raise NotFoundError("dataset", f"no dataset {name!r}")
    return _info(rows.iloc[0].to_dict())


def list_datasets(store: Store, owner: str = "local") -> list[DatasetInfo]:
    """List the owner's datasets, newest first."""
    return [_info(r) for r in db.list_rows(store, "datasets", owner, "name").to_dict("records")]
