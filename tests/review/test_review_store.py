"""Store functions of the review queue (migration 009): merging entries, claiming in order, re-rating."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import duckdb
import pandas as pd
import pytest

from council.store import review_store
from council.store.migrations import MIGRATIONS, migrate
from council.store.store import Store


def _row(queue_id: str, candidate: str, *, risk: int = 0, u: float = 0.0, needed: int = 1,
         attributes: list[str] | None = None) -> dict:
    return {"queue_id": queue_id, "owner": "o", "batch_id": "b", "item_id": "i", "candidate_id": candidate,
            "attributes": attributes or ["empathy"], "risk_rank": risk, "uncertainty": u, "needed_reviews": needed}


def test_migration_009_creates_the_queue_tables_and_refuses_unknown_reasons(tmp_path) -> None:
    db = duckdb.connect(str(tmp_path / "m.duckdb"))
    assert "009_review_queue" in migrate(db)
    assert "009_review_queue" in [n for n, _ in MIGRATIONS]
    tables = {r[0] for r in db.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"review_queue", "review_reasons", "review_assignments"} <= tables
    with pytest.raises(duckdb.ConstraintException):
        db.execute("INSERT INTO review_reasons VALUES ('q', 'boredom', '', now())")
    with pytest.raises(duckdb.ConstraintException):
        db.execute("INSERT INTO review_queue VALUES ('q', 'o', 'b', 'i', 'c', '[]', 0, 0.5, 3, now(), now())")


def test_upsert_merges_reasons_attributes_and_priority_without_duplicates() -> None:
    store = Store()
    qid, created, added = review_store.upsert_entry(store, _row("q1", "c0", risk=1, u=0.2), [("low_confidence", "")])
    assert (qid, created, added) == ("q1", True, 1)
    # same candidate, same reason: nothing new; another id offered for it is ignored (the entry keeps its id)
    assert review_store.upsert_entry(store, _row("q9", "c0"), [("low_confidence", "again")]) == ("q1", False, 0)
    # a new reason with a higher risk and another attribute: merged into the same entry
    again = _row("q9", "c0", risk=4, u=0.1, attributes=["safety"])
    assert review_store.upsert_entry(store, again, [("risk", "imminent")]) == ("q1", False, 1)
    row = store.query("SELECT * FROM review_queue").iloc[0]
    assert len(store.query("SELECT * FROM review_queue")) == 1
    assert json.loads(row.attributes) == ["empathy", "safety"]
    assert (row.risk_rank, row.uncertainty) == (4, pytest.approx(0.2))  # each the larger of old and new
    assert [r["reason"] for r in review_store.reasons_of(store, "q1")] == ["low_confidence", "risk"]


def test_claim_orders_by_risk_then_uncertainty_and_respects_needed_reviews() -> None:
    store = Store()
    review_store.upsert_entry(store, _row("q_low_risk_sure", "c0", risk=0, u=0.1), [("low_confidence", "")])
    review_store.upsert_entry(store, _row("q_low_risk_unsure", "c1", risk=0, u=0.9), [("low_confidence", "")])
    review_store.upsert_entry(store, _row("q_high_risk_sure", "c2", risk=3, u=0.0, needed=2), [("risk", "")])
    order = [review_store.claim_next(store, "o", "ana") for _ in range(4)]
    assert order == ["q_high_risk_sure", "q_low_risk_unsure", "q_low_risk_sure", None]
    # the double-review entry goes to a second, different person; the single ones are taken
    assert review_store.claim_next(store, "o", "ben") == "q_high_risk_sure"
    assert review_store.claim_next(store, "o", "ben") is None
    assert review_store.claim_next(store, "o", "cleo") is None  # two reviewers hold it already
    assert review_store.claim_next(store, "other-owner", "ana") is None  # owners never see each other's queue


def test_an_expired_assignment_no_longer_holds_the_entry() -> None:
    store = Store()
    review_store.upsert_entry(store, _row("q1", "c0"), [("escalation", "")])
    assert review_store.claim_next(store, "o", "ana") == "q1"
    assert review_store.claim_next(store, "o", "ben") is None
    with store.transaction() as db:
        db.execute("UPDATE review_assignments SET assigned_at = ?", [datetime.now(UTC) - timedelta(hours=2)])
    assert review_store.claim_next(store, "o", "ben", lease_s=3600) == "q1"


def _ratings(score: float) -> pd.DataFrame:
    return pd.DataFrame({"owner": "o", "dataset": None, "batch_id": "b", "target": "i:c0", "rater": "ana",
                         "rater_kind": "human", "family": "human", "attribute": ["empathy", "safety"],
                         "score": [score, score], "out_of_scale": False, "excluded": None, "context": "i",
                         "responder": "bot", "responder_family": None, "length": 10.0, "sample": 0,
                         "import_id": "rev_1"})


def test_complete_review_replaces_a_reviewers_earlier_rating() -> None:
    store = Store()
    review_store.upsert_entry(store, _row("q1", "c0"), [("risk", "")])
    entry = review_store.entry_row(store, "o", "q1")
    imp = {"import_id": "rev_1", "source": "review:q1", "report": {}}
    assert review_store.complete_review(store, entry, "ana", _ratings(2), imp, "first") is False
    assert review_store.complete_review(store, entry, "ana", _ratings(4), {**imp, "import_id": "rev_2"}, None) is True
    ratings = store.query("SELECT attribute, score FROM ratings ORDER BY attribute")
    assert ratings.score.tolist() == [4.0, 4.0]  # replaced, not duplicated
    assert review_store.entry_row(store, "o", "q1")["reviews_done"] == 1
    assert len(store.query("SELECT * FROM imports")) == 2  # each submission changes the views' data version
    assert review_store.entry_row(store, "someone-else", "q1") is None
