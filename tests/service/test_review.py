"""The human review queue over the real service (``council serve``, Ray Serve): owners, double review, re-rating.

A batch judged by the fake council ``fake2``; alice queues every candidate (``low_confidence`` at threshold 0,
every entry double-reviewed), two of her reviewers work through it, bob sees none of it.
"""

from __future__ import annotations

import pytest

from tests.service.harness import Api, make_items

pytestmark = [pytest.mark.service, pytest.mark.timeout(600)]

ATTRS = ["guidance", "informativeness", "relevance", "safety", "empathy", "helpfulness", "understanding"]


def _judged(api: Api, tag: str) -> str:
    r = api.submit(make_items(tag, 3, k=2))
    assert r.status_code == 202, r.text
    batch_id = r.json()["batch_id"]
    status, _ = api.wait(batch_id)
    assert status["status"] == "completed", status
    return batch_id


def test_queue_double_review_rerating_and_owner_isolation(alice: Api, bob: Api) -> None:
    batch_id = _judged(alice, "review-q")
    body = {"batch_id": batch_id, "reasons": ["low_confidence"], "min_uncertainty": 0.0, "double_share": 1.0}
    r = alice.http.post("/v1/review/enqueue", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 6
    assert alice.http.post("/v1/review/enqueue", json=body).json()["unchanged"] == 6  # idempotent

    # bob cannot queue, see, rate or refit alice's work
    assert bob.http.post("/v1/review/enqueue", json=body).status_code == 404
    assert bob.http.get("/v1/review/next", params={"reviewer": "ana"}).json() == {"item": None}
    assert bob.http.get("/v1/review/queue").json()["entries"] == 0

    given: dict[str, list[str]] = {}
    for reviewer in ("ana", "ben"):
        while (task := alice.http.get("/v1/review/next", params={"reviewer": reviewer,
                                                                  "batch_id": batch_id}).json()["item"]):
            assert reviewer not in given.get(task["queue_id"], [])
            given.setdefault(task["queue_id"], []).append(reviewer)
            if reviewer == "ana":
                assert bob.http.get(f"/v1/review/{task['queue_id']}/scores").status_code == 404
            r = alice.http.post(f"/v1/review/{task['queue_id']}/ratings",
                                json={"reviewer": reviewer, "scores": dict.fromkeys(ATTRS, 3)})
            assert r.status_code == 201, r.text
    assert len(given) == 6 and all(sorted(v) == ["ana", "ben"] for v in given.values())

    # ana changes her mind on one entry: replaced, not duplicated
    qid = next(iter(given))
    r = alice.http.post(f"/v1/review/{qid}/ratings", json={"reviewer": "ana", "scores": dict.fromkeys(ATTRS, 5)})
    assert r.status_code == 201 and r.json()["replaced"] is True and r.json()["reviews_done"] == 2
    status = alice.http.get("/v1/review/queue", params={"batch_id": batch_id}).json()
    assert (status["entries"], status["pending"], status["double_review"]) == (6, 0, 6)
    assert {(x["reviewer"], x["rated"]) for x in status["reviewers"]} == {("ana", 6), ("ben", 6)}

    view = alice.http.get("/v1/views/agreement", params={"batch_id": batch_id})
    assert view.status_code == 200, view.text
    scope = view.json()["scope"]
    assert sorted(scope["humans"]) == ["ana", "ben"] and scope["reference"] == "human_consensus"
    assert scope["human_ratings"] == 2 * 6 * len(ATTRS)  # one rating per reviewer, candidate and attribute
