"""``council robustness``: the attack corpus against a council, clean vs attacked, stored as a report.

A thin shell over :func:`council.robustness.run.run_robustness`. By default it attacks the demo batch's
dismissive and unsafe replies and, when ``../shared/data/empathy-experts`` is present, the EPITOME expert set's
level-0 replies, judges them with the embedded council (``--council local``), and prints per source and
transformation the council's worst mean shift, the share of candidates that rose ≥ 1 point, the share whose
unsafe score disappeared and the detector's catch rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from council.batchfile import read_batch
from council.cli_common import DEMO_BATCH, default_db, local_judges
from council.robustness.run import Source, demo_source, epitome_source, run_robustness
from council.spec import load_council
from council.store.store import Store
from judges.errors import ConfigError
from judges.injection import DEFAULT_DEFENCES, NO_DEFENCES

__all__ = ["register", "sources_from_args"]


def sources_from_args(args: argparse.Namespace) -> list[Source]:
    """The sources named by the options: a batch file (or the demo) and, unless ``--no-epitome``, EPITOME level 0."""
    targets = tuple(t for t in args.targets.split(",") if t)
    if args.batch:
        batch = read_batch(args.batch)
        source = demo_source(batch, targets).model_copy(update={"name": Path(args.batch).stem,
                                                                "protocol_id": args.protocol})
    else:
        source = demo_source(read_batch(DEMO_BATCH, name="demo"), targets)
    if not source.targets:
        raise ConfigError(f"--targets: no candidate of the batch has an id in {list(targets)}")
    sources = [source.limited(args.limit)]
    if not args.no_epitome:
        epitome = epitome_source()
        if epitome is not None:
            sources.append(epitome.limited(args.limit))
    return sources


def _pct(v: float) -> str:
    return "–" if math.isnan(v) else f"{v:.0%}"


def print_summary(console: Console, summary: Any) -> None:
    """The council's and the detector's numbers per source and transformation."""
    table = Table(title="Robustness (council vs clean; detector)")
    for col in ("source", "transformation", "max |shift|", "mean shift", "rose ≥ 1", "unsafe lost", "caught"):
        table.add_column(col)
    council = summary[summary.rater == "council"].set_index(["source", "transformation"])
    detector = summary[summary.rater == "detector"].set_index(["source", "transformation"])
    for (source, t), row in council.iterrows():
        caught = detector.loc[(source, t), "catch_rate"] if (source, t) in detector.index else math.nan
        table.add_row(str(source), str(t), f"{row.max_abs_shift:.2f}", f"{row.mean_shift:+.2f}",
                      _pct(row.share_rose_1), _pct(row.share_unsafe_lost), _pct(caught))
    console.print(table)
    for (source, t), row in detector.iterrows():
        if t == "clean":
            console.print(f"{source}: detector false-flag rate on the clean texts {_pct(row.false_flag_rate)}")


def _cmd_robustness(args: argparse.Namespace) -> int:
    console = Console(width=160) if not Console().is_terminal else Console()
    council = load_council(args.council)
    local = local_judges(council)
    if local and not args.no_local_up:
        from judges.local.server import local_up

        console.print("starting the embedded judges (llama.cpp) if needed …")
        local_up(local)
    sources = sources_from_args(args)
    names = [t for t in args.transformations.split(",") if t] if args.transformations else None
    store = Store(args.db)
    try:
        result = asyncio.run(run_robustness(store, sources, council, transformations=names, corpus=args.corpus,
                                            defences=NO_DEFENCES if args.no_defences else DEFAULT_DEFENCES,
                                            progress=lambda line: console.print(line, style="dim")))
    finally:
        store.close()
    if args.json:
        print(json.dumps({"report_id": result.report_id, "batches": result.batches,
                          "records": [r.model_dump(mode="json") for r in result.records]}, default=str))
    else:
        print_summary(console, result.summary())
        console.print(f"report {result.report_id} (council reports --db {args.db}; dashboard: Robustness)")
    return 0


def register(sub: Any) -> None:
    """Add ``council robustness`` to the ``council`` parser's subparsers."""
    p = sub.add_parser("robustness", help="attack low-quality candidates and measure how far the council moves")
    p.add_argument("--council", default="local", help="council spec file or named council (default local)")
    p.add_argument("--batch", help="a JSONL batch file (default: the demo batch)")
    p.add_argument("--protocol", default="mentalalign-7", help="protocol of --batch (default mentalalign-7)")
    p.add_argument("--targets", default="dismissive,unsafe",
                   help="comma list of candidate ids to attack (default dismissive,unsafe)")
    p.add_argument("--no-epitome", action="store_true",
                   help="leave out the EPITOME level-0 replies (read from ../shared/data/empathy-experts)")
    p.add_argument("--transformations", default="", help="comma list of corpus names (default: all)")
    p.add_argument("--corpus", default="attacks.v1",
                   help="attack corpus (attacks.v1, attacks.heldout.v1, attacks.heldout.v2)")
    p.add_argument("--limit", type=int, default=None, help="at most N items per source")
    p.add_argument("--no-defences", action="store_true",
                   help="judge with the text defences off (to measure what they prevent)")
    p.add_argument("--no-local-up", action="store_true", help="do not start the embedded judges")
    p.add_argument("--db", default=default_db(), help="DuckDB file (default .council/council.duckdb)")
    p.add_argument("--json", action="store_true", help="print the report id, batches and records as JSON")
    p.set_defaults(func=_cmd_robustness)
