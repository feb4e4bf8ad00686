"""A batch survives a crash: SIGKILL the whole service mid-batch, start it again on the same store, and the batch
resumes by itself and finishes with every judgment stored once; calls already made come from the cache."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from judges.testing import FakeOpenAIServer
from tests.service.conftest import councils, service_config
from tests.service.harness import Api, Service, make_items

pytestmark = [pytest.mark.service, pytest.mark.service_isolated]

N_ITEMS, K, N_JUDGES, ATTRIBUTES = 24, 2, 2, 7
UNITS = N_ITEMS * N_JUDGES
CALLS = UNITS * (2 + K)  # ToM + domain + one scoring call per candidate, per judge and context
CONCURRENCY = 4  # per judge: bounds the calls in flight when the service dies


def _key(model: str, messages: object) -> tuple[str, str]:
    """Identify a provider call by the model the provider saw and the exact messages."""
    return model.split("/", 1)[-1], json.dumps(messages, sort_keys=True, ensure_ascii=False)


def test_sigkill_mid_batch_resumes_and_pays_each_call_once(tmp_path: Path, api_keys: dict[str, str]) -> None:
    with FakeOpenAIServer(latency_ms=300, seed=3) as fake:
        config = service_config(tmp_path / "svc", api_keys, councils(fake.base_url, max_concurrency=CONCURRENCY),
                                ["--judge-replicas=2"])
        service = Service(config)
        try:
            _crash_and_resume(service, fake, api_keys["alice"])
            service.stop()  # the store is the core's until it stops: read it only afterwards
            _check_store(config.db, fake)
        finally:
            service.cleanup()


def _crash_and_resume(service: Service, fake: FakeOpenAIServer, key: str) -> None:
    service.start()
    api = Api(service.url, key)
    r = api.submit(make_items("durability", N_ITEMS, K), name="survives a crash")
    assert r.status_code == 202, r.text
    batch_id = r.json()["batch_id"]
    before, _ = api.wait(batch_id, until=lambda s: s["progress"]["units_done"] >= UNITS // 4, poll_s=0.2)
    api.close()
    assert before["status"] == "running" and before["progress"]["units_done"] < UNITS // 2, before["progress"]

    service.crash()  # SIGKILL to every process of the service at once: driver, Ray, Serve replicas, the store's
    first_life = fake.count

    service.start()  # same store, same councils; nobody resubmits
    api = Api(service.url, key)
    final, seen = api.wait(batch_id, timeout=240, poll_s=0.5)
    api.close()
    assert final["status"] == "completed", final
    assert all(s["status"] in ("running", "completed") for s in seen)
    progress = final["progress"]
    assert progress["units_done"] == UNITS and progress["contexts_done"] == N_ITEMS
    assert final["judgments"] == N_ITEMS * K * N_JUDGES * ATTRIBUTES and final["abstentions"] == 0
    assert progress["calls_made"] >= CALLS and progress["calls_failed"] == 0  # plus a repair re-prompt or two
    assert progress["calls_cached"] > 0  # the second life re-read what the first one paid for
    assert fake.count > first_life


def _check_store(db_path: Path, fake: FakeOpenAIServer) -> None:
    db = duckdb.connect(str(db_path), read_only=True)
    try:
        (batch_id,) = db.execute("SELECT batch_id FROM batches WHERE name = 'survives a crash'").fetchone()
        runs = db.execute("SELECT run_id, status FROM runs WHERE batch_id = ? ORDER BY started_at",
                          [batch_id]).fetchall()
        assert [status for _, status in runs] == ["interrupted", "completed"], runs
        first_run, second_run = runs[0][0], runs[1][0]

        # every judgment and agent output exactly once
        judgments = db.execute("SELECT count(*), count(DISTINCT (item_id, candidate_id, judge_id, attribute_id, "
                               "sample)), count(score) FROM judgments WHERE batch_id = ?", [batch_id]).fetchone()
        assert judgments == (N_ITEMS * K * N_JUDGES * ATTRIBUTES,) * 3
        outputs = db.execute("SELECT count(*), count(DISTINCT (item_id, judge_id, agent, candidate_id, sample)), "
                             "count(*) FILTER (WHERE repaired) FROM agent_outputs WHERE batch_id = ?",
                             [batch_id]).fetchone()
        assert outputs[:2] == (CALLS, CALLS)
        expected_calls = CALLS + outputs[2]  # an output that failed its checks cost one repair re-prompt

        # the ledger: every cache key paid once; the second run re-read the first run's calls from the cache
        calls = db.execute("SELECT call_id, run_id, cache_key, cache_hit, cached_from, model, "
                           "request->'messages' AS messages FROM llm_calls WHERE batch_id = ? AND error IS NULL",
                           [batch_id]).df()
        paid = calls[~calls.cache_hit]
        assert paid.cache_key.is_unique and len(paid) == expected_calls
        first_paid = paid[paid.run_id == first_run]
        second_hits = calls[calls.cache_hit & (calls.run_id == second_run)]
        assert len(first_paid) > 0 and set(first_paid.cache_key) <= set(second_hits.cache_key)
        assert set(second_hits.cached_from) <= set(first_paid.call_id)
        assert not set(paid[paid.run_id == second_run].cache_key) & set(first_paid.cache_key)
    finally:
        db.close()

    # the provider's side: nothing the first life stored was asked for again; the only bodies asked twice are
    # the few whose replies the first life never stored (in flight when it died)
    requests = fake.requests
    assert all(r.outcome == "ok" for r in requests)
    asked = Counter(_key(r.body["model"], r.body["messages"]) for r in requests)
    stored_first = {_key(m, json.loads(msgs)) for m, msgs in zip(first_paid.model, first_paid.messages,
                                                                  strict=True)}
    stored = {_key(m, json.loads(msgs)) for m, msgs in zip(paid.model, paid.messages, strict=True)}
    assert stored <= set(asked), "every stored call matches a request the provider saw"
    assert len(asked) == expected_calls
    asked_twice = {k for k, n in asked.items() if n > 1}
    assert max(asked.values()) <= 2
    assert not asked_twice & stored_first, "a call whose reply was stored was paid again"
    # in flight (at most CONCURRENCY per judge) or answered while their record was on its way to the store
    assert len(asked_twice) <= 2 * N_JUDGES * CONCURRENCY, len(asked_twice)
    assert len(requests) == expected_calls + len(asked_twice)
