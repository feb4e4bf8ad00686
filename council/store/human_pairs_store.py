"""Store rows and reads for imported human pairwise preferences (table of migration 008).

Plain functions over a :class:`~council.store.store.Store`; the importer (:mod:`council.pairwise.human_import`)
decides what to write. Every read filters by owner. A write replaces, in one transaction, the earlier rows of
the (rater, attribute) combinations it carries on that batch, and touches nothing else: re-importing a file is
idempotent, and a failed import leaves the stored preferences as they were.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from council.store.store import Store

__all__ = ["HUMAN_PAIR_COLUMNS", "read_human_pairs", "replace_human_pairs"]

HUMAN_PAIR_COLUMNS: tuple[str, ...] = (
    "owner", "batch_id", "item_id", "attribute", "rater", "candidate_a", "candidate_b", "responder_a",
    "responder_b", "preference", "source", "import_id", "seq", "imported_at",
)
_ROW_COLUMNS = ("item_id", "attribute", "rater", "candidate_a", "candidate_b", "responder_a", "responder_b",
                "preference")


def replace_human_pairs(store: Store, rows: pd.DataFrame, *, owner: str, batch_id: str, source: str,
                        import_id: str, imported_at: datetime) -> tuple[int, int]:
    """Write one import's preferences; return (rows written, earlier rows replaced).

    Args:
        store: The store.
        rows: Validated preferences with ``item_id, attribute, rater, candidate_a, candidate_b, responder_a,
            responder_b, preference`` (file order is kept in ``seq``).
        owner: Owner of the batch (the service's API key, "local" for the CLI).
        batch_id: The batch the candidates belong to.
        source: File name or ``<upload>``.
        import_id: Id shared by the rows of this import.
        imported_at: Time of the import.

    """
    keys = rows[["rater", "attribute"]].drop_duplicates()
    with store.transaction() as db:
        start = db.execute("SELECT coalesce(max(seq), 0) + 1 FROM human_pair_preferences").fetchall()[0][0]
        frame = rows[list(_ROW_COLUMNS)].astype(str).assign(
            owner=owner, batch_id=batch_id, source=source, import_id=import_id,
            seq=range(start, start + len(rows)), imported_at=imported_at)[list(HUMAN_PAIR_COLUMNS)]
        db.register("_human_pair_keys", keys)
        db.register("_new_human_pairs", frame)
        try:
            replaced = db.execute(
                "DELETE FROM human_pair_preferences p USING _human_pair_keys k WHERE p.owner = ? AND p.batch_id = ? "
                "AND p.rater = k.rater AND p.attribute = k.attribute", [owner, batch_id]).fetchall()[0][0]
            db.execute(f"INSERT INTO human_pair_preferences SELECT {', '.join(HUMAN_PAIR_COLUMNS)} "
                       "FROM _new_human_pairs")
        finally:
            db.unregister("_human_pair_keys")
            db.unregister("_new_human_pairs")
    return len(frame), int(replaced)


def read_human_pairs(store: Store, owner: str, batch_id: str) -> pd.DataFrame:
    """This owner's imported preferences on the batch, in import order (an empty frame when there are none)."""
    return store.query(
        f"SELECT {', '.join(HUMAN_PAIR_COLUMNS)} FROM human_pair_preferences WHERE owner = ? AND batch_id = ? "
        "ORDER BY seq", [owner, batch_id])
