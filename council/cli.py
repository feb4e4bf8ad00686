"""The ``council`` command: a thin shell over the async core (``council.run``) and the store."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from pydantic import ValidationError
from rich.console import Console

from council.batchfile import read_batch
from council.cli_common import DEMO_BATCH, default_db, local_judges, unit_progress
from council.run import LocalExecutor, prepare_batch, run_batch
from council.spec import load_council
from council.store.store import Store
from council.tables import print_batch_tables, print_run_line
from council.types import Batch, CouncilSpec, PairwiseOptions, RunSummary
from judges.errors import ConfigError
from protocols import ProtocolError, load_protocol

__all__ = ["DEMO_BATCH", "main"]


def _pairwise_options(args: argparse.Namespace) -> PairwiseOptions | None:
    """The pairwise options of ``council run --mode pairwise`` (None in absolute mode)."""
    if getattr(args, "mode", "absolute") != "pairwise":
        return None
    try:
        return PairwiseOptions(pairs=args.pairs, compare=args.compare)
    except ValidationError as e:
        raise ConfigError(f"--pairs: {e.errors()[0]['msg'].removeprefix('Value error, ')}") from e


async def _judge_pairs(console: Console, store: Store, batch: Batch, protocol_id: str, council: CouncilSpec,
                       options: PairwiseOptions) -> RunSummary:
    from council.pairwise.run import run_pairwise_batch
    from council.pairwise_tables import print_pairwise_tables

    protocol = load_protocol(protocol_id)
    try:
        batch_id = prepare_batch(store, batch, protocol, council, pairwise=options)
    except ValueError as e:  # a reference responder that wrote nothing
        raise ConfigError(str(e)) from e
    with unit_progress(console, f"comparing pairs of {batch.n_candidates} candidates with "
                       f"{len(council.judges)} judges", len(batch.items) * len(council.judges)) as advance:
        summary = await run_pairwise_batch(store, batch_id, batch, protocol, council, LocalExecutor(store), options,
                                           progress=advance)
    print_pairwise_tables(console, store, batch_id, batch, council, options)
    return summary


async def _judge(console: Console, store: Store, batch: Batch, protocol_id: str, council: CouncilSpec) -> RunSummary:
    protocol = load_protocol(protocol_id)
    batch_id = prepare_batch(store, batch, protocol, council)
    executor = LocalExecutor(store)
    with unit_progress(console, f"judging {batch.n_candidates} candidates with {len(council.judges)} judges",
                       len(batch.items) * len(council.judges)) as advance:
        summary = await run_batch(store, batch_id, batch, protocol, council, executor, progress=advance)
    print_batch_tables(console, store, batch_id, council)
    return summary


def _cmd_run(args: argparse.Namespace, batch: Batch | None = None) -> int:
    console = Console()
    if not console.is_terminal:  # piped or logged: do not squeeze the tables into 80 columns
        console = Console(width=160)
    council = load_council(args.council)
    pairwise = _pairwise_options(args)
    local = local_judges(council)
    if local and not getattr(args, "no_local_up", False):
        from judges.local.server import local_up

        console.print("starting the embedded judges (llama.cpp) if needed …")
        local_up(local)
    batch = batch or read_batch(args.file)
    store = Store(args.db)
    try:
        if getattr(args, "gate", None):
            if pairwise is not None:
                raise ConfigError("--gate: a gate routes absolute scores; pairwise batches cannot be gated")
            from council.cli_gating import judge_gated

            with unit_progress(console, f"judging {batch.n_candidates} candidates tier by tier",
                               len(batch.items) * len(council.judges)) as advance:
                summary = asyncio.run(judge_gated(console, store, batch, args.protocol, council, args.gate, advance))
        elif pairwise is not None:
            summary = asyncio.run(_judge_pairs(console, store, batch, args.protocol, council, pairwise))
        else:
            summary = asyncio.run(_judge(console, store, batch, args.protocol, council))
    finally:
        store.close()
    print_run_line(console, summary)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    if not DEMO_BATCH.is_file():
        raise ConfigError(f"demo batch {DEMO_BATCH} not found; run a batch of your own with: council run FILE.jsonl")
    if args.gated:
        from council.cli_gating import gated_demo

        if args.protocol not in (None, "epitome"):
            raise ConfigError("--protocol: the gated demo judges on 'epitome', the protocol of the expert ratings "
                              "its gate is fitted on")
        from council.escalation import AgreementTarget

        try:
            AgreementTarget.parse(args.target, args.risk)
        except ValidationError as e:  # a level or risk out of (0, 1)
            raise ConfigError(f"--target/--risk: {e.errors()[0]['msg'].removeprefix('Value error, ')}") from e
        except ValueError as e:
            raise ConfigError(f"--target: {e}") from e
        council = load_council(args.council or "local-screened")
        if local_judges(council):
            from judges.local.server import local_up

            Console().print("starting the embedded judges (llama.cpp) if needed …")
            local_up(local_judges(council))
        return gated_demo(args, council, DEMO_BATCH)
    args.council, args.protocol = args.council or "local", args.protocol or "mentalalign-7"
    return _cmd_run(args, read_batch(DEMO_BATCH, name="demo"))


def _cmd_local(args: argparse.Namespace) -> int:
    from judges.local.server import as_dicts, local_down, local_status, local_up

    if args.action == "up":
        statuses = local_up(args.models or None)
    else:
        statuses = {"down": local_down, "status": local_status}[args.action]()
    for s in as_dicts(statuses):
        print(json.dumps(s))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``council`` command."""
    parser = argparse.ArgumentParser(prog="council", description="Councils of LLM judges for emotional support.")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="judge the example batch with the embedded local council")
    demo.add_argument("--protocol", default=None,
                      help="rubric protocol id (default mentalalign-7; the gated demo judges on epitome)")
    demo.add_argument("--db", default=default_db(), help="DuckDB file (default .council/council.duckdb)")
    demo.add_argument("--council", default=None,
                      help="a named embedded council: local (default, scoring only), local-pipeline "
                           "(ToM → domain → scoring), local-screened (scoring + safety screens; the --gated "
                           "default), local:ALIAS,... or local-pipeline:ALIAS,...")
    demo.add_argument("--gated", action="store_true",
                      help="the gated demo: fit a confidence gate on the embedded judge's agreement with an "
                           "expert (EPITOME set in ../shared/data), then judge the demo batch under it; unsafe and "
                           "low-confidence items go to the review queue (dashboard page Review)")
    demo.add_argument("--target", default="exact>=0.7", help="--gated: agreement target (default exact>=0.7)")
    demo.add_argument("--risk", type=float, default=0.1, help="--gated: risk of the guarantee (default 0.1)")
    demo.add_argument("--reference", default="expert1", help="--gated: the expert the gate agrees with")
    demo.set_defaults(func=_cmd_demo)

    run = sub.add_parser("run", help="judge a JSONL batch file")
    run.add_argument("file", help="batch file: one JSON item per line (see README)")
    run.add_argument("--council", default="local",
                     help="council spec file (YAML/JSON), 'local' (default), 'local:ALIAS,...', 'local-pipeline', "
                          "'local-pipeline:ALIAS,...' (embedded judges; -pipeline runs ToM → domain → scoring) or "
                          "'local-screened[:ALIAS,...]' (scoring plus the safety screens)")
    run.add_argument("--protocol", default="mentalalign-7", help="rubric protocol id (default mentalalign-7)")
    run.add_argument("--db", default=default_db(), help="DuckDB file (default .council/council.duckdb)")
    run.add_argument("--no-local-up", action="store_true", help="do not start the embedded judges")
    run.add_argument("--mode", choices=["absolute", "pairwise"], default="absolute",
                     help="absolute: score every candidate (default); pairwise: compare candidates in pairs")
    run.add_argument("--pairs", default="all",
                     help="pairwise: 'all' (default), N pairs per context, or 'reference:RESPONDER'")
    run.add_argument("--compare", choices=["overall", "attributes"], default="overall",
                     help="pairwise: one overall preference (default) or one verdict per rubric attribute")
    run.add_argument("--gate", help="a stored confidence gate (name or id; see `council gate`): the council's "
                                    "tiers judge in turn, the rest goes to the review queue")
    run.set_defaults(func=_cmd_run)

    local = sub.add_parser("local", help="manage the embedded llama.cpp judges")
    local.add_argument("action", choices=["up", "down", "status"])
    local.add_argument("models", nargs="*", help="with up: model aliases to start (default: the default council's)")
    local.set_defaults(func=_cmd_local)

    from council.service.cli import register as register_service  # imports Ray only when serving

    register_service(sub)
    from council.cli_analysis import register as register_analysis  # ratings, agreement, calibrate ...
    register_analysis(sub)
    from council.cli_pairwise import register as register_pairwise  # council pairwise-report
    register_pairwise(sub)
    from council.dashboard_cli import register as register_dashboard  # council dashboard (Streamlit)
    register_dashboard(sub)
    from council.cli_gating import register as register_gating  # council gate fit / list
    register_gating(sub)
    from council.robustness.cli import register as register_robustness  # council robustness (attack corpus)
    register_robustness(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``council`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ConfigError, ProtocolError) as e:
        print(f"council: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
