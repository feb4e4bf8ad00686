"""Group commit: concurrent writes share transactions, keep INSERT OR IGNORE/REPLACE semantics, and one
bad write does not fail its neighbours."""

import asyncio

import duckdb
import pytest

from council.store.writer import GroupWriter, Rows


@pytest.fixture
def db():
    connection = duckdb.connect()
    connection.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v VARCHAR)")
    yield connection
    connection.close()


def rows(conflict, *pairs):
    return Rows("t", ("k", "v"), [list(p) for p in pairs], conflict, 1)


async def test_concurrent_writes_are_grouped_and_all_committed(db):
    commits = []
    writer = GroupWriter(db, after_commit=lambda parts: commits.append(sum(len(p.rows) for p in parts)))
    await asyncio.gather(*[writer.write([rows("IGNORE", (i, f"v{i}"))]) for i in range(200)])
    writer.close()
    assert db.execute("SELECT count(*) FROM t").fetchone()[0] == 200
    assert sum(commits) == 200 and len(commits) < 200  # fewer transactions than writes


async def test_ignore_keeps_the_first_and_replace_the_last_write_of_a_key(db):
    writer = GroupWriter(db)
    await asyncio.gather(writer.write([rows("IGNORE", (1, "first"))]), writer.write([rows("IGNORE", (1, "second"))]),
                         writer.write([rows("REPLACE", (2, "old"))]), writer.write([rows("REPLACE", (2, "new"))]))
    writer.close()
    assert db.execute("SELECT k, v FROM t ORDER BY k").fetchall() == [(1, "first"), (2, "new")]


async def test_a_failing_write_fails_alone(db):
    writer = GroupWriter(db)
    bad = Rows("missing_table", ("k",), [[1]], "IGNORE", 1)
    results = await asyncio.gather(writer.write([rows("IGNORE", (1, "a"))]), writer.write([bad]),
                                   writer.write([rows("IGNORE", (2, "b"))]), return_exceptions=True)
    writer.close()
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], duckdb.CatalogException)
    assert db.execute("SELECT count(*) FROM t").fetchone()[0] == 2
