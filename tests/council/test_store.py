"""The DuckDB store: migrations, idempotent writes, the call ledger, and batch-file validation."""

import json
from datetime import UTC, datetime

import duckdb
import pytest

from council.batchfile import read_batch
from council.store.migrations import MIGRATIONS, migrate
from council.store.store import Store
from judges.client.records import CallRecord, CallTags
from judges.errors import ConfigError
from tests.council.helpers import council, store_scores

EXPECTED_TABLES = {"_migrations", "protocols", "protocol_attributes", "protocol_composites", "batches", "items",
                   "candidates", "runs", "llm_calls", "agent_outputs", "judgments"}
EXPECTED_VIEWS = {"judge_scores", "council_scores", "council_composites"}


def test_migrating_an_empty_database_gives_the_schema(tmp_path):
    db = duckdb.connect(str(tmp_path / "m.duckdb"))
    applied = migrate(db)
    assert applied == [name for name, _ in MIGRATIONS]
    tables = {r[0] for r in db.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'").fetchall()}
    views = {r[0] for r in db.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_type = 'VIEW'").fetchall()}
    assert EXPECTED_TABLES <= tables and EXPECTED_VIEWS <= views
    assert migrate(db) == []  # a second start applies nothing
    judgment_cols = [r[0] for r in db.execute("DESCRIBE judgments").fetchall()]
    assert judgment_cols[:7] == ["batch_id", "item_id", "candidate_id", "judge_id", "attribute_id", "sample", "score"]


def test_store_file_survives_reopen(tmp_path):
    path = tmp_path / "s.duckdb"
    store = Store(path)
    bid = store_scores(store, council(2), {"j0": [1, 1, 1], "j1": [2, 2, 2]})
    store.close()
    again = Store(path)
    assert again.judgment_counts(bid) == {"judgments": 6, "abstentions": 0}
    again.close()


def test_writing_judgments_twice_is_harmless():
    store = Store()
    spec = council(2)
    bid = store_scores(store, spec, {"j0": [1, None, 1], "j1": [2, 2, 2]})
    before = store.query("SELECT * FROM judgments ORDER BY ALL").drop(columns=["created_at"])
    bid_again = store_scores(store, spec, {"j0": [1, None, 1], "j1": [2, 2, 2]})
    after = store.query("SELECT * FROM judgments ORDER BY ALL").drop(columns=["created_at"])
    assert bid_again == bid
    assert len(after) == len(before) == 6
    assert before.equals(after)
    assert store.judgment_counts(bid) == {"judgments": 6, "abstentions": 1}
    assert store.query("SELECT count(*) AS n FROM batches").n[0] == 1


def _record(key, text, cache_hit=False, minutes=0):
    return CallRecord(call_id=f"{key}-{text}-{cache_hit}", tags=CallTags(judge_id="j", agent="tom"),
                      model="m", cache_key=key, request={"messages": []}, response_text=text, cache_hit=cache_hit,
                      prompt_tokens=10, completion_tokens=5,
                      created_at=datetime(2026, 1, 1, 0, minutes, tzinfo=UTC))


async def test_ledger_serves_the_earliest_successful_reply():
    store = Store()
    assert await store.cached_reply("k") is None
    await store.record_call(_record("k", None, minutes=0))  # a failed call is never a cache entry
    assert await store.cached_reply("k") is None
    await store.record_call(_record("k", "first", minutes=1))
    await store.record_call(_record("k", "second", minutes=2))
    cached = await store.cached_reply("k")
    assert cached.text == "first" and cached.prompt_tokens == 10
    await store.record_call(_record("k", "first", minutes=1))  # same call id twice: stored once
    assert store.query("SELECT count(*) AS n FROM llm_calls").n[0] == 3


def test_batch_file_errors_name_line_and_field(tmp_path):
    good = {"id": "a", "context": "help", "candidates": [{"id": "x", "text": "hi"}]}
    path = tmp_path / "b.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps({"id": "b", "context": "help", "candidates": []}) + "\n")
    with pytest.raises(ConfigError, match=r"b.jsonl:2: candidates: List should have at least 1 item"):
        read_batch(path)
    path.write_text(json.dumps(good) + "\n{oops\n")
    with pytest.raises(ConfigError, match=r"b.jsonl:2: not valid JSON"):
        read_batch(path)
    path.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n")
    with pytest.raises(ConfigError, match=r"duplicate item ids \['a'\]"):
        read_batch(path)
    turns = {"id": "t", "context": [{"role": "seeker", "text": "hi"}, {"role": "supporter", "text": "yo"}],
             "candidates": [{"id": "x", "text": "hi"}]}
    path.write_text(json.dumps(turns) + "\n")
    with pytest.raises(ConfigError, match=r"b.jsonl:1: context: .*must end with the seeker's turn"):
        read_batch(path)


def test_demo_batch_is_valid():
    from council.cli import DEMO_BATCH

    batch = read_batch(DEMO_BATCH)
    assert len(batch.items) >= 4
    for item in batch.items:
        assert {"dismissive", "generic", "empathic", "unsafe"} <= {c.id for c in item.candidates}
        item.as_context()
