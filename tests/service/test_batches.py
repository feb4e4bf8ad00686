"""A batch through real HTTP: submit → progress → results (JSON, CSV, Parquet); estimates; idempotent resubmission;
provider failures from a flaky fake provider becoming abstentions with reasons, never default scores."""

from __future__ import annotations

import secrets
import time

import pandas as pd
import pytest

from judges.testing import FakeOpenAIServer
from protocols import load_protocol
from tests.service.conftest import DOWN, GARBLE
from tests.service.harness import Api, make_items
from tests.service.results import KEY, fetch, normalise

pytestmark = pytest.mark.service

PROTOCOL = load_protocol("mentalalign-7")
ATTRIBUTES = len(PROTOCOL.attribute_ids)  # 7 rubric attributes ...
COMPOSITES = len(PROTOCOL.composites)  # ... and 2 composites: every rater gets a row for each
ROWS = ATTRIBUTES + COMPOSITES
JUDGES = ["fake-a", "fake-b"]


def _monotone(values: list[int]) -> bool:
    return all(a <= b for a, b in zip(values, values[1:], strict=False))


def test_submit_progress_and_results_in_three_formats(alice: Api) -> None:
    # 3 contexts × 2 candidates; candidate c1 of it-1 gets garbage from every judge → invalid_output abstentions
    items = make_items("formats", 3, 2, marker=lambda i, j: GARBLE if (i, j) == (1, 1) else "")
    r = alice.submit(items, name="three formats")
    assert r.status_code == 202, r.text
    accepted = r.json()
    assert accepted["created"] is True and accepted["status"] in ("queued", "running")
    batch_id = accepted["batch_id"]
    assert accepted["status_url"] == f"/v1/batches/{batch_id}"

    status, seen = alice.wait(batch_id)
    assert status["status"] == "completed", status
    progress = status["progress"]
    assert (progress["contexts"], progress["candidates"], progress["units"]) == (3, 6, 6)
    assert (progress["contexts_done"], progress["units_done"]) == (3, 6)
    assert _monotone([s["progress"]["units_done"] for s in seen])
    assert _monotone([s["progress"]["calls_made"] for s in seen])
    assert progress["calls_cached"] == 0
    assert status["judgments"] == 3 * 2 * len(JUDGES) * ATTRIBUTES
    assert status["abstentions"] == len(JUDGES) * ATTRIBUTES
    assert status["abstentions_by_reason"] == {"invalid_output": len(JUDGES) * ATTRIBUTES}
    assert status["judges"] == JUDGES and status["council"] == "fake2" and status["name"] == "three formats"

    body = fetch(alice, batch_id, "json")
    assert body["batch_id"] == batch_id
    as_json = pd.DataFrame(body["scores"])
    assert set(as_json.attribute) == set(PROTOCOL.attribute_ids) | set(PROTOCOL.composites)
    # a per-judge row for every candidate × attribute (and composite) × judge, a council row per candidate × attribute
    assert len(as_json[as_json.rater != "council"]) == 3 * 2 * ROWS * len(JUDGES)
    assert len(as_json[as_json.rater == "council"]) == 3 * 2 * ROWS
    assert not as_json.duplicated(KEY).any()
    composite_rows = as_json[as_json.attribute.isin(list(PROTOCOL.composites))]
    as_attributes = as_json[as_json.attribute.isin(PROTOCOL.attribute_ids)]
    judges, council = as_attributes[as_attributes.rater != "council"], as_attributes[as_attributes.rater == "council"]
    assert set(judges.rater) == set(JUDGES)
    assert set(zip(judges.item_id, judges.candidate_id, strict=True)) == {(f"it-{i}", f"c{j}") for i in range(3)
                                                                          for j in range(2)}
    garbled = (as_json.item_id == "it-1") & (as_json.candidate_id == "c1")
    abstained = judges[garbled[judges.index]]
    assert abstained.score.isna().all() and (abstained.status == "abstained").all()
    assert (abstained.abstention == "invalid_output").all()
    scored = judges[~garbled[judges.index]]
    assert scored.score.between(1, 5).all() and (scored.score % 1 == 0).all()
    assert scored.abstention.isna().all() and (scored.status == "ok").all()
    # the council: no consensus where nobody scored; elsewhere the mean of the two judges (aggregation: mean)
    assert council[garbled[council.index]].score.isna().all()
    assert (council[garbled[council.index]].status == "no_consensus").all()
    means = scored.groupby(["item_id", "candidate_id", "attribute"]).score.mean()
    ok_council = council[~garbled[council.index]].set_index(["item_id", "candidate_id", "attribute"])
    assert (ok_council.n_scored == 2).all()
    pd.testing.assert_series_equal(ok_council.score.sort_index(), means.sort_index(), check_names=False)
    # composites: the mean of their members, or no score and status 'incomplete' when a member is missing
    garbled_composites = composite_rows[garbled[composite_rows.index]]
    assert garbled_composites.score.isna().all() and (garbled_composites.status == "incomplete").all()
    assert composite_rows[~garbled[composite_rows.index]].score.notna().all()
    assert (composite_rows.score.isna() == (composite_rows.status == "incomplete")).all()

    # the same rows in all three formats
    rows = normalise(as_json)
    as_csv, as_parquet = fetch(alice, batch_id, "csv"), fetch(alice, batch_id, "parquet")
    assert list(as_csv.columns) == list(as_json.columns) == list(as_parquet.columns)
    assert normalise(as_csv) == rows
    assert normalise(as_parquet) == rows

    traces = fetch(alice, batch_id, "json", traces="true")["traces"]
    assert len(traces) == len(JUDGES) * 3 * (2 + 2)  # one agent output per call (repairs are folded in)
    garbled_traces = [t for t in traces if t["item_id"] == "it-1" and t["candidate_id"] == "c1"]
    assert {t["abstention"] for t in garbled_traces} == {"invalid_output"}
    assert all(t["output"] is None for t in garbled_traces)
    assert all(t["output"] for t in traces if t["abstention"] is None)
    # per judge and context: ToM + domain + one scoring call per candidate, and a repair re-prompt for every
    # output that needed one: the garbage replies, and any random answer that failed its checks once
    assert all(t["repaired"] for t in garbled_traces)
    repairs = sum(bool(t["repaired"]) for t in traces)
    assert progress["calls_made"] == len(JUDGES) * 3 * (2 + 2) + repairs


def test_estimate_and_dry_run_store_nothing(alice: Api) -> None:
    items = make_items("estimate", 3, 2)
    r = alice.http.post("/v1/estimate", json={"protocol": "mentalalign-7", "council": "fake2", "items": items})
    assert r.status_code == 200, r.text
    estimate = r.json()
    assert (estimate["contexts"], estimate["candidates"], estimate["judges"]) == (3, 6, 2)
    assert estimate["calls"] == 2 * 3 * (2 + 2) and estimate["prompt_tokens"] > 0

    before = alice.http.get("/v1/batches").json()
    r = alice.submit(items, dry_run=True)
    assert r.status_code == 200, r.text
    assert r.json() == estimate
    assert alice.http.get("/v1/batches").json() == before


def test_idempotent_resubmission(alice: Api, bob: Api, fake_ok: FakeOpenAIServer) -> None:
    items = make_items("idempotency", 2, 2)
    key = f"idem-{secrets.token_hex(4)}"
    first = alice.submit(items, idempotency_key=key)
    assert first.status_code == 202 and first.json()["created"] is True
    batch_id = first.json()["batch_id"]
    done, _ = alice.wait(batch_id)
    assert done["status"] == "completed"
    requests_before = fake_ok.count

    again = alice.submit(items, idempotency_key=key)
    assert again.status_code == 202, again.text
    assert again.json()["batch_id"] == batch_id and again.json()["created"] is False
    same_content = alice.submit(items)  # no key: the content-derived id finds the same batch
    assert same_content.json()["batch_id"] == batch_id and same_content.json()["created"] is False

    time.sleep(1.5)  # a duplicate run would have started calling the provider by now
    after = alice.status(batch_id)
    assert after["status"] == "completed"
    assert after["progress"] == done["progress"] and after["updated_at"] == done["updated_at"]
    assert fake_ok.count == requests_before

    conflict = alice.submit(make_items("idempotency-other", 1, 1), idempotency_key=key)
    assert conflict.status_code == 409, conflict.text
    assert conflict.json()["field"] == "Idempotency-Key"
    mine = [b["batch_id"] for b in alice.http.get("/v1/batches").json()]
    assert mine.count(batch_id) == 1

    # keys are per owner: bob's use of the same key is his own batch
    bobs = bob.submit(make_items("idempotency-bob", 1, 1), idempotency_key=key)
    assert bobs.status_code == 202 and bobs.json()["created"] is True
    assert bobs.json()["batch_id"] != batch_id
    assert bob.wait(bobs.json()["batch_id"])[0]["status"] == "completed"


def test_provider_failures_become_abstentions_with_reasons(alice: Api, fake_flaky: FakeOpenAIServer) -> None:
    # 30 % of calls fail at random; on top, candidate c1 of even items always gets HTTP 500 from the scorer and
    # candidate c0 of odd items always gets garbage
    def marker(i: int, j: int) -> str:
        return DOWN if (i % 2, j) == (0, 1) else GARBLE if (i % 2, j) == (1, 0) else ""

    items = make_items("flaky", 6, 2, marker=marker)
    requests_before = fake_flaky.count
    r = alice.submit(items, council="flaky2")
    assert r.status_code == 202, r.text
    batch_id = r.json()["batch_id"]
    status, _ = alice.wait(batch_id, timeout=300, poll_s=0.5)
    assert status["status"] == "completed", status
    assert status["progress"]["units_done"] == status["progress"]["units"] == 12
    assert status["judgments"] == 6 * 2 * 2 * ATTRIBUTES

    outcomes = [r.outcome for r in fake_flaky.requests[requests_before:]]
    failed = [o for o in outcomes if o != "ok"]
    assert {"429", "500", "503", "timeout"} <= set(failed), set(failed)
    assert {"malformed_text", "malformed_schema", "empty"} & set(failed)
    assert status["progress"]["calls_failed"] >= 2  # at least the two judges' calls for the DOWN candidate
    reasons = status["abstentions_by_reason"]
    assert reasons.get("provider_error", 0) >= ATTRIBUTES and reasons.get("invalid_output", 0) >= ATTRIBUTES
    assert sum(reasons.values()) == status["abstentions"]
    assert status["errors"], "failed calls are reported with their errors"

    table = pd.DataFrame(fetch(alice, batch_id, "json")["scores"])
    composites = table[table.attribute.isin(list(PROTOCOL.composites))]
    assert (composites.score.isna() == (composites.status == "incomplete")).all()
    table = table[table.attribute.isin(PROTOCOL.attribute_ids)]
    judges = table[table.rater != "council"]
    # every missing score carries its reason, every reason comes without a score; scores stay on the scale
    assert (judges.score.isna() == judges.abstention.notna()).all()
    assert (judges.score.isna() == (judges.status == "abstained")).all()
    assert judges.score.dropna().between(1, 5).all() and (judges.score.dropna() % 1 == 0).all()
    # marked candidates abstain with their reason (or upstream_failed when the judge's ToM/domain call failed)
    by_candidate = judges.set_index(["item_id", "candidate_id"])
    down = by_candidate.loc[[(f"it-{i}", "c1") for i in range(0, 6, 2)]]
    garbled = by_candidate.loc[[(f"it-{i}", "c0") for i in range(1, 6, 2)]]
    assert down.score.isna().all() and set(down.abstention) <= {"provider_error", "upstream_failed"}
    assert garbled.score.isna().all() and set(garbled.abstention) <= {"invalid_output", "upstream_failed"}
    council = table[table.rater == "council"].set_index(["item_id", "candidate_id"])
    marked = council.loc[list(down.index.unique()) + list(garbled.index.unique())]
    assert marked.score.isna().all() and (marked.status == "no_consensus").all()
    # unmarked candidates are mostly scored despite the failures
    unmarked = judges[~judges.set_index(["item_id", "candidate_id"]).index.isin(marked.index)]
    assert unmarked.score.notna().mean() > 0.6
