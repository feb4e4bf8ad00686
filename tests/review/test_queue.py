"""The review queue end to end over a real Store: flagged candidates queued, handed out, rated, used as ratings."""

from __future__ import annotations

import sys
import types

import pytest

from council.analysis import AnalysisError, NotFoundError, ratings_frame, run_agreement
from council.analysis.scope import HUMAN_CONSENSUS
from council.review import (
    QueueItem,
    enqueue,
    enqueue_flagged,
    judge_scores,
    next_item,
    queue_status,
    refit,
    submit,
)
from council.review.priority import double_review
from council.store.store import Store
from tests.review.helpers import risky_batch

ATTRS = ["guidance", "informativeness", "relevance", "safety", "empathy", "helpfulness", "understanding"]


def _all(score: int) -> dict[str, int]:
    return {a: score for a in ATTRS}


@pytest.fixture
def store() -> Store:
    return Store()


def test_flagged_candidates_are_queued_with_their_reasons(store: Store) -> None:
    bid = risky_batch(store, domain_risk={"i1": "imminent", "i2": "moderate"}, tom_signals=frozenset({"i3"}),
                      unsafe=frozenset({("i5", "c2")}))
    result = enqueue_flagged(store, "local", bid, ["risk", "unsafe"])
    queued = store.query("SELECT q.item_id, q.candidate_id, r.reason, r.detail, q.risk_rank FROM review_queue q "
                         "JOIN review_reasons r USING (queue_id) ORDER BY 1, 2")
    # every candidate of the imminent-risk context and of the context with ToM risk signals, plus the unsafe one;
    # a "moderate" domain risk is not enough
    assert sorted(zip(queued.item_id, queued.candidate_id, queued.reason, strict=True)) == [
        *[("i1", f"c{k}", "risk") for k in range(3)], *[("i3", f"c{k}", "risk") for k in range(3)],
        ("i5", "c2", "unsafe")]
    assert result.created == 7 and result.reasons_added == 7
    assert set(queued.loc[queued.item_id == "i1", "risk_rank"]) == {4}  # imminent
    assert queued.loc[queued.item_id == "i3", "detail"].iloc[0] == "jb ToM agent: risk signals self_harm"
    assert queued.loc[queued.item_id == "i5", "detail"].iloc[0] == "flagged unsafe_advice by ja"


def test_enqueue_is_idempotent(store: Store) -> None:
    bid = risky_batch(store, domain_risk={"i1": "high"})
    first = enqueue_flagged(store, "local", bid, ["risk"])
    again = enqueue_flagged(store, "local", bid, ["risk"])
    assert (first.created, again.created, again.reasons_added, again.unchanged) == (3, 0, 0, 3)
    assert again.queue_ids == first.queue_ids
    # the same candidate for a new reason: one entry, two reasons
    more = enqueue(store, "local", bid, [QueueItem(item_id="i1", candidate_id="c0", reason="escalation")])
    assert (more.created, more.reasons_added, more.queue_ids) == (0, 1, first.queue_ids[:1])
    status = queue_status(store, "local", bid)
    assert status.entries == 3
    assert {r["reason"]: r["entries"] for r in status.reasons} == {"risk": 3, "escalation": 1}


def test_enqueue_names_the_bad_field(store: Store) -> None:
    bid = risky_batch(store, n_items=2)
    with pytest.raises(AnalysisError) as e:
        enqueue(store, "local", bid, [QueueItem(item_id="i0", candidate_id="c0", reason="escalation"),
                                      QueueItem(item_id="i0", candidate_id="nope", reason="escalation")])
    assert e.value.field == "items.1.candidate_id"
    with pytest.raises(AnalysisError) as e:
        enqueue(store, "local", bid, [QueueItem(item_id="i0", candidate_id="c0", reason="risk", attributes=["wit"])])
    assert e.value.field == "items.0.attributes"
    with pytest.raises(NotFoundError):
        enqueue(store, "mallory", bid, [QueueItem(item_id="i0", candidate_id="c0", reason="risk")])
    with pytest.raises(AnalysisError) as e:
        enqueue_flagged(store, "local", bid, ["escalation"])
    assert e.value.field == "reasons"


def test_risk_comes_first_then_uncertainty(store: Store) -> None:
    bid = risky_batch(store, n_items=3)
    items = [QueueItem(item_id="i0", candidate_id="c0", reason="low_confidence", uncertainty=0.9),
             QueueItem(item_id="i0", candidate_id="c1", reason="low_confidence", uncertainty=0.4),
             QueueItem(item_id="i1", candidate_id="c0", reason="risk", uncertainty=0.05, risk_level="high"),
             QueueItem(item_id="i2", candidate_id="c0", reason="risk", uncertainty=0.3, risk_level="imminent")]
    enqueue(store, "local", bid, items, double_share=0)
    seen = []
    while (task := next_item(store, "local", "ana")) is not None:
        seen.append((task.item_id, task.candidate_id, task.risk_level))
        submit(store, "local", "ana", task.queue_id, _all(3))
    assert seen == [("i2", "c0", "imminent"), ("i1", "c0", "high"), ("i0", "c0", "none"), ("i0", "c1", "none")]


def test_the_council_uncertainty_orders_items_without_an_explicit_one(store: Store) -> None:
    # judges agree exactly on c0, disagree by 4 points on every attribute of c1
    scores = {(j, "i0", c, a): (3.0 if c == "c0" else (1.0 if j == "ja" else 5.0))
              for j in ("ja", "jb") for c in ("c0", "c1") for a in ATTRS}
    bid = risky_batch(store, n_items=1, n_candidates=2, scores=scores)
    enqueue(store, "local", bid, [QueueItem(item_id="i0", candidate_id=c, reason="escalation") for c in ("c0", "c1")],
            double_share=0)
    task = next_item(store, "local", "ana")
    assert (task.candidate_id, task.uncertainty) == ("c1", pytest.approx(1.0))  # spread 4 over the range 4
    submit(store, "local", "ana", task.queue_id, _all(2))
    assert next_item(store, "local", "ana").uncertainty == pytest.approx(0.0)


def test_double_share_goes_to_two_distinct_reviewers_and_never_twice_to_one(store: Store) -> None:
    bid = risky_batch(store, n_items=4)
    items = [QueueItem(item_id=f"i{i}", candidate_id=f"c{k}", reason="escalation") for i in range(4) for k in range(3)]
    enqueue(store, "local", bid, items, double_share=1.0)
    counts: dict[str, set[str]] = {}
    for reviewer in ("ana", "ben", "cleo"):
        while (task := next_item(store, "local", reviewer)) is not None:
            assert reviewer not in counts.get(task.queue_id, set())
            counts.setdefault(task.queue_id, set()).add(reviewer)
            submit(store, "local", reviewer, task.queue_id, _all(4))
    assert len(counts) == 12 and all(len(r) == 2 for r in counts.values())
    assert all(r == {"ana", "ben"} for r in counts.values())  # cleo finds nothing left: each needed two
    status = queue_status(store, "local", bid)
    assert (status.pending, status.done, status.double_review) == (0, 12, 12)


def test_the_double_share_is_a_stable_hash_draw_near_the_asked_share() -> None:
    n = 4000
    drawn = [double_review("o", "b", f"i{i}", "c0", 0.2) for i in range(n)]
    assert drawn == [double_review("o", "b", f"i{i}", "c0", 0.2) for i in range(n)]  # deterministic
    # Binomial(4000, 0.2): sd = sqrt(4000 * 0.2 * 0.8) ≈ 25.3; 4 sd ≈ 101
    assert abs(sum(drawn) - 0.2 * n) < 101
    assert not any(double_review("o", "b", f"i{i}", "c0", 0.0) for i in range(200))


def test_a_reload_gives_back_the_held_entry(store: Store) -> None:
    bid = risky_batch(store, n_items=2)
    enqueue_flagged(store, "local", bid, ["low_confidence"], min_uncertainty=0.0, double_share=0)
    first = next_item(store, "local", "ana")
    assert next_item(store, "local", "ana").queue_id == first.queue_id
    assert next_item(store, "local", "ben").queue_id != first.queue_id


def test_submit_validates_scores_against_the_scale_naming_the_attribute(store: Store) -> None:
    bid = risky_batch(store, n_items=1)
    (qid,) = enqueue(store, "local", bid, [QueueItem(item_id="i0", candidate_id="c0", reason="risk",
                                                     attributes=["empathy", "safety"])]).queue_ids
    cases = [({"empathy": 6, "safety": 3}, "scores.empathy"), ({"empathy": 2.5, "safety": 3}, "scores.empathy"),
             ({"empathy": 2}, "scores.safety"), ({"empathy": 2, "safety": 3, "charm": 5}, "scores.charm"),
             ({"empathy": float("nan"), "safety": 3}, "scores.empathy")]
    for scores, field in cases:
        with pytest.raises(AnalysisError) as e:
            submit(store, "local", "ana", qid, scores)
        assert e.value.field == field, scores
    for bad in ("", "ja", "council", "x" * 101):  # empty, a judge of this council, reserved, too long
        with pytest.raises(AnalysisError) as e:
            submit(store, "local", bad, qid, {"empathy": 2, "safety": 3})
        assert e.value.field == "reviewer"
    with pytest.raises(NotFoundError):
        submit(store, "mallory", "ana", qid, {"empathy": 2, "safety": 3})
    assert store.query("SELECT count(*) AS n FROM ratings").n[0] == 0


def test_re_rating_replaces_and_ratings_reach_agreement(store: Store) -> None:
    bid = risky_batch(store, n_items=6)
    enqueue_flagged(store, "local", bid, ["low_confidence"], min_uncertainty=0.0, double_share=0)
    task = next_item(store, "local", "ana")
    assert submit(store, "local", "ana", task.queue_id, _all(2)).replaced is False
    again = submit(store, "local", "ana", task.queue_id, _all(5), note="changed my mind")
    assert again.replaced is True and again.reviews_done == 1
    frame = ratings_frame(store, batch_id=bid)
    mine = frame[frame.rater == "ana"]
    assert len(mine) == 7 and set(mine.score) == {5.0} and set(mine.rater_kind) == {"human"}
    assert judge_scores(store, "local", task.queue_id)["judges"]  # on request only
    # the rest of the queue rated by one reviewer: agreement runs with that reviewer as the reference
    while (t := next_item(store, "local", "ana")) is not None:
        submit(store, "local", "ana", t.queue_id, _all(3 if t.candidate_id == "c0" else 4))
    report = run_agreement(store, batch_id=bid, owner="local")
    assert {r.reference for r in report.records} == {"ana"}


def test_two_reviewers_give_a_consensus_reference_and_a_ceiling(store: Store) -> None:
    bid = risky_batch(store, n_items=6)
    enqueue_flagged(store, "local", bid, ["low_confidence"], min_uncertainty=0.0, double_share=1.0)
    for reviewer, offset in (("ana", 0), ("ben", 1)):
        while (t := next_item(store, "local", reviewer)) is not None:
            base = 1 + int(t.candidate_id[1]) + offset
            submit(store, "local", reviewer, t.queue_id, _all(min(base, 5)))
    frame = ratings_frame(store, batch_id=bid)
    consensus = frame[frame.rater == HUMAN_CONSENSUS]
    assert len(consensus) == 18 * 7 and set(consensus.rater_kind) == {"external"}
    c1 = consensus[consensus.target == "i0:c1"].score  # ana 2, ben 3
    assert set(c1) == {2.5}
    report = run_agreement(store, batch_id=bid, owner="local")
    assert {r.reference for r in report.records if r.rater in ("ja", "jb")} == {HUMAN_CONSENSUS}


def test_refit_stores_a_new_calibration_version_and_reports_the_gate_honestly(store: Store, monkeypatch) -> None:
    bid = risky_batch(store, n_items=10)
    enqueue_flagged(store, "local", bid, ["low_confidence"], min_uncertainty=0.0, double_share=0)
    while (t := next_item(store, "local", "ana")) is not None:
        submit(store, "local", "ana", t.queue_id, _all(1 + (int(t.item_id[1:]) + int(t.candidate_id[1])) % 5))
    monkeypatch.delitem(sys.modules, "council.escalation", raising=False)
    monkeypatch.setattr("council.review.feedback.GATE_HOOK", ("council_no_such_gate", "refit_gate"))
    first = refit(store, "local", [bid], method="linear", cv=2)
    assert first.gate["status"] == "not_configured"
    assert first.calibrations[0]["version"] == 1 and first.calibrations[0]["reference"] == "ana"
    gate = types.ModuleType("fake_gate")
    calls = []
    gate.refit_gate = lambda store, *, owner, batch_id, calibration_id: calls.append((owner, batch_id,
                                                                                      calibration_id)) or {"ok": 1}
    monkeypatch.setitem(sys.modules, "fake_gate", gate)
    monkeypatch.setattr("council.review.feedback.GATE_HOOK", ("fake_gate", "refit_gate"))
    second = refit(store, "local", [bid], method="linear", cv=2)
    assert second.calibrations[0]["version"] == 2
    assert second.gate == {"status": "refitted", "results": [{"ok": 1}]}
    assert calls == [("local", bid, second.calibrations[0]["calibration_id"])]
    with pytest.raises(NotFoundError):
        refit(store, "mallory", [bid])
