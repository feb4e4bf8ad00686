"""Pairwise verdicts in a real DuckDB file: migration 007, round trip, idempotent re-runs, constraints."""

import asyncio

import duckdb
import pandas as pd
import pytest

from council.pairwise.consistency import combine_orders
from council.pairwise.frames import VERDICT_COLUMNS
from council.pairwise.types import PairVerdict
from council.run import prepare_batch
from council.store.migrations import migrate
from council.store.store import Store
from council.types import Batch, BatchItem
from judges.types import Candidate
from protocols import load_protocol
from tests.council.helpers import council


def _verdict(first, second, order, verdict, judge="j0", sample=0, **kw):
    responders = {"c0": "m0", "c1": "m1", "c2": "m2"}
    return PairVerdict(item_id="i1", judge_id=judge, first_candidate=first, second_candidate=second,
                       first_responder=responders[first], second_responder=responders[second], order=order,
                       sample=sample, verdict=verdict, abstention=None if verdict else "parse_failure", **kw)


def _store_with_batch(path):
    store = Store(path)
    protocol = load_protocol("epitome")
    batch = Batch(items=[BatchItem(id="i1", context="I feel alone.", candidates=[
        Candidate(id=f"c{k}", text="x" * (10 * (k + 1)), responder=f"m{k}") for k in range(3)])])
    return store, prepare_batch(store, batch, protocol, council(1)), protocol.content_hash


@pytest.fixture
def stored(tmp_path):
    store, batch_id, protocol_hash = _store_with_batch(tmp_path / "council.duckdb")
    yield store, batch_id, protocol_hash
    store.close()


VERDICTS = [
    _verdict("c0", "c1", "AB", "A", p_first=0.7, p_second=0.2, p_tie=0.1, rationale="warmer", calls=["k1"]),
    _verdict("c1", "c0", "BA", "B", p_first=0.1, p_second=0.8, p_tie=0.1, calls=["k2"]),
    _verdict("c0", "c2", "AB", "tie", calls=["k3"]),
    _verdict("c2", "c0", "BA", None, calls=["k4"]),
]


def test_migration_007_adds_the_table_with_its_natural_key(tmp_path):
    db = duckdb.connect(str(tmp_path / "m.duckdb"))
    assert "007_pairwise_verdicts" in migrate(db)
    key = db.execute("SELECT constraint_column_names FROM duckdb_constraints() WHERE table_name = "
                     "'pairwise_verdicts' AND constraint_type = 'PRIMARY KEY'").fetchone()[0]
    assert key == ["batch_id", "item_id", "judge_id", "attribute", "first_candidate", "second_candidate",
                   "pair_order", "sample"]
    assert migrate(db) == []


def test_round_trip_gives_the_tidy_verdict_frame(stored):
    store, batch_id, protocol_hash = stored
    store.save_pair_verdicts(batch_id, "r1", VERDICTS, protocol_hash)
    frame = store.pair_verdicts(batch_id)
    assert set(VERDICT_COLUMNS) <= set(frame.columns)
    assert len(frame) == 4
    first = frame[(frame.first_candidate == "c0") & (frame.second_candidate == "c1")].iloc[0]
    assert (first.order, first.verdict, first.first_responder, first.rationale) == ("AB", "A", "m0", "warmer")
    assert first.preference == pytest.approx(0.5) and first.p_tie == pytest.approx(0.1)
    assert (first.first_length, first.second_length) == (10, 20)  # from the stored candidate texts
    abstained = frame[frame.verdict.isna()].iloc[0]
    assert abstained.abstention == "parse_failure" and pd.isna(abstained.p_first)
    combined = combine_orders(frame)
    assert combined.outcomes[["candidate_a", "candidate_b", "outcome"]].values.tolist() == [["c0", "c1", "a"]]
    assert combined.incomplete["first_candidate"].tolist() == ["c0"]  # c0/c2 lacks its usable BA order


def test_writing_verdicts_twice_stores_each_once_and_the_last_write_wins(stored):
    store, batch_id, protocol_hash = stored
    store.save_pair_verdicts(batch_id, "r1", VERDICTS, protocol_hash)
    before = store.pair_verdicts(batch_id)
    store.save_pair_verdicts(batch_id, "r2", VERDICTS, protocol_hash)  # a resumed or repeated run
    after = store.pair_verdicts(batch_id)
    assert len(after) == len(before) == 4
    assert before.drop(columns="run_id").equals(after.drop(columns="run_id"))
    retried = _verdict("c2", "c0", "BA", "A", calls=["k5"])  # the abstained order answered on a retry
    asyncio.run(store.write_pair_verdicts(batch_id, "r3", [retried], protocol_hash))
    again = store.pair_verdicts(batch_id)
    assert len(again) == 4 and again.verdict.notna().all()
    other_sample = _verdict("c0", "c1", "AB", "B", sample=1)
    store.save_pair_verdicts(batch_id, "r3", [other_sample], protocol_hash)
    assert len(store.pair_verdicts(batch_id)) == 5


def test_verdicts_survive_reopening_the_file(tmp_path):
    store, batch_id, protocol_hash = _store_with_batch(tmp_path / "reopen.duckdb")
    store.save_pair_verdicts(batch_id, "r1", VERDICTS, protocol_hash)
    store.close()
    reopened = Store(tmp_path / "reopen.duckdb")
    try:
        assert len(reopened.pair_verdicts(batch_id)) == 4
    finally:
        reopened.close()


def test_the_table_refuses_rows_the_records_would_refuse(stored):
    store, batch_id, _ = stored
    with pytest.raises(duckdb.ConstraintException):
        store.db.execute("""INSERT INTO pairwise_verdicts (batch_id, item_id, judge_id, attribute, first_candidate,
            second_candidate, pair_order, sample, first_responder, second_responder, verdict, abstention, calls,
            protocol_hash, created_at) VALUES (?, 'i1', 'j', 'overall', 'c0', 'c1', 'AB', 0, 'm0', 'm1', 'A',
            'parse_failure', '[]', 'h', now())""", [batch_id])
    with pytest.raises(ValueError):
        PairVerdict(item_id="i1", judge_id="j", first_candidate="c0", second_candidate="c1", first_responder="m0",
                    second_responder="m1", order="AB", verdict=None)
