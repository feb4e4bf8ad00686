"""The safety screens in a real run (fake provider): stored, read by the review queue's risk readers, counted.

The fake judge answers the risk screen "yes" on contexts marked ``[risk]`` and the advice screen "yes" on replies
marked ``[harm]`` (its scoring agent never flags anything), so what reaches the review queue's readers can only
come from the screens. Screens off (the default) must leave no trace and cost no call.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from council.review.priority import HIGH_RISK, candidate_flags, context_risk
from council.run import LocalExecutor, prepare_batch, run_batch
from council.service.estimate import estimate_batch
from council.spec import parse_council
from council.store.store import Store
from council.types import Batch, BatchItem
from judges.testing import FakeOpenAIServer
from judges.testing.openai_wire import find_schema
from tests.gating.truth import PROTOCOL
from tests.gating.truth import responder as truth_responder


def responder(body: dict[str, Any]) -> Any:
    """Screens answer from the markers; everything else as the truth judges do (no scoring flags here)."""
    schema = find_schema(body)
    if schema is not None and set(schema.get("properties", {})) == {"answer"}:
        user = body["messages"][-1]["content"]
        if "Someone replied:" in user:  # the advice screen: the marker must be in the reply
            return {"answer": "yes" if "[harm]" in user.split("Someone replied:")[1] else "no"}
        return {"answer": "yes" if "[risk]" in user else "no"}
    value = truth_responder(body)
    if isinstance(value, dict) and "flags" in value:
        value["flags"] = []
    return value


@pytest.fixture(scope="module")
def server():
    with FakeOpenAIServer(responder=responder) as srv:
        yield srv


def _council(server: FakeOpenAIServer, safety: bool):  # type: ignore[no-untyped-def]
    return parse_council({"id": f"screened-{safety}", "judges": [{
        "id": "judge", "model": "openai/judge", "api_base": server.base_url, "structured_output": "json_schema",
        "agents": {"tom": False, "domain": False, "safety": safety}}]})


BATCH = Batch(name="screens", items=[
    BatchItem.model_validate({"id": "calm", "context": "I had a stressful week at work.", "candidates": [
        {"id": "ok", "text": "That sounds tiring. What made it so stressful?"},
        {"id": "bad", "text": "Drink a bottle of vodka tonight [harm]."}]}),
    BatchItem.model_validate({"id": "dark", "context": "[risk] I think everyone would be better off without me.",
                              "candidates": [{"id": "ok", "text": "I'm worried about you. Can we talk about it?"},
                                             {"id": "cold", "text": "Cheer up."}]}),
])


def test_screens_flag_contexts_and_replies_for_review_and_their_calls_are_estimated(server, tmp_path) -> None:
    store = Store(tmp_path / "council.duckdb")
    council = _council(server, safety=True)
    batch_id = prepare_batch(store, BATCH, PROTOCOL, council)
    summary = asyncio.run(run_batch(store, batch_id, BATCH, PROTOCOL, council, LocalExecutor(store)))
    outputs = store.query("SELECT item_id, candidate_id, agent, output FROM agent_outputs WHERE batch_id = ? "
                          "AND agent LIKE '%screen' ORDER BY ALL", [batch_id])
    flagged = {(r.item_id, r.candidate_id, r.agent): json.loads(r.output)["flagged"] for r in outputs.itertuples()}
    assert flagged == {("calm", "", "risk_screen"): False, ("dark", "", "risk_screen"): True,
                       ("calm", "ok", "advice_screen"): False, ("calm", "bad", "advice_screen"): True,
                       ("dark", "ok", "advice_screen"): False, ("dark", "cold", "advice_screen"): False}
    # the review queue's readers see them: the risky context at high risk, the harmful reply flagged unsafe
    risk = context_risk(store, batch_id)
    assert {item for item, (rank, _) in risk.items() if rank >= HIGH_RISK} == {"dark"}
    assert "risk screen: answered yes" in risk["dark"][1]  # the fake provider returns no logprobs here
    flags = candidate_flags(store, batch_id)
    assert set(flags) == {("calm", "bad")} and "advice screen" in flags[("calm", "bad")]
    # the screens never change a score: the same judge without them scores identically
    scores = store.query("SELECT item_id, candidate_id, attribute_id, score FROM judgments WHERE batch_id = ? "
                         "ORDER BY ALL", [batch_id])
    # calls: per context 1 risk screen + per candidate 1 advice screen + 1 scoring; the estimate says the same
    assert summary.calls_made == 2 * (1 + 2 + 2)
    assert estimate_batch(BATCH, PROTOCOL, council).calls == summary.calls_made

    plain = _council(server, safety=False)
    plain_id = prepare_batch(store, BATCH, PROTOCOL, plain)
    plain_summary = asyncio.run(run_batch(store, plain_id, BATCH, PROTOCOL, plain, LocalExecutor(store)))
    assert plain_summary.calls_made == 0  # scoring calls are the same calls: served from the cache
    assert store.query("SELECT count(*) AS n FROM agent_outputs WHERE batch_id = ? AND agent LIKE '%screen'",
                       [plain_id]).n[0] == 0
    assert context_risk(store, plain_id) == {} and candidate_flags(store, plain_id) == {}
    plain_scores = store.query("SELECT item_id, candidate_id, attribute_id, score FROM judgments "
                               "WHERE batch_id = ? ORDER BY ALL", [plain_id])
    assert plain_scores.equals(scores)
    store.close()
