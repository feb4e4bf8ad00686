"""The /v1/review routes without Ray: the real ingress app over an in-process core running the real ReviewService.

The same error contract as the service (``answer_for``): refusals keep their message and field, another
owner's entries are 404 like missing ones. The end-to-end version over ``council serve`` is
tests/service/test_review.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from council.service.api import make_api
from council.service.config import hash_key
from council.service.errors import ErrorAnswer, answer_for
from council.service.review_service import ReviewService
from council.store.store import Store
from tests.review.helpers import risky_batch

KEYS = {"alice": "ac_alice_key", "bob": "ac_bob_key"}
ATTRS = ["guidance", "informativeness", "relevance", "safety", "empathy", "helpfulness", "understanding"]


class _Call:
    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def remote(self, *args: Any) -> Any:
        return self.fn(*args)


class InProcessCore:
    """A core handle whose ``review_call`` runs the real ReviewService and answers errors like Core.call."""

    def __init__(self, store: Store) -> None:
        self.review = ReviewService(store)

        async def call(method: str, cid: str, *args: Any) -> Any:
            if method != "review_call":
                return ErrorAnswer(status=500, error="not in this test")
            name, owner, *rest = args
            try:
                return await getattr(self.review, name)(owner, *rest)
            except Exception as e:  # noqa: BLE001 - as Core.call
                return answer_for(e, cid, name)

        self.call = _Call(call)


@pytest.fixture
def setup() -> tuple[dict[str, TestClient], str]:
    store = Store()
    batch_id = risky_batch(store, owner="alice", n_items=4, domain_risk={"i2": "high"},
                           unsafe=frozenset({("i3", "c1")}))
    app = make_api(InProcessCore(store), {hash_key(k): owner for owner, k in KEYS.items()}, max_body_bytes=1 << 20)
    clients = {o: TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {k}"})
               for o, k in KEYS.items()}
    return clients, batch_id


def test_enqueue_rate_and_count_over_http(setup) -> None:
    http, batch_id = setup
    alice = http["alice"]
    r = alice.post("/v1/review/enqueue", json={"batch_id": batch_id})
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["reasons_added"]) == (4, 4)  # i2's 3 candidates (risk) + i3:c1 (unsafe)
    again = alice.post("/v1/review/enqueue", json={"batch_id": batch_id}).json()
    assert (again["created"], again["unchanged"]) == (0, 4)
    task = alice.get("/v1/review/next", params={"reviewer": "ana"}).json()["item"]
    assert task["item_id"] in ("i2", "i3") and task["reasons"] and "judges" not in task
    assert set(task["protocol"]["attributes"][0]["anchors"]) == {"1", "2", "3", "4", "5"}
    assert task["context"][0]["role"] == "seeker" and task["candidate"].startswith("reply")
    scores = alice.get(f"/v1/review/{task['queue_id']}/scores").json()
    assert {j["judge_id"] for j in scores["judges"]} == {"ja", "jb"}
    r = alice.post(f"/v1/review/{task['queue_id']}/ratings",
                   json={"reviewer": "ana", "scores": dict.fromkeys(ATTRS, 4), "note": "fine"})
    assert r.status_code == 201, r.text
    assert r.json()["n_ratings"] == 7 and r.json()["replaced"] is False
    status = alice.get("/v1/review/queue", params={"batch_id": batch_id}).json()
    one = r.json()["needed_reviews"] == 1  # an entry of the double-review share needs a second reviewer
    assert (status["entries"], status["done"], status["pending"]) == (4, int(one), 4 - int(one))
    assert status["reviewers"] == [{"reviewer": "ana", "rated": 1, "assigned": 0}]


def test_owners_are_isolated(setup) -> None:
    http, batch_id = setup
    alice, bob = http["alice"], http["bob"]
    assert bob.post("/v1/review/enqueue", json={"batch_id": batch_id}).status_code == 404
    alice.post("/v1/review/enqueue", json={"batch_id": batch_id})
    assert bob.get("/v1/review/next", params={"reviewer": "ana"}).json() == {"item": None}
    assert bob.get("/v1/review/queue").json()["entries"] == 0
    qid = alice.get("/v1/review/next", params={"reviewer": "ana"}).json()["item"]["queue_id"]
    for r in (bob.get(f"/v1/review/{qid}/scores"),
              bob.post(f"/v1/review/{qid}/ratings", json={"reviewer": "x", "scores": dict.fromkeys(ATTRS, 3)}),
              bob.post("/v1/review/refit", json={"batch_ids": [batch_id]})):
        assert r.status_code == 404, r.text
    assert alice.get("/v1/review/queue").json()["done"] == 0


def test_errors_name_the_field(setup) -> None:
    http, batch_id = setup
    alice = http["alice"]
    alice.post("/v1/review/enqueue", json={"batch_id": batch_id})
    qid = alice.get("/v1/review/next", params={"reviewer": "ana"}).json()["item"]["queue_id"]
    cases = [
        (alice.post(f"/v1/review/{qid}/ratings", json={"reviewer": "ana", "scores": {**dict.fromkeys(ATTRS, 3),
                                                                                      "safety": 9}}),
         422, "scores.safety"),
        (alice.post(f"/v1/review/{qid}/ratings", json={"reviewer": "ana", "scores": {"empathy": 3}}),
         422, "scores.guidance"),
        (alice.post(f"/v1/review/{qid}/ratings", json={"reviewer": "ja", "scores": dict.fromkeys(ATTRS, 3)}),
         422, "reviewer"),
        (alice.post("/v1/review/enqueue", json={"batch_id": batch_id, "reasons": ["boredom"]}), 422, "reasons.0"),
        (alice.post("/v1/review/enqueue", json={"batch_id": batch_id, "reasons": [], "items": [
            {"item_id": "i0", "candidate_id": "zz", "reason": "escalation"}]}), 422, "items.0.candidate_id"),
        (alice.get("/v1/review/next"), 422, "query.reviewer"),
        (alice.post("/v1/review/refit", json={"batch_ids": []}), 422, "batch_ids"),
        (alice.post("/v1/review/rq_missing/ratings", json={"reviewer": "ana", "scores": {"empathy": 3}}),
         404, "queue_id"),
    ]
    for r, status, field in cases:
        assert r.status_code == status, r.text
        assert r.json()["field"] == field, r.text


def test_refit_reports_the_gate_of_an_ungated_batch_without_pretending(setup) -> None:
    http, batch_id = setup
    alice = http["alice"]
    alice.post("/v1/review/enqueue", json={"batch_id": batch_id, "reasons": ["low_confidence"],
                                           "min_uncertainty": 0, "double_share": 0})
    while (t := alice.get("/v1/review/next", params={"reviewer": "ana"}).json()["item"]) is not None:
        score = 1 + (int(t["item_id"][1:]) * 2 + int(t["candidate_id"][1:])) % 5
        assert alice.post(f"/v1/review/{t['queue_id']}/ratings",
                          json={"reviewer": "ana", "scores": dict.fromkeys(ATTRS, score)}).status_code == 201
    r = alice.post("/v1/review/refit", json={"batch_ids": [batch_id], "method": "linear", "cv": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["calibrations"][0]["version"] == 1 and body["calibrations"][0]["reference"] == "ana"
    # the gate refit ran (council.gating.refit_gate) and says this batch was judged under no gate
    assert body["gate"]["status"] == "refitted"
    assert [(r["batch_id"], r["status"]) for r in body["gate"]["results"]] == [(batch_id, "not_gated")]
