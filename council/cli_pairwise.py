"""``council pairwise-report BATCH``: print a stored pairwise batch's report (or its JSON).

The same report as ``GET /v1/batches/{id}/pairwise``: Bradley–Terry leaderboards, each judge's position,
self and length preferences, and Kendall τ against the absolute ranking of the same items.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console

from council.cli_common import default_db, open_store
from judges.errors import ConfigError

__all__ = ["register"]


def _cmd_pairwise_report(args: argparse.Namespace) -> int:
    from council.pairwise.report import AbsoluteBatchError, pairwise_report
    from council.pairwise_tables import print_report
    from council.stats.types import BootstrapSpec

    with open_store(args) as store:
        mode = store.query("SELECT json_extract_string(options, '$.mode') AS mode FROM batches WHERE batch_id = ?",
                           [args.batch])
        if mode.empty:
            raise ConfigError(f"batch: no batch {args.batch!r} in {args.db}")
        if mode["mode"][0] != "pairwise":
            raise ConfigError(f"batch: {args.batch!r} is not a pairwise batch (council run --mode pairwise)")
        try:
            report = pairwise_report(store, args.batch, BootstrapSpec(n_boot=args.n_boot, seed=args.seed),
                                     absolute_batch=args.absolute_batch)
        except AbsoluteBatchError as e:
            raise ConfigError(f"--absolute-batch: {e}") from e
        except ValueError as e:
            raise ConfigError(f"batch: {e}") from e
    if args.json:
        print(json.dumps(report.model_dump(mode="json"), indent=1, ensure_ascii=False))
    else:
        console = Console() if Console().is_terminal else Console(width=160)
        print_report(console, report)
    return 0


def register(sub: Any) -> None:
    """Add ``pairwise-report`` to the ``council`` parser's subparsers."""
    p = sub.add_parser("pairwise-report", help="print a pairwise batch's leaderboards, judge biases and τ",
                       description="Bradley–Terry leaderboards, per-judge position consistency, first-position, "
                                   "self and length preference, and Kendall τ against the absolute ranking of the "
                                   "same items, each with a cluster-bootstrap CI over contexts.")
    p.add_argument("batch", help="a pairwise batch id")
    p.add_argument("--db", default=default_db(), help="DuckDB file (default .council/council.duckdb or $COUNCIL_DB)")
    p.add_argument("--absolute-batch", help="absolute batch to compare rankings with (default: the newest absolute "
                                            "batch with exactly the same item ids)")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_pairwise_report)
