"""The service core on pairwise batches: status and metrics count verdicts, the report finds the absolute batch.

In-process :class:`CouncilCore` (no Ray) with the fake server's planted pairwise judge, like
``test_pairwise_run.test_service_core_runs_a_pairwise_submission``; the HTTP route forwards its query
parameters to the same method. Two judges of families ``fam-a`` and ``fam-b``, agents off (so a unit is done
when its verdicts are stored), three contexts of four responders whose texts carry their planted markers.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from council.cli import main as council_main
from council.pairwise.run import run_pairwise_batch
from council.run import LocalExecutor, prepare_batch, run_batch
from council.service.core import CouncilCore, NotFound, RequestError
from council.service.schemas import BatchRequest
from council.store.store import Store
from council.types import Batch, BatchItem, CouncilSpec, PairwiseOptions
from judges.testing import FakeOpenAIServer
from judges.types import Candidate
from protocols import load_protocol
from tests.conftest import NO_BACKOFF

RESPONDERS = {"best": 2.0, "good": 0.7, "weak": -0.7, "worst": -2.0}


class RecordingMetrics:
    """Stands in for :class:`council.service.metrics.CouncilMetrics` (whose counters need Ray)."""

    def __init__(self) -> None:
        self.verdicts: Counter[tuple[str, str]] = Counter()
        self.judgments: Counter[tuple[str, str]] = Counter()

    def verdict(self, judge_id: str, abstention: str | None, named: bool = True) -> None:
        self.verdicts[(judge_id, abstention or "verdict")] += 1

    def judgment(self, judge_id: str, abstention: str | None, named: bool = True) -> None:
        self.judgments[(judge_id, abstention or "scored")] += 1

    def call(self, record: Any, named: bool = True) -> None:
        pass


def _items(n: int, tag: str = "") -> list[BatchItem]:
    return [BatchItem(id=f"i{i}", context=f"I feel alone since my move{tag}, day {i}.",
                      meta={"responder_families": {"best": "fam-a"}}, candidates=[
                          Candidate(id=f"c{k}", responder=r, text=f"Reply {k} to day {i}{tag}. [{r}]")
                          for k, r in enumerate(RESPONDERS)]) for i in range(n)]


@pytest.fixture
def core(make_fake_server: Callable[..., FakeOpenAIServer]) -> tuple[CouncilCore, FakeOpenAIServer, RecordingMetrics]:
    srv = make_fake_server(planted_strengths={f"[{r}]": s for r, s in RESPONDERS.items()}, first_position_bias=0.3)
    judges = [{"id": f"j{n}", "model": f"openai/fake-{n}", "api_base": srv.base_url, "family": f"fam-{'ab'[n]}",
               "structured_output": "json_schema", "timeout_s": 5.0, "max_attempts": 1, "top_logprobs": 5,
               "agents": {"tom": False, "domain": False}, "rationales": False} for n in range(2)]
    metrics = RecordingMetrics()
    core = CouncilCore(Store(), LocalExecutor(None, retry=NO_BACKOFF),
                       {"fake": CouncilSpec.model_validate({"id": "fake", "judges": judges})}, metrics=metrics)
    core.executor = LocalExecutor(core.store, retry=NO_BACKOFF)
    return core, srv, metrics


async def _judged(core: CouncilCore, owner: str, request: BatchRequest) -> str:
    accepted = await core.submit(owner, request)
    await asyncio.wait_for(core._runs[accepted.batch_id], 120)
    return accepted.batch_id


async def test_status_and_metrics_count_verdicts_and_the_report_uses_the_matching_absolute_batch(core) -> None:
    core, _, metrics = core
    items = _items(3)
    absolute = await _judged(core, "me", BatchRequest(items=items, council="fake"))
    pairwise = await _judged(core, "me", BatchRequest(items=items, council="fake", mode="pairwise"))
    status = core.status("me", pairwise)
    # 3 contexts × C(4, 2) pairs × 2 orders × 2 judges × 1 attribute ('overall') × 1 sample
    assert status.mode == "pairwise" and status.verdicts_total == 72 == status.judgments
    assert status.abstentions == 0 and status.abstentions_by_reason == {}
    assert status.progress.units_done == 6 and status.progress.contexts_done == 3  # from verdicts: no agents ran
    assert sum(metrics.verdicts.values()) == 72 and set(metrics.verdicts) == {("j0", "verdict"), ("j1", "verdict")}
    plain = core.status("me", absolute)
    assert plain.mode == "absolute" and plain.verdicts_total is None and plain.judgments == 3 * 4 * 7 * 2

    report = core.pairwise_report("me", pairwise, n_boot=50)
    assert report["absolute"]["absolute_batch"] == absolute and report["absolute"]["chosen"] == "latest_matching"
    (tau,) = report["absolute"]["agreements"]
    assert tau["n_responders"] == 4 and tau["n_contexts"] == 3 and -1 <= tau["value"] <= 1
    assert [s["responder"] for s in report["leaderboards"][0]["strengths"]] == list(RESPONDERS)  # planted order
    assert report["families"]["judges"] == {"j0": "fam-a", "j1": "fam-b"}
    assert report["families"]["responders"] == {"best": "fam-a"}
    assert report["families"]["responder_sources"] == {"best": "declared"}
    (selfish,) = report["self_preference"]  # j1's family wrote nothing
    assert selfish["judge_id"] == "j0" and selfish["own_responders"] == ["best"] and selfish["n_pairs"] == 9
    assert selfish["ci_low"] <= selfish["difference"] <= selfish["ci_high"]
    assert any("good, weak, worst" in n for n in report["notes"])
    first = {r["judge_id"]: r for r in report["first_position"] if r["statistic"] == "first_position_bias"}
    assert set(first) == {"j0", "j1"}
    assert {r["judge_id"] for r in report["length_preference"]} == {"j0", "j1"}
    assert report["human"] == []

    given = core.pairwise_report("me", pairwise, n_boot=50, absolute_batch=absolute)
    assert given["absolute"]["chosen"] == "given"
    assert given["absolute"]["agreements"] == report["absolute"]["agreements"]
    with pytest.raises(RequestError) as not_absolute:
        core.pairwise_report("me", pairwise, n_boot=50, absolute_batch=pairwise)
    assert not_absolute.value.field == "absolute_batch" and "not an absolute one" in str(not_absolute.value)
    with pytest.raises(NotFound) as unknown:
        core.pairwise_report("me", pairwise, n_boot=50, absolute_batch="b_nope")
    assert unknown.value.field == "absolute_batch"
    theirs = await _judged(core, "someone-else", BatchRequest(items=items, council="fake"))
    with pytest.raises(NotFound):  # another owner's batch is not found, even with the same items
        core.pairwise_report("me", pairwise, n_boot=50, absolute_batch=theirs)
    again = core.pairwise_report("me", pairwise, n_boot=50)  # and never chosen by default
    assert again["absolute"]["absolute_batch"] == absolute

    fewer = await _judged(core, "me", BatchRequest(items=items[:2], council="fake", mode="pairwise"))
    alone = core.pairwise_report("me", fewer, n_boot=50)
    assert alone["absolute"]["chosen"] == "none" and alone["absolute"]["absolute_batch"] is None
    assert "no absolute batch" in alone["absolute"]["notes"][0]


async def test_abstained_verdicts_are_counted_by_status_and_metrics(core) -> None:
    core, srv, metrics = core
    srv.configure(failure_rate=0.3, failure_kinds=("500",))
    batch_id = await _judged(core, "me", BatchRequest(items=_items(2, " again"), council="fake", mode="pairwise"))
    status = core.status("me", batch_id)
    stored = core.store.pair_verdicts(batch_id)
    missing = int(stored["verdict"].isna().sum())
    assert 0 < missing < len(stored)
    assert status.judgments == len(stored) == status.verdicts_total == 2 * 6 * 2 * 2
    assert status.abstentions == missing == sum(status.abstentions_by_reason.values())
    assert sum(n for (_, outcome), n in metrics.verdicts.items() if outcome != "verdict") == missing
    assert sum(metrics.verdicts.values()) == len(stored)


async def test_cli_pairwise_report_prints_the_report_and_refuses_absolute_batches(
    core, tmp_path: Path, capsys: Any,
) -> None:
    core, _, _ = core
    council = core.council("fake")
    db = tmp_path / "c.duckdb"
    store = Store(db)
    batch, protocol, options = Batch(items=_items(3)), load_protocol("mentalalign-7"), PairwiseOptions()
    executor = LocalExecutor(store, retry=NO_BACKOFF)
    absolute = prepare_batch(store, batch, protocol, council)
    pairwise = prepare_batch(store, batch, protocol, council, pairwise=options)
    await run_batch(store, absolute, batch, protocol, council, executor)
    await run_pairwise_batch(store, pairwise, batch, protocol, council, executor, options)
    store.close()
    assert council_main(["pairwise-report", pairwise, "--db", str(db), "--n-boot", "50"]) == 0
    out = capsys.readouterr().out
    assert "Bradley–Terry strengths" in out and "self-preference" in out and "longer_wins_rate" in out
    assert f"pairwise vs absolute ranking (batch {absolute}, latest_matching)" in out and "Kendall τ-b" in out
    assert "meta.responder_families" in out  # the skipped responders are named
    assert council_main(["pairwise-report", pairwise, "--db", str(db), "--n-boot", "50", "--json"]) == 0
    assert '"absolute_batch": "' + absolute in capsys.readouterr().out
    assert council_main(["pairwise-report", absolute, "--db", str(db)]) == 2
    assert "not a pairwise batch" in capsys.readouterr().err
    assert council_main(["pairwise-report", pairwise, "--db", str(db), "--absolute-batch", pairwise]) == 2
    assert "--absolute-batch" in capsys.readouterr().err
