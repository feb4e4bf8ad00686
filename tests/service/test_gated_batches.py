"""Confidence-gated batches over real HTTP: fit a gate on a labelled dataset, submit a gated batch, see the
second tier called only on what the first escalated, the unsafe candidate queued for people, and the gate's
coverage in the batch status (issue 10). The judges read each candidate's true quality (tests/gating/truth.py).
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.gating.truth import PROTOCOL, judge_score, truth_batch
from tests.service.harness import Api

pytestmark = pytest.mark.service

TIERS = [{"name": "cheap", "judges": ["cheap"]}, {"name": "strong", "judges": ["cheap", "strong"]}]
TARGET = {"criterion": "exact", "k": 0, "level": 0.8, "risk": 0.2}


def _upload(api: Api, dataset: str, rater: str, rows: list[dict], kind: str) -> None:
    """One rater's scores in the wide layout (one row per target, one column per attribute)."""
    content = pd.DataFrame(rows).to_csv(index=False)
    r = api.http.post("/v1/ratings", json={"dataset": dataset, "format": "csv", "layout": "wide", "content": content,
                                           "attributes": list(PROTOCOL.attribute_ids), "rater": rater, "kind": kind,
                                           "protocol": "mentalalign-7"})
    assert r.status_code == 201, r.text


def _labelled_dataset(api: Api, dataset: str, n: int = 60) -> None:
    """What the two judges and an expert said of ``n`` contexts × 2 candidates (as the fake judges would)."""
    _, truth = truth_batch("labelled", n)
    for rater in ("cheap", "strong", "expert"):
        rows = []
        for target, q in truth.items():
            item = int(target.split(":")[0].removeprefix("it-"))
            score = q if rater == "expert" else judge_score(rater, q, item)
            rows.append({"target": target, "context": f"it-{item}", **dict.fromkeys(PROTOCOL.attribute_ids, score)})
        _upload(api, dataset, rater, rows, "human" if rater == "expert" else "external")


def test_a_gated_batch_over_http(alice: Api, bob: Api) -> None:
    _labelled_dataset(alice, "gate-train")
    r = alice.http.post("/v1/gates", json={"name": "tiered-gate", "tiers": TIERS, "target": TARGET,
                                           "dataset": "gate-train", "reference": "expert"})
    assert r.status_code == 201, r.text
    gate = r.json()
    assert gate["version"] == 1 and gate["thresholds"][0] is not None, gate
    assert alice.http.get("/v1/gates/tiered-gate").json()["gate_id"] == gate["gate_id"]
    assert bob.http.get("/v1/gates/tiered-gate").status_code == 404  # another owner's gate is not found

    batch, truth = truth_batch("svc-gated", 12, unsafe={3})
    items = [item.model_dump(mode="json") for item in batch.items]
    estimate = alice.http.post("/v1/estimate", json={"council": "tiered", "items": items, "gate": "tiered-gate"})
    assert estimate.status_code == 200, estimate.text
    assert estimate.json()["calls_min"] == batch.n_candidates and estimate.json()["calls"] == 2 * batch.n_candidates
    refused = alice.submit(items, council="fake2", gate="tiered-gate")
    assert refused.status_code == 422 and refused.json()["field"] == "gate", refused.text
    assert alice.submit(items, council="tiered", gate="no-such-gate").json()["field"] == "gate"

    r = alice.submit(items, council="tiered", gate="tiered-gate", name="gated")
    assert r.status_code == 202, r.text
    batch_id = r.json()["batch_id"]
    status, _ = alice.wait(batch_id)
    assert status["status"] == "completed", status
    summary = status["gate"]
    print(summary)
    assert summary["gate_id"] == gate["gate_id"] and summary["items"] == batch.n_candidates * 7
    assert summary["accepted"].get("cheap", 0) > 0 and summary["review_by_reason"].get("risk", 0) == 7
    # tier 2 only on the candidates tier 1 escalated: fewer calls than judging everything twice
    assert batch.n_candidates < status["progress"]["calls_made"] < 2 * batch.n_candidates

    queue = alice.http.get("/v1/review/queue", params={"batch_id": batch_id}).json()
    reasons = {q["reason"]: q["entries"] for q in queue["reasons"]}
    assert reasons.get("unsafe") == 1 and queue["entries"] == summary["candidates_for_people"], queue
    assert bob.http.get("/v1/review/queue", params={"batch_id": batch_id}).status_code == 404  # not bob's batch
