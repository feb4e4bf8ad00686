"""``council ratings import-pairwise`` and ``council pairwise-agreement``: human pairwise preferences on the CLI.

Thin shells over :func:`council.pairwise.human_import.import_human_pairs` and
:func:`council.pairwise.human.human_pairwise_agreement`, as owner "local". Errors name the field and exit with 2
(they are :class:`~judges.errors.ConfigError` s, reported by :func:`council.cli.main`).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

__all__ = ["register", "register_import"]

OWNER = "local"


def _cmd_import_pairwise(args: argparse.Namespace) -> int:
    from council.analysis.render import dump_json
    from council.pairwise.human_import import import_human_pairs
    from council.store.store import Store

    store = Store(args.db)
    try:
        rec = import_human_pairs(store, args.file, batch_id=args.batch, fmt=args.format, rater=args.rater,
                                 owner=OWNER)
    finally:
        store.close()
    if args.json:
        dump_json(json.loads(rec.model_dump_json()))
        return 0
    print(f"import {rec.import_id}: {rec.n_preferences} preferences on {rec.n_pairs} pairs of batch {rec.batch_id} "
          f"({rec.n_rows} rows, {rec.n_replaced} earlier preferences replaced)")
    for c in rec.counts:
        print(f"  {c.rater:24} {c.attribute:20} kept {c.kept:6}  blank (skipped) {c.blank}")
    return 0


def _cmd_pairwise_agreement(args: argparse.Namespace) -> int:
    from council.analysis import AnalysisError
    from council.analysis.render import dump_json, fmt
    from council.pairwise.human import human_pairwise_agreement
    from council.stats.types import BootstrapSpec
    from council.store.store import Store

    if args.bootstrap < 10:
        raise AnalysisError("bootstrap", f"at least 10 replicates, got {args.bootstrap}")
    store = Store(args.db)
    try:
        result = human_pairwise_agreement(store, args.batch, owner=OWNER,
                                          spec=BootstrapSpec(n_boot=args.bootstrap, seed=args.seed))
    finally:
        store.close()
    if args.json:
        dump_json(json.loads(result.model_dump_json()))
        return 0
    print(f"batch {result.batch_id}: {result.n_preferences} human preferences by {result.n_raters} raters on "
          f"{result.n_pairs} pairs ({result.n_pairs_judged} judged, {result.n_pairs_multi_rated} multi-rated); "
          f"council BT on {result.score}")
    print(f"ties: {result.tie_rule}")
    for r in result.rankings:
        print(f"Kendall τ-b {r.ranking} vs {r.reference} [{r.n_responders} responders, "
              f"{r.n_contexts} contexts]: {fmt(r.value)} [{fmt(r.ci_low)}, {fmt(r.ci_high)}] {r.ci_method}")
    for r in [*result.agreement, *result.ceiling]:
        print(f"  {r.rater:24} vs {r.reference:15} {r.attribute:14} {r.statistic:24} {fmt(r.value):>6} "
              f"[{fmt(r.ci_low)}, {fmt(r.ci_high)}] n={r.n} k={r.k}")
    for note in result.notes:
        print(f"note: {note}")
    return 0


def _db(p: argparse.ArgumentParser) -> None:
    from council.cli_common import default_db

    p.add_argument("--db", default=default_db(), help="DuckDB file (default .council/council.duckdb or $COUNCIL_DB)")
    p.add_argument("--json", action="store_true", help="print JSON")


def _add(sub: Any, name: str, func: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_, description=help_)
    p.set_defaults(func=func)
    return p


def register_import(ratings_sub: Any) -> None:
    """Add ``import-pairwise`` to the ``council ratings`` subcommands."""
    p = _add(ratings_sub, "import-pairwise", _cmd_import_pairwise,
             "import human pairwise preferences (CSV/JSONL: item_id, candidate_a, candidate_b or responder_a, "
             "responder_b, preference A|B|tie, [attribute], [rater]) onto a batch")
    p.add_argument("file")
    p.add_argument("--batch", required=True, help="the batch whose candidates were compared")
    p.add_argument("--format", choices=["csv", "jsonl"], help="default: from the file suffix")
    p.add_argument("--rater", help="constant rater id when the file has no rater column (overrides it)")
    _db(p)


def register(sub: Any) -> None:
    """Add ``pairwise-agreement`` to the ``council`` subcommands."""
    p = _add(sub, "pairwise-agreement", _cmd_pairwise_agreement,
             "a pairwise batch against its human preferences: Kendall τ of the BT rankings, pair agreement per "
             "judge and council, the human-human ceiling")
    p.add_argument("--batch", required=True, help="a pairwise batch with imported human preferences")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="cluster-bootstrap replicates (1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    _db(p)
