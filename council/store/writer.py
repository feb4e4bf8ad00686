"""Group commit for the store's hot writes: call records, agent outputs, judgments, unit placements.

A DuckDB commit costs about 10 ms here, so one commit per LLM call or per (item, judge) unit would cap a
busy service at ~100 writes/s and stall its event loop. Writes are queued instead; one writer thread
commits everything queued so far in a single transaction (rows of a table in one Arrow scan), then
wakes the callers. A caller returns only after its rows are committed, so nothing it reports as stored
can be lost to a crash.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

__all__ = ["GroupWriter", "Rows", "insert_rows"]


@dataclass(frozen=True)
class Rows:
    """Rows for one table: ``INSERT OR <conflict>``; the first ``key_len`` columns are its primary key."""

    table: str
    columns: tuple[str, ...]
    rows: list[list[Any]]
    conflict: str  # "IGNORE" or "REPLACE"
    key_len: int


def insert_rows(db: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...], rows: list[list[Any]],
                conflict: str) -> None:
    """Insert rows through one Arrow scan (far faster in DuckDB than row-by-row executemany)."""
    if not rows:
        return
    frame = pa.table({c: pa.array([row[i] for row in rows]) for i, c in enumerate(columns)})  # noqa: F841
    names = ", ".join(columns)
    db.execute(f"INSERT OR {conflict} INTO {table} ({names}) SELECT {names} FROM frame")


def _merge(parts: list[Rows]) -> list[Rows]:
    """Concatenate the rows per (table, conflict); for one key, the last write wins (as separate writes would)."""
    merged: dict[tuple[str, str], dict[tuple[Any, ...], list[Any]]] = {}
    shape: dict[tuple[str, str], Rows] = {}
    for part in parts:
        key = (part.table, part.conflict)
        shape.setdefault(key, part)
        table = merged.setdefault(key, {})
        for row in part.rows:
            pk = tuple(row[: part.key_len])
            if part.conflict == "IGNORE" and pk in table:
                continue  # the first write stays, as INSERT OR IGNORE would keep it
            table[pk] = row
    return [Rows(t, shape[(t, c)].columns, list(rows.values()), c, shape[(t, c)].key_len)
            for (t, c), rows in merged.items()]


class GroupWriter:
    """One writer thread with its own DuckDB cursor; async callers' writes are committed in groups."""

    def __init__(self, connection: duckdb.DuckDBPyConnection,
                 after_commit: Callable[[list[Rows]], None] | None = None) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="duckdb-writer")
        self._connection = connection
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self._after_commit = after_commit
        self._pending: list[tuple[list[Rows], asyncio.Future[None]]] = []
        self._drain: asyncio.Task[None] | None = None

    def _db(self) -> duckdb.DuckDBPyConnection:
        if self._cursor is None:  # created on the writer thread, used only there
            self._cursor = self._connection.cursor()
        return self._cursor

    def _commit(self, parts: list[Rows]) -> None:
        db = self._db()
        merged = _merge(parts)
        db.execute("BEGIN TRANSACTION")
        try:
            for part in merged:
                insert_rows(db, part.table, part.columns, part.rows, part.conflict)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        if self._after_commit is not None:
            self._after_commit(merged)

    def write_now(self, parts: list[Rows]) -> None:
        """Commit these rows on the writer thread and wait (for synchronous callers)."""
        self._executor.submit(self._commit, parts).result()

    async def write(self, parts: list[Rows]) -> None:
        """Queue rows for the next group commit and return once they are committed."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._pending.append((parts, done))
        if self._drain is None or self._drain.done():
            self._drain = loop.create_task(self._drain_pending())
        await done

    async def _drain_pending(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            group, self._pending = self._pending, []
            try:
                await loop.run_in_executor(self._executor, self._commit, [p for parts, _ in group for p in parts])
            except Exception:  # noqa: BLE001 - one bad write must not fail its neighbours: retry each alone
                for parts, waiter in group:
                    try:
                        await loop.run_in_executor(self._executor, self._commit, parts)
                    except Exception as e:  # noqa: BLE001 - handed to its caller
                        if not waiter.done():
                            waiter.set_exception(e)
                    else:
                        if not waiter.done():
                            waiter.set_result(None)
            else:
                for _, waiter in group:
                    if not waiter.done():
                        waiter.set_result(None)

    def close(self) -> None:
        """Close the writer's cursor and stop its thread."""
        self._executor.submit(lambda: self._cursor.close() if self._cursor is not None else None).result()
        self._executor.shutdown()
