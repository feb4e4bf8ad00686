"""``council ratings|agreement|bias|calibrate|calibrations|reports``: shells over :mod:`council.analysis`.

Every command opens the store (``--db``, same default as ``council run``), calls one analysis function as
owner "local" and prints a readable table, or JSON with ``--json``. Errors name the field and exit with 2
(the analysis errors are :class:`~judges.errors.ConfigError` s, reported by :func:`council.cli.main`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from council.cli_common import default_db, open_store

__all__ = ["register"]

OWNER = "local"


# ------------------------------------------------------------------ command handlers


def _cmd_import_mentalalign(args: argparse.Namespace) -> int:
    from council.analysis import import_mentalalign_dataset
    from council.analysis.render import print_import

    with open_store(args) as store:
        rec = import_mentalalign_dataset(store, args.dir, paper_compatible=args.paper_compatible, owner=OWNER)
    print_import(rec, args.json)
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from council.analysis import AnalysisError, import_ratings_file
    from council.analysis.render import print_import
    from council.ratings import Columns

    given = {
        "target": args.target[0] if args.target and len(args.target) == 1 else args.target,
        "rater": args.rater_column,
        "attribute": args.attribute_column,
        "score": args.score_column,
        "context": args.context_column,
        "responder": args.responder_column,
        "sample": args.sample_column,
        "empty_flag": args.empty_flag_column,
    }
    given = {k: v for k, v in given.items() if v is not None}
    columns = Columns(**given) if given else None
    families = {}
    for item in args.family or []:
        rater, sep, fam = item.partition("=")
        if not sep:
            raise AnalysisError("family", f"expected RATER=FAMILY, got {item!r}")
        families[rater] = fam
    with open_store(args) as store:
        rec = import_ratings_file(
            store,
            args.file,
            dataset=args.dataset,
            batch_id=args.batch,
            fmt=args.format,
            layout=args.layout,
            columns=columns,
            attributes=args.attributes.split(",") if args.attributes else None,
            rater=args.rater,
            kind=args.kind,
            families=families,
            paper_compatible=args.paper_compatible,
            scale=tuple(args.scale) if args.scale else None,
            protocol=args.protocol,
            owner=OWNER,
        )
    print_import(rec, args.json)
    return 0


def _cmd_agreement(args: argparse.Namespace) -> int:
    from council.analysis import run_agreement
    from council.analysis.render import print_records

    bootstrap = {"n_boot": args.bootstrap, "seed": args.seed} if args.bootstrap else None
    with open_store(args) as store:
        report_id, records = run_agreement(
            store,
            dataset=args.dataset,
            batch_id=args.batch,
            level=args.level,
            reference=args.reference,
            exclude_self_family=args.exclude_self_family,
            paper_compatible=args.paper_compatible,
            bootstrap=bootstrap,
            pairwise=args.pairwise,
            owner=OWNER,
        )
    print_records(report_id, records, args.json)
    return 0


def _cmd_bias(args: argparse.Namespace) -> int:
    from council.analysis import run_bias
    from council.analysis.render import dump_json, flat_record, fmt

    with open_store(args) as store:
        report_id, records = run_bias(
            store,
            dataset=args.dataset,
            batch_id=args.batch,
            reference=args.reference,
            paper_compatible=args.paper_compatible,
            owner=OWNER,
        )
    print(f"report {report_id} stored", file=sys.stderr)
    if args.json:
        dump_json([flat_record(r) for r in records])
    else:
        for r in records:
            print(
                f"{r.rater:32} {r.attribute:20} {r.statistic:20} {fmt(r.value):>8} "
                f"[{fmt(r.ci_low)}, {fmt(r.ci_high)}] n={r.n} {r.extra.get('responder', '')}"
            )
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from council.analysis import fit_and_store_calibration, get_calibration
    from council.analysis.render import cv_json, dump_json, print_cv

    with open_store(args) as store:
        cid, cv = fit_and_store_calibration(
            store,
            dataset=args.dataset,
            batch_id=args.batch,
            method=args.method,
            cv=args.cv,
            seed=args.seed,
            reference=args.reference,
            name=args.name,
            owner=OWNER,
        )
        out = cv_json(cid, get_calibration(store, cid, OWNER), cv)
    if args.json:
        dump_json(out)
    else:
        print_cv(out)
    return 0


def _cmd_calibrations(args: argparse.Namespace) -> int:
    from council.analysis import AnalysisError, apply_calibration_to_batch, get_calibration, list_calibrations
    from council.analysis.render import cv_json, dump_json, fmt, print_cv

    with open_store(args) as store:
        if args.action == "list":
            infos = list_calibrations(store, OWNER)
            if args.json:
                dump_json([json.loads(i.model_dump_json(exclude={"cv"})) for i in infos])
            for i in [] if args.json else infos:
                mean = fmt(i.cv.mean_calibrated_icc_a1) if i.cv else "-"
                print(
                    f"{i.calibration_id}  {i.name} v{i.version}  {i.method:9} {i.dataset or i.batch_id}  "
                    f"judges={len(i.raters)} mean CV ICC(A,1)={mean}  {i.created_at:%Y-%m-%d %H:%M}"
                )
            return 0
        if not args.id:
            raise AnalysisError("calibration_id", f"'calibrations {args.action}' needs a calibration id")
        if args.action == "apply":
            if not args.batch:
                raise AnalysisError("batch_id", "'calibrations apply ID' needs --batch")
            dump_json(
                json.loads(
                    apply_calibration_to_batch(store, args.batch, args.id, owner=OWNER).model_dump_json()
                )
            )
            return 0
        cal = get_calibration(store, args.id, OWNER)
    if args.json or cal.cv is None:
        dump_json(json.loads(cal.model_dump_json()))
    else:
        print_cv(cv_json(cal.calibration_id, cal, cal.cv))
    return 0


def _cmd_reports(args: argparse.Namespace) -> int:
    from council.analysis import AnalysisError, get_report, list_reports
    from council.analysis.render import print_records

    with open_store(args) as store:
        if args.action == "list":
            for i in list_reports(store, OWNER):
                print(
                    f"{i.report_id}  {i.kind:9} {i.dataset or i.batch_id}  {i.n_records} records  "
                    f"{json.dumps(i.params)}"
                )
            return 0
        if not args.id:
            raise AnalysisError("report_id", "'reports show' needs a report id")
        rep = get_report(store, args.id, OWNER)
    if rep.kind == "robustness" and not args.json:
        from rich.console import Console

        from council.robustness.cli import print_summary
        from council.robustness.report import summary_frame

        print_summary(Console(width=160) if not Console().is_terminal else Console(), summary_frame(rep.records))
        return 0
    print_records(rep.report_id, rep.records, args.json)
    return 0


# ------------------------------------------------------------------ parser


def _common(p: argparse.ArgumentParser, *, scope: bool = True, json_flag: bool = True) -> None:
    if scope:
        g = p.add_mutually_exclusive_group(required=True)
        g.add_argument("--dataset", help="a named dataset (e.g. mentalalign)")
        g.add_argument("--batch", help="a batch id (its judgments plus ratings imported for it)")
    p.add_argument(
        "--db", default=default_db(), help="DuckDB file (default .council/council.duckdb or $COUNCIL_DB)"
    )
    if json_flag:
        p.add_argument("--json", action="store_true", help="print JSON")


def _add(sub: Any, name: str, func: Callable[[argparse.Namespace], int], help_: str, **kw: Any) -> Any:
    p = sub.add_parser(name, help=help_, description=help_, **kw)
    p.set_defaults(func=func)
    return p


def _register_ratings(sub: Any) -> None:
    ratings = sub.add_parser("ratings", help="import human and external-judge ratings")
    rsub = ratings.add_subparsers(dest="ratings_command", required=True)
    ma = _add(
        rsub, "import-mentalalign", _cmd_import_mentalalign, "load MentalAlign-70k as dataset 'mentalalign'"
    )
    ma.add_argument(
        "dir", nargs="?", default=None, help="folder with ratings.jsonl (default ../shared/data/...)"
    )
    ma.add_argument(
        "--paper-compatible", action="store_true", help="report counts keeping every value as given"
    )
    _common(ma, scope=False)
    imp = _add(rsub, "import", _cmd_import, "import a CSV/JSONL ratings file into a dataset or onto a batch")
    imp.add_argument("file")
    _common(imp)
    imp.add_argument("--format", choices=["csv", "jsonl"], help="default: from the file suffix")
    imp.add_argument("--layout", choices=["long", "wide"], default="long")
    imp.add_argument(
        "--target", nargs="+", help="target column(s), joined by ':' (batch: item_id candidate_id)"
    )
    imp.add_argument("--rater-column", default=None, help="rater column (default 'rater')")
    imp.add_argument("--rater", help="constant rater id when the file has no rater column")
    imp.add_argument("--attribute-column", default=None)
    imp.add_argument("--score-column", default=None)
    imp.add_argument("--context-column", default=None)
    imp.add_argument("--responder-column", default=None)
    imp.add_argument("--sample-column", default=None)
    imp.add_argument("--empty-flag-column", default=None, help="boolean column marking empty responses")
    imp.add_argument("--attributes", help="wide layout: comma-separated attribute columns")
    imp.add_argument("--kind", choices=["human", "external"], default="human")
    imp.add_argument("--family", action="append", help="RATER=FAMILY (repeatable)")
    imp.add_argument("--protocol", help="protocol of a new dataset (scale, attributes, composites)")
    imp.add_argument("--scale", nargs=2, type=float, metavar=("MIN", "MAX"), help="scale of a new dataset")
    imp.add_argument(
        "--paper-compatible", action="store_true", help="report counts keeping every value as given"
    )
    from council.cli_pairwise_human import register_import  # ratings import-pairwise

    register_import(rsub)


def register(sub: Any) -> None:
    """Add the analysis commands to the ``council`` parser's subparsers."""
    _register_ratings(sub)
    from council.cli_pairwise_human import register as register_pairwise_human  # pairwise-agreement

    register_pairwise_human(sub)
    ag = _add(sub, "agreement", _cmd_agreement, "agreement of judges and council with the human reference")
    _common(ag)
    ag.add_argument("--level", choices=["item", "system", "both"], default="item")
    ag.add_argument(
        "--exclude-self-family",
        action="store_true",
        help="drop each judge's own responders: own model with --paper-compatible on MentalAlign "
        "(the paper's recipe), own family otherwise",
    )
    ag.add_argument("--paper-compatible", action="store_true", help="keep every value as given (no hygiene)")
    ag.add_argument("--bootstrap", type=int, metavar="N", help="add cluster-bootstrap CIs with N replicates")
    ag.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    ag.add_argument("--reference", help="reference rater (default human_expert or the only human)")
    ag.add_argument("--pairwise", action="store_true", help="add judge-judge records")
    bias = _add(sub, "bias", _cmd_bias, "bias diagnostics: source model, self-preference, length, run spread")
    _common(bias)
    bias.add_argument("--paper-compatible", action="store_true")
    bias.add_argument("--reference")
    cal = _add(sub, "calibrate", _cmd_calibrate, "fit, cross-validate and store a calibration")
    _common(cal)
    cal.add_argument(
        "--method", choices=["ridge-mm", "ridge", "mean-mm", "linear", "isotonic"], default="ridge-mm"
    )
    cal.add_argument("--cv", type=int, default=5, help="folds, grouped by context (default 5)")
    cal.add_argument("--seed", type=int, default=0)
    cal.add_argument("--reference")
    cal.add_argument("--name", help="calibration name (versions count up per name)")
    cals = _add(sub, "calibrations", _cmd_calibrations, "list, show or apply stored calibrations")
    cals.add_argument("action", choices=["list", "show", "apply"])
    cals.add_argument("id", nargs="?")
    cals.add_argument("--batch", help="apply: the batch to calibrate")
    _common(cals, scope=False)
    reps = _add(sub, "reports", _cmd_reports, "list or show stored agreement, bias and robustness reports")
    reps.add_argument("action", choices=["list", "show"])
    reps.add_argument("id", nargs="?")
    _common(reps, scope=False)
