"""``council run --gate`` and ``council gate``: judge a batch tier by tier, fit and list confidence gates."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from council.cli_common import default_db, open_store, unit_progress
from council.store.store import Store
from council.tables import print_run_line
from council.types import Batch, CouncilSpec, RunSummary
from protocols import load_protocol

__all__ = ["gated_demo", "judge_gated", "register"]


def print_gate_table(console: Console, store: Store, batch_id: str) -> None:
    """Coverage per tier and what went to people."""
    from council.gating import gate_summary

    summary = gate_summary(store, batch_id)
    if summary is None:
        return
    table = Table(title=f"confidence gate {summary['gate_id']}: {summary['items']} candidate × attribute items")
    for column in ("tier", "accepted", "coverage"):
        table.add_column(column)
    for tier, n in summary["accepted"].items():
        table.add_row(tier, str(n), f"{summary['coverage'][tier]:.1%}")
    reasons = ", ".join(f"{k} {v}" for k, v in summary["review_by_reason"].items())
    table.add_row("people (review queue)", str(summary["review"]), reasons)
    console.print(table)
    predicted = summary["predicted_agreement"]
    console.print(f"candidates queued for review: {summary['candidates_for_people']}; predicted agreement of the "
                  f"accepted items: {'n/a' if predicted is None else f'{predicted:.3f}'}")


async def judge_gated(console: Console, store: Store, batch: Batch, protocol_id: str, council: CouncilSpec,
                      gate: str, progress=None) -> RunSummary:  # type: ignore[no-untyped-def]
    """Judge a batch under a stored gate and print its routing; the summary of the last tier's run."""
    from council.gating import resolve_gate, run_gated_batch
    from council.gating.run import check_gate
    from council.run import LocalExecutor, prepare_batch

    protocol = load_protocol(protocol_id)
    stored = resolve_gate(store, gate, "local")
    check_gate(stored, council, protocol)
    batch_id = prepare_batch(store, batch, protocol, council)
    result = await run_gated_batch(store, batch_id, batch, protocol, council, LocalExecutor(store), stored,
                                   progress=progress)
    print_gate_table(console, store, batch_id)
    console.print(f"calls per tier (candidates judged): {result.candidates_per_tier}; calls made {result.calls_made}")
    return result.runs[-1]


def gated_demo(args: argparse.Namespace, council: CouncilSpec, demo_file: Path) -> int:
    """``council demo --gated``: calibrate the embedded judge on the expert set, fit the gate, judge the demo."""
    import asyncio

    from council.batchfile import read_batch
    from council.empathy_experts import epitome_batch
    from council.gating.demo import PROTOCOL, run_gated_demo
    from council.run import LocalExecutor

    console = Console() if Console().is_terminal else Console(width=160)
    with open_store(args) as store:
        units = (len(epitome_batch().items) + len(read_batch(demo_file).items)) * len(council.judges)
        with unit_progress(console, "calibration (EPITOME expert set), then the demo batch under the gate",
                           units) as advance:
            done = asyncio.run(run_gated_demo(store, council, LocalExecutor(store), demo_file, target=args.target,
                                              risk=args.risk, reference=args.reference, progress=advance))
        gate = done.gate
        console.print(f"gate {gate.name} v{gate.version} ({gate.gate_id}): {gate.target.criterion} agreement ≥ "
                      f"{gate.target.level} with {gate.gate.training.reference} at risk {gate.target.risk}; "
                      f"thresholds {gate.thresholds}; calibration batch {done.calibration_batch}")
        print_gate_table(console, store, done.demo_batch)
        console.print(f"demo batch {done.demo_batch} ({PROTOCOL} protocol): open the dashboard (`council dashboard`), "
                      "page Review, to rate what was queued; the Agreement page counts your ratings.")
        print_run_line(console, done.gated.runs[-1])
    return 0


def _cmd_gate_fit(args: argparse.Namespace) -> int:
    from council.escalation import AgreementTarget, TierSpec, fit_and_store_gate

    tiers = []
    for spec in args.tier:
        name, _, judges = spec.partition("=")
        if not name or not judges:
            raise SystemExit(f"--tier: expected NAME=JUDGE[,JUDGE...], got {spec!r}")
        tiers.append(TierSpec(name=name, judges=judges.split(",")))
    target = AgreementTarget.parse(args.target, args.risk)
    with open_store(args) as store:
        info = fit_and_store_gate(store, tiers, target, dataset=args.dataset, batch_id=args.batch, name=args.name,
                                  reference=args.reference, seed=args.seed)
    print(info.model_dump_json(indent=2))
    return 0


def _cmd_gate_list(args: argparse.Namespace) -> int:
    from council.escalation import list_gates

    with open_store(args) as store:
        for info in list_gates(store):
            print(info.model_dump_json())
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``council gate fit`` and ``council gate list``."""
    gate = sub.add_parser("gate", help="fit and list confidence gates (tiered councils with an agreement target)")
    actions = gate.add_subparsers(dest="gate_action", required=True)
    fit = actions.add_parser("fit", help="fit a gate on a dataset's or batch's human ratings; store the next version")
    scope = fit.add_mutually_exclusive_group(required=True)
    scope.add_argument("--dataset", help="an imported dataset (its judges' and humans' ratings)")
    scope.add_argument("--batch", help="a judged batch with human ratings")
    fit.add_argument("--name", required=True, help="gate name (versions count up per name)")
    fit.add_argument("--tier", action="append", required=True,
                     help="NAME=JUDGE[,JUDGE...], in escalation order (repeat); a tier may reuse earlier judges")
    fit.add_argument("--target", required=True, help="criterion and level, e.g. 'within1>=0.95' or 'exact>=0.75'")
    fit.add_argument("--risk", type=float, default=0.1, help="probability the guarantee fails (default 0.1)")
    fit.add_argument("--reference", help="the human rater (default: the consensus or only human)")
    fit.add_argument("--seed", type=int, default=0, help="seed of the fit/threshold split")
    fit.add_argument("--db", default=default_db(), help="DuckDB file")
    fit.set_defaults(func=_cmd_gate_fit)
    listing = actions.add_parser("list", help="stored gates")
    listing.add_argument("--db", default=default_db(), help="DuckDB file")
    listing.set_defaults(func=_cmd_gate_list)
