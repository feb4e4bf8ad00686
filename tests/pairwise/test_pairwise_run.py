"""Pairwise batches end to end against the fake server's planted pairwise judge: calls, orders, store, cache.

Two judges, three contexts of four candidates (each candidate's text carries its responder's marker, which the
planted judge reads from the prompt): every judge pays ToM + domain + k(k−1) pairwise calls per context, every
pair is stored in both orders, a re-run makes 0 calls and stores each verdict once, and the CLI and the
service core run the same mode.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from council.cli import main as council_main
from council.pairwise.report import pairwise_report
from council.pairwise.run import run_pairwise_batch
from council.pairwise_tables import formula_calls
from council.run import LocalExecutor, prepare_batch
from council.service.core import CouncilCore, RequestError
from council.service.estimate import estimate_batch
from council.service.schemas import BatchRequest
from council.stats.types import BootstrapSpec
from council.store.store import Store
from council.types import Batch, BatchItem, CouncilSpec, PairwiseOptions
from judges.testing import FakeOpenAIServer
from judges.types import Candidate
from protocols import load_protocol
from tests.conftest import NO_BACKOFF

RESPONDERS = {"best": 2.0, "good": 0.7, "weak": -0.7, "worst": -2.0}


def _batch(n_items: int = 3) -> Batch:
    items = [BatchItem(id=f"i{i}", context=f"I feel alone since my move, day {i}.", candidates=[
        Candidate(id=f"c{k}", responder=r, text=f"Reply {k} to day {i}. [{r}]") for k, r in enumerate(RESPONDERS)])
        for i in range(n_items)]
    return Batch(items=items, name="pairwise-test")


def _council(srv: FakeOpenAIServer) -> CouncilSpec:
    judges = [{"id": f"j{n}", "model": f"openai/fake-{n}", "api_base": srv.base_url, "structured_output": "json_schema",
               "timeout_s": 5.0, "max_attempts": 2, "top_logprobs": 5} for n in range(2)]
    return CouncilSpec.model_validate({"id": "pairwise-test", "judges": judges})


def _planted(make_fake_server: Callable[..., FakeOpenAIServer], bias: float = 0.0) -> FakeOpenAIServer:
    return make_fake_server(planted_strengths={f"[{r}]": s for r, s in RESPONDERS.items()}, first_position_bias=bias)


async def test_every_pair_in_both_orders_calls_equal_the_formula_and_a_rerun_costs_nothing(
    make_fake_server: Callable[..., FakeOpenAIServer],
) -> None:
    srv = _planted(make_fake_server)
    batch, protocol, council, options = _batch(), load_protocol("mentalalign-7"), _council(srv), PairwiseOptions()
    store = Store()
    batch_id = prepare_batch(store, batch, protocol, council, pairwise=options)
    executor = LocalExecutor(store, retry=NO_BACKOFF)
    first = await run_pairwise_batch(store, batch_id, batch, protocol, council, executor, options)
    k, judges = 4, 2
    assert first.calls_made == srv.count == formula_calls(batch, council, options) == 3 * judges * (2 + k * (k - 1))
    agents = store.query("SELECT agent, count(*) AS n FROM llm_calls WHERE batch_id = ? GROUP BY agent", [batch_id])
    assert dict(zip(agents.agent, agents.n, strict=True)) == {"tom": 6, "domain": 6, "pairwise": 72}
    verdicts = store.pair_verdicts(batch_id)
    assert len(verdicts) == first.judgments == 72 and first.abstentions == 0
    orders = verdicts.groupby(["item_id", "judge_id", "order"]).size()
    assert set(orders) == {6}  # C(4, 2) pairs per context and judge, in each order
    swapped = set(zip(verdicts.first_candidate, verdicts.second_candidate, strict=True))
    assert all((b, a) in swapped for a, b in swapped)
    assert verdicts.p_first.notna().all()
    assert (verdicts.preference - (verdicts.p_first - verdicts.p_second)).abs().max() < 1e-12

    again = await run_pairwise_batch(store, batch_id, batch, protocol, council, LocalExecutor(store), options)
    assert again.calls_made == 0 and again.calls_cached == first.calls_made and srv.count == first.calls_made
    assert len(store.pair_verdicts(batch_id)) == 72  # stored once
    board = pairwise_report(store, batch_id, BootstrapSpec(n_boot=50)).leaderboards[0]
    assert [s.responder for s in board.strengths] == list(RESPONDERS)  # the planted order, best first


async def test_reference_pairs_compare_each_candidate_with_the_reference_only(
    make_fake_server: Callable[..., FakeOpenAIServer],
) -> None:
    srv = _planted(make_fake_server)
    batch, protocol, council = _batch(2), load_protocol("epitome"), _council(srv)
    options = PairwiseOptions(pairs="reference:good", compare="attributes")
    store = Store()
    batch_id = prepare_batch(store, batch, protocol, council, pairwise=options)
    summary = await run_pairwise_batch(store, batch_id, batch, protocol, council, LocalExecutor(store), options)
    assert summary.calls_made == 2 * 2 * (2 + 2 * 3)  # items × judges × (ToM + domain + 3 pairs × 2 orders)
    verdicts = store.pair_verdicts(batch_id)
    assert ((verdicts.first_responder == "good") != (verdicts.second_responder == "good")).all()
    assert sorted(verdicts.attribute.unique()) == sorted(protocol.attribute_ids)
    assert len(verdicts) == 2 * 2 * 6 * len(protocol.attribute_ids)
    estimate = estimate_batch(batch, protocol, council, options)
    assert estimate.calls == summary.calls_made


def test_estimate_counts_pairwise_calls_and_bad_pairs_are_refused_naming_the_field() -> None:
    batch, protocol = _batch(3), load_protocol("mentalalign-7")
    council = CouncilSpec.model_validate({"judges": [{"id": "j", "model": "openai/x", "api_base": "http://127.0.0.1:9/v1",
                                                      "samples": 2}]})
    assert estimate_batch(batch, protocol, council, PairwiseOptions()).calls == 3 * (2 + 2 * 6 * 2)
    assert estimate_batch(batch, protocol, council, PairwiseOptions(pairs=2)).calls == 3 * (2 + 2 * 2 * 2)
    assert estimate_batch(batch, protocol, council).calls == 3 * (2 + 4 * 2)  # absolute mode unchanged
    for bad in ("some", 0, -3, "reference:", True):
        with pytest.raises(ValidationError) as e:
            BatchRequest(items=batch.items, mode="pairwise", pairs=bad)
        assert e.value.errors()[0]["loc"] == ("pairs",)


async def test_service_core_runs_a_pairwise_submission(make_fake_server: Callable[..., FakeOpenAIServer]) -> None:
    srv = _planted(make_fake_server)
    council = _council(srv)
    core = CouncilCore(Store(), LocalExecutor(None, retry=NO_BACKOFF), {"fake": council})
    core.executor = LocalExecutor(core.store, retry=NO_BACKOFF)
    items = _batch(2).items
    with pytest.raises(RequestError) as refused:
        core.estimate("me", BatchRequest(items=items, council="fake", mode="pairwise", pairs="reference:nobody"))
    assert refused.value.field == "pairs"
    request = BatchRequest(items=items, council="fake", mode="pairwise", pairs=3)
    assert core.estimate("me", request).calls == 2 * 2 * (2 + 2 * 3)
    accepted = await core.submit("me", request)
    absolute = await core.submit("me", BatchRequest(items=items, council="fake"))
    assert absolute.batch_id != accepted.batch_id  # the mode is part of the batch's identity
    await core.cancel("me", absolute.batch_id)
    await asyncio.wait_for(core._runs[accepted.batch_id], 60)
    status = core.status("me", accepted.batch_id)
    assert status.status == "completed" and status.progress.units_done == 4
    verdicts = core.store.pair_verdicts(accepted.batch_id)
    assert len(verdicts) == 2 * 2 * 3 * 2 and set(verdicts["order"]) == {"AB", "BA"}
    report = core.pairwise_report("me", accepted.batch_id, n_boot=50)  # GET /v1/batches/{id}/pairwise
    strengths = report["leaderboards"][0]["strengths"]
    assert all(s["ci_low"] <= s["strength"] <= s["ci_high"] for s in strengths)
    assert strengths[0]["responder"] == "best" and strengths[-1]["responder"] == "worst"
    with pytest.raises(RequestError) as not_pairwise:
        core.pairwise_report("me", absolute.batch_id)
    assert not_pairwise.value.field == "batch_id"


def test_cli_runs_pairwise_mode_and_prints_the_leaderboard(
    make_fake_server: Callable[..., FakeOpenAIServer], tmp_path: Path, capsys: Any,
) -> None:
    srv = _planted(make_fake_server)
    batch_file, council_file = tmp_path / "batch.jsonl", tmp_path / "council.json"
    batch_file.write_text("\n".join(i.model_dump_json() for i in _batch(2).items))
    council_file.write_text(json.dumps(_council(srv).model_dump(mode="json")))
    db = tmp_path / "c.duckdb"
    argv = ["run", str(batch_file), "--council", str(council_file), "--db", str(db), "--no-local-up",
            "--mode", "pairwise", "--pairs", "all"]
    assert council_main(argv) == 0
    out = capsys.readouterr().out
    assert "Bradley–Terry strengths" in out and "position_consistency_rate" in out
    assert "calls by the formula: 56" in out and srv.count == 56  # 2 items × 2 judges × (2 + 12)
    assert council_main(argv) == 0 and srv.count == 56  # the re-run is served from the cache
    assert council_main([*argv[:-1], "sometimes"]) == 2
    assert "--pairs" in capsys.readouterr().err
