"""Pairwise mode: does the jury recover a planted ordering and a planted first-position bias, at the formula's cost?

``--fake`` (offline, seconds to minutes): the fake OpenAI server's planted pairwise judge
(:mod:`judges.testing.planted`) over ``--contexts`` contexts of 6 responders whose candidates carry their
responder's marker, Bradley–Terry log-strengths 1.5, 0.9, …, −1.5 and a first-position bias of 0.30 (it answers
"A" blindly with that probability). Two judges (two model names on the same server, so independent draws), all
pairs in both orders. Prints Kendall τ of the BT ranking against the planted one (bound ≥ 0.9), the recovered
first-position bias with its cluster-bootstrap CI (bound: within ±0.05 of 0.30), LLM calls made against the
formula (2 + k(k−1) per judge and context), and the re-run's calls (must be 0).

``--local`` (the embedded council, minutes on 2 cores; starts the local llama.cpp judges): the demo batch with
the default council, all pairs; prints the BT leaderboard with CIs, position statistics, calls vs the formula,
the re-run's calls, and whether empathic-with-guidance ranks above dismissive.

    .venv/bin/python bench/bench_pairwise.py --fake [--contexts 40]
    .venv/bin/python bench/bench_pairwise.py --local
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from council.pairwise.consistency import combine_orders, first_position_preference  # noqa: E402
from council.pairwise.leaderboard import leaderboard  # noqa: E402
from council.pairwise.report import PairwiseReport, pairwise_report  # noqa: E402
from council.pairwise.run import run_pairwise_batch  # noqa: E402
from council.pairwise_tables import formula_calls  # noqa: E402
from council.run import LocalExecutor, prepare_batch  # noqa: E402
from council.stats.types import BootstrapSpec  # noqa: E402
from council.store.store import Store  # noqa: E402
from council.types import Batch, BatchItem, CouncilSpec, PairwiseOptions, RunSummary  # noqa: E402
from judges.types import Candidate  # noqa: E402
from protocols import load_protocol  # noqa: E402

RESPONDERS = ["r1", "r2", "r3", "r4", "r5", "r6"]
PLANTED = [1.5, 0.9, 0.3, -0.3, -0.9, -1.5]
BIAS = 0.30
TAU_BOUND, BIAS_TOLERANCE = 0.9, 0.05
BOOT = BootstrapSpec(n_boot=1000, seed=0)


def fake_batch(n_contexts: int) -> Batch:
    """Contexts of 6 candidates, one per responder, each text carrying its responder's marker."""
    return Batch(name="bench-pairwise-fake", items=[
        BatchItem(id=f"ctx{i:03d}", context=f"Day {i}: I keep failing at everything and I feel so alone.",
                  candidates=[Candidate(id=f"c{k}", responder=r, text=f"Reply {k} on day {i}. <<{r}>>")
                              for k, r in enumerate(RESPONDERS)])
        for i in range(n_contexts)])


async def judge(store: Store, batch: Batch, council: CouncilSpec, options: PairwiseOptions,
                protocol_id: str = "mentalalign-7") -> tuple[str, RunSummary, RunSummary]:
    """Run the pairwise batch twice (the second from the cache); its id and both summaries."""
    protocol = load_protocol(protocol_id)
    batch_id = prepare_batch(store, batch, protocol, council, pairwise=options)
    first = await run_pairwise_batch(store, batch_id, batch, protocol, council, LocalExecutor(store), options)
    again = await run_pairwise_batch(store, batch_id, batch, protocol, council, LocalExecutor(store), options)
    return batch_id, first, again


def print_report(report: PairwiseReport) -> None:
    """The leaderboard(s) and position rates, one line each."""
    for board in report.leaderboards:
        print(f"Bradley–Terry ({board.attribute}, {report.score}, {board.ci_method}, {board.n_contexts} contexts):")
        for s in board.strengths:
            print(f"  {s.rank}. {s.responder:<22} {s.strength:+.3f}  [{s.ci_low:+.3f}, {s.ci_high:+.3f}]  "
                  f"rank {s.rank_low}–{s.rank_high}")
    for r in [*report.position_consistency, *report.first_position]:
        print(f"  {r.judge_id} {r.attribute} {r.statistic} = {r.value:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}] (n {r.n})")


def print_calls(first: RunSummary, again: RunSummary, formula: int) -> bool:
    """Calls made vs the formula and the re-run's calls; True when both hold."""
    print(f"calls made {first.calls_made} vs formula {formula} (ratio {first.calls_made / formula:.3f}); "
          f"re-run: {again.calls_made} made, {again.calls_cached} from cache; {first.seconds:.1f} s first run")
    return first.calls_made == formula and again.calls_made == 0


def run_fake(n_contexts: int) -> int:
    """The planted-jury benchmark on the fake server."""
    from judges.testing import FakeOpenAIServer

    strengths = {f"<<{r}>>": s for r, s in zip(RESPONDERS, PLANTED, strict=True)}
    with FakeOpenAIServer(planted_strengths=strengths, first_position_bias=BIAS, seed=1) as srv:
        council = CouncilSpec.model_validate({"id": "planted", "judges": [
            {"id": f"planted-{n}", "model": f"openai/planted-{n}", "api_base": srv.base_url,
             "structured_output": "json_schema", "top_logprobs": 5, "max_concurrency": 16, "rationales": False}
            for n in range(2)]})
        batch, options = fake_batch(n_contexts), PairwiseOptions(pairs="all")
        store = Store()
        batch_id, first, again = asyncio.run(judge(store, batch, council, options))
        report = pairwise_report(store, batch_id, BOOT)
        verdicts = store.pair_verdicts(batch_id)
    print(f"fake planted jury: {n_contexts} contexts × 6 responders, 2 judges, planted first-position bias {BIAS:.2f}")
    print_report(report)
    # The planted judge's probabilities are a function of the two texts alone, so the probability-weighted
    # strengths have no between-context spread (zero-width CIs); the drawn verdicts do: rank them too.
    outcomes = combine_orders(verdicts).outcomes
    hard = leaderboard(outcomes, score="score_a", spec=BOOT)
    print(f"Bradley–Terry on the drawn verdicts (score_a, {hard.ci_method}):")
    for s in hard.strengths:
        print(f"  {s.rank}. {s.responder:<4} {s.strength:+.3f}  [{s.ci_low:+.3f}, {s.ci_high:+.3f}]  "
              f"rank {s.rank_low}–{s.rank_high}")
    taus = {}
    for name, board in (("probability-weighted", report.leaderboards[0]), ("drawn verdicts", hard)):
        recovered = {s.responder: s.strength for s in board.strengths}
        taus[name] = float(kendalltau(PLANTED, [recovered[r] for r in RESPONDERS]).statistic)
    tau = min(taus.values())
    pooled = outcomes.assign(judge_id="both judges")  # one rate over both judges' pairs
    [bias, *_] = first_position_preference(pooled, BOOT)
    ok_tau, ok_bias = tau >= TAU_BOUND, abs(bias.value - BIAS) <= BIAS_TOLERANCE
    print("Kendall τ-b (BT ranking vs planted): " + ", ".join(f"{k} {v:.3f}" for k, v in taus.items())
          + f" (bound ≥ {TAU_BOUND}) {'PASS' if ok_tau else 'FAIL'}")
    print(f"first-position bias (pooled over judges): {bias.value:.3f} [{bias.ci_low:.3f}, {bias.ci_high:.3f}] "
          f"{bias.ci_method}, n {bias.n} verdicts; planted {BIAS:.2f} ± {BIAS_TOLERANCE} "
          f"{'PASS' if ok_bias else 'FAIL'}")
    ok_calls = print_calls(first, again, formula_calls(batch, council, options))
    return 0 if ok_tau and ok_bias and ok_calls else 1


def run_local() -> int:
    """The demo batch with the default embedded council (starts the local judges)."""
    from council.batchfile import read_batch
    from council.spec import default_council
    from judges.local.server import local_up

    council = default_council()
    local_up([j.id for j in council.judges])
    batch, options = read_batch(ROOT / "examples" / "demo_batch.jsonl", name="demo"), PairwiseOptions(pairs="all")
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "pairwise.duckdb")
        started = time.perf_counter()
        batch_id, first, again = asyncio.run(judge(store, batch, council, options))
        report = pairwise_report(store, batch_id, BOOT)
        store.close()
    print(f"demo batch, pairwise, council {[j.id for j in council.judges]}: {time.perf_counter() - started:.1f} s")
    print_report(report)
    strength = {s.responder: s.strength for s in report.leaderboards[0].strengths}
    above = strength["demo:empathic"] > strength["demo:dismissive"]
    print(f"empathic-with-guidance above dismissive: {'PASS' if above else 'FAIL'} "
          f"({strength['demo:empathic']:+.3f} vs {strength['demo:dismissive']:+.3f})")
    ok_calls = print_calls(first, again, formula_calls(batch, council, options))
    return 0 if above and ok_calls else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    part = parser.add_mutually_exclusive_group(required=True)
    part.add_argument("--fake", action="store_true", help="planted jury on the fake server (offline)")
    part.add_argument("--local", action="store_true", help="the demo batch with the embedded council")
    parser.add_argument("--contexts", type=int, default=40, help="--fake: contexts (default 40)")
    args = parser.parse_args()
    np.seterr(all="ignore")
    return run_fake(args.contexts) if args.fake else run_local()


if __name__ == "__main__":
    sys.exit(main())
