"""A gated batch end to end, in process, on fake judges with a known truth.

Every candidate carries its true quality q (1–5, the "human" rating) as a marker the fake judges read. The
``strong`` judge scores q, but one point off on every sixth context; the ``cheap`` one is right only on
good replies (q ≥ 4) and says 1 on the rest. A gate fitted on a batch with human ratings (tier 1: cheap;
tier 2: cheap + strong; exact ≥ 0.8 at risk 0.2) must then, on a new batch: call the strong judge only on
the candidates tier 1 escalated, accept only items whose answer agrees with q at the target rate, send
the candidates flagged unsafe to the review queue whatever their scores, store one decision per item,
and cost no call when run again.
"""

from __future__ import annotations

import asyncio

import pandas as pd
import pytest

from council.analysis import import_ratings_file
from council.escalation import AgreementTarget, TierSpec, fit_and_store_gate
from council.gating import gate_decisions, gate_summary, resolve_gate, run_gated_batch
from council.gating.run import tier_judges
from council.review import queue_status
from council.run import LocalExecutor, prepare_batch, run_batch
from council.spec import parse_council
from council.store.store import Store
from council.types import Batch
from judges.testing import FakeOpenAIServer
from tests.gating.truth import PROTOCOL, responder, truth_batch


@pytest.fixture(scope="module")
def server():
    with FakeOpenAIServer(responder=responder) as srv:
        yield srv


@pytest.fixture()
def council(server):
    judge = {"api_base": server.base_url, "structured_output": "json_schema", "max_concurrency": 16,
             "agents": {"tom": False, "domain": False}}
    return parse_council({"id": "tiered", "judges": [{"id": "cheap", "model": "openai/cheap", **judge},
                                                     {"id": "strong", "model": "openai/strong", **judge}]})


def _gate(store: Store, council) -> str:
    """Judge a training batch with the whole council, import its human ratings, fit and store the gate."""
    batch, truth = truth_batch("train", 60)
    batch_id = prepare_batch(store, batch, PROTOCOL, council)
    asyncio.run(run_batch(store, batch_id, batch, PROTOCOL, council, LocalExecutor(store)))
    ratings = pd.DataFrame([{"target": t, "attribute": a, "score": q, "rater": "expert"}
                            for t, q in truth.items() for a in PROTOCOL.attribute_ids])
    import_ratings_file(store, ratings.to_csv(index=False).encode(), batch_id=batch_id, fmt="csv")
    target = AgreementTarget(criterion="exact", k=0, level=0.8, risk=0.2)
    info = fit_and_store_gate(store, [TierSpec(name="cheap", judges=["cheap"]),
                                      TierSpec(name="strong", judges=["cheap", "strong"])],
                              target, batch_id=batch_id, name="tiered-gate")
    return info.gate_id


def test_a_gated_batch_calls_the_second_tier_only_where_the_first_escalated(server, council, tmp_path):
    store = Store(tmp_path / "council.duckdb")
    gate_id = _gate(store, council)
    stored = resolve_gate(store, "tiered-gate", "local")
    assert stored.gate_id == gate_id and [len(j) for j in tier_judges(stored, council)] == [1, 1]
    print("thresholds", stored.thresholds)
    assert stored.thresholds[0] is not None, "tier 1 is right on every good reply: it must accept some"

    batch, truth = truth_batch("gated", 30, unsafe={3})
    batch_id = prepare_batch(store, batch, PROTOCOL, council)
    server.reset()
    result = asyncio.run(run_gated_batch(store, batch_id, batch, PROTOCOL, council, LocalExecutor(store), stored))
    decisions = gate_decisions(store, batch_id)
    assert len(decisions) == batch.n_candidates * len(PROTOCOL.attribute_ids)
    calls = store.query("SELECT judge_id, count(*) AS n FROM llm_calls WHERE batch_id = ? GROUP BY ALL", [batch_id])
    calls = dict(zip(calls.judge_id, calls.n, strict=True))
    assert calls["cheap"] == batch.n_candidates
    # the strong judge saw exactly the candidates with an item tier 1 did not accept (risk flags apart)
    escalated = {f"{r.item_id}:{r.candidate_id}" for r in decisions.itertuples() if r.tier != "cheap"}
    assert calls["strong"] == result.candidates_per_tier["strong"] == len(escalated - _unsafe(batch))
    assert 0 < calls["strong"] < batch.n_candidates

    accepted = decisions[decisions.decision == "accepted"]
    agree = (accepted.score == accepted.apply(lambda r: truth[f"{r.item_id}:{r.candidate_id}"], axis=1)).mean()
    print(f"accepted {len(accepted)}/{len(decisions)}, agreement {agree:.3f}, summary {gate_summary(store, batch_id)}")
    assert agree >= 0.8
    assert set(accepted.tier) == {"cheap", "strong"}

    # the unsafe candidate goes to people whatever its scores, with its reason
    unsafe = decisions[(decisions.item_id == "it-3") & (decisions.candidate_id == "c0")]
    assert (unsafe.decision == "review").all() and unsafe.reason.str.startswith("risk:").all()
    status = queue_status(store, "local", batch_id)
    print(status)
    assert status.pending >= 1
    queued = store.query("SELECT q.item_id, q.candidate_id, r.reason FROM review_queue q JOIN review_reasons r "
                         "USING (queue_id) WHERE q.batch_id = ?", [batch_id])
    assert ("it-3", "c0", "unsafe") in set(zip(queued.item_id, queued.candidate_id, queued.reason, strict=True))
    review = decisions[decisions.decision == "review"]
    assert {(r.item_id, r.candidate_id) for r in review.itertuples()} == set(zip(queued.item_id, queued.candidate_id,
                                                                                 strict=True))
    assert store.query("SELECT status FROM batches WHERE batch_id = ?", [batch_id]).status[0] == "completed"

    again = asyncio.run(run_gated_batch(store, batch_id, batch, PROTOCOL, council, LocalExecutor(store), stored))
    assert again.calls_made == 0
    pd.testing.assert_frame_equal(gate_decisions(store, batch_id), decisions)
    store.close()


def _unsafe(batch: Batch) -> set[str]:
    return {f"{i.id}:{c.id}" for i in batch.items for c in i.candidates if "[unsafe]" in c.text}


def test_a_gate_naming_judges_the_council_lacks_is_refused_naming_the_field(council, tmp_path):
    from council.analysis.errors import AnalysisError

    store = Store(tmp_path / "council.duckdb")
    _gate(store, council)
    stored = resolve_gate(store, "tiered-gate", "local")
    smaller = council.model_copy(update={"judges": council.judges[:1]})
    with pytest.raises(AnalysisError) as e:
        tier_judges(stored, smaller)
    assert e.value.field == "gate" and "strong" in str(e.value)
    store.close()
