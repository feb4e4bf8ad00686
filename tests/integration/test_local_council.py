"""A 2-context batch through the real embedded judges (llama.cpp): ToM → domain → scoring, stored in DuckDB.

Slow (minutes on 2 cores): every call is a real generation by Qwen2.5-Coder-0.5B or SmolLM2-135M.
"""

import json

import pandas as pd
import pytest

from council.batchfile import read_batch
from council.cli import DEMO_BATCH
from council.run import LocalExecutor, prepare_batch, run_batch
from council.spec import default_council
from council.store.store import Store
from council.types import Batch, BatchItem
from protocols import load_protocol

pytestmark = [pytest.mark.local_llm, pytest.mark.timeout(1800)]


def two_context_batch() -> Batch:
    demo = read_batch(DEMO_BATCH)
    keep = ("empathic", "unsafe")
    items = [BatchItem(id=i.id, context=i.context, candidates=[c for c in i.candidates if c.id in keep])
             for i in demo.items[:2]]
    return Batch(items=items, name="integration")


async def test_two_contexts_through_the_full_pipeline(local_judges, tmp_path):
    store = Store(tmp_path / "council.duckdb")
    batch, protocol, council = two_context_batch(), load_protocol("epitome"), default_council()
    assert [j.id for j in council.judges] == ["qwen2.5-coder-0.5b-instruct", "smollm2-135m-instruct"]
    batch_id = prepare_batch(store, batch, protocol, council)
    first = await run_batch(store, batch_id, batch, protocol, council, LocalExecutor(store))
    print(store.query("SELECT judge_id, agent, count(*) AS calls, avg(latency_ms)::INT AS ms, "
                      "avg(completion_tokens)::INT AS out_tokens FROM llm_calls GROUP BY ALL ORDER BY ALL"))
    assert first.status == "completed" and first.calls_made > 0 and first.calls_cached == 0

    calls = store.query("SELECT * FROM llm_calls WHERE run_id = ?", [first.run_id])
    assert len(calls) == first.calls_made
    assert calls.error.isna().all(), "a local judge call failed"
    assert (calls.completion_tokens > 0).all() and (calls.latency_ms > 0).all()
    assert set(calls.prompt_version.str.split("@").str[0]) <= {"tom.v1", "domain.v1", "scoring.v1"}

    outputs = store.query("SELECT * FROM agent_outputs WHERE batch_id = ?", [batch_id])
    k = 2
    for judge in council.judges:
        for item in batch.items:
            mine = outputs[(outputs.judge_id == judge.id) & (outputs.item_id == item.id)]
            by_agent = mine.groupby("agent").size().to_dict()
            own_calls = calls[(calls.judge_id == judge.id) & (calls.item_id == item.id)]
            first_attempts = own_calls[own_calls.request.map(lambda r: len(json.loads(r)["messages"]) == 2)]
            tom_row = mine[mine.agent == "tom"].iloc[0]
            assert by_agent.get("tom") == 1 and by_agent.get("scoring") == k
            assert by_agent.get("domain", 0) == (1 if pd.isna(tom_row.abstention) else 0)
            domain_rows = mine[mine.agent == "domain"]
            upstream_ok = len(domain_rows) == 1 and pd.isna(domain_rows.iloc[0].abstention)
            if upstream_ok:
                # ToM and domain once per (judge, context), scoring once per candidate: 2 + k calls (+ repairs)
                assert len(first_attempts) == 2 + k
                assert sorted(first_attempts.agent) == ["domain", "scoring", "scoring", "tom"]
            else:
                scoring = mine[mine.agent == "scoring"]
                assert (scoring.abstention == "upstream_failed").all()
            repairs = int(mine.repaired.sum())
            assert len(own_calls) == len(first_attempts) + repairs
            # ToM and domain never see a candidate
            for request in own_calls[own_calls.agent.isin(["tom", "domain"])].request:
                for cand in item.candidates:
                    assert cand.text[:60] not in request

    judgments = store.query("SELECT * FROM judgments WHERE batch_id = ?", [batch_id])
    assert len(judgments) == len(council.judges) * batch.n_candidates * len(protocol.attributes)
    scored = judgments[judgments.score.notna()]
    abstained = judgments[judgments.score.isna()]
    assert scored.score.isin([0.0, 1.0, 2.0]).all()
    assert abstained.abstention.notna().all() and scored.abstention.isna().all()
    assert (judgments.protocol_hash == protocol.content_hash).all()

    # the same batch again: everything from the cache, the same judgments, stored once
    second = await run_batch(store, batch_id, batch, protocol, council, LocalExecutor(store))
    assert second.calls_made == 0
    assert second.calls_cached == first.calls_made
    again = store.query("SELECT * FROM judgments WHERE batch_id = ?", [batch_id])
    assert len(again) == len(judgments)
    key = ["item_id", "candidate_id", "judge_id", "attribute_id"]
    assert (again.sort_values(key).score.fillna(-1).values == judgments.sort_values(key).score.fillna(-1).values).all()
    store.close()
