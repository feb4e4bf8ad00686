"""Rendering analysis results for people and programs: flat JSON records, CV tables, import reports."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

__all__ = [
    "TABLE_STATISTICS",
    "clean",
    "cv_json",
    "dump_json",
    "flat_record",
    "fmt",
    "print_cv",
    "print_import",
    "print_records",
]

TABLE_STATISTICS = ("ICC(A,1)", "ICC(C,1)", "pearson", "spearman", "bias", "mae")


def clean(v: Any) -> Any:
    """Replace NaN by None (JSON null)."""
    return None if isinstance(v, float) and math.isnan(v) else v


def flat_record(record: Any) -> dict[str, Any]:
    """Flatten an agreement record for JSON: the fixed fields first, then ci_method, p_value, extras."""
    d = record.model_dump()
    extra = d.pop("extra")
    out = {k: clean(v) for k, v in d.items()}
    for k, v in extra.items():
        out[k if k not in out else f"extra_{k}"] = clean(v)
    return out


def dump_json(obj: Any) -> None:
    """Print an object as indented JSON."""
    print(json.dumps(obj, indent=1, ensure_ascii=False, default=str))


def fmt(v: Any, digits: int = 3) -> str:
    """Format a number for a table ("-" for missing)."""
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def print_import(rec: Any, as_json: bool) -> None:
    """Print an import record: its counts per rater × attribute, or JSON."""
    if as_json:
        dump_json(json.loads(rec.model_dump_json()))
        return
    r = rec.report
    print(
        f"import {rec.import_id}: {rec.n_ratings} ratings of {len(rec.raters)} raters into "
        f"{'dataset ' + rec.dataset if rec.dataset else 'batch ' + str(rec.batch_id)} from {rec.source}"
    )
    print(
        f"hygiene: {'values as given (paper-compatible)' if r.hygiene.paper_compatible else 'default'}; "
        f"items kept {r.n_items}, dropped {r.n_items_dropped or 'none'}"
    )
    print(
        f"{'rater':32} {'attribute':16} {'kept':>7} {'out_of_scale':>12} {'kept_oos':>8} {'blank':>6} "
        f"{'non_num':>7} {'dropped':>7}"
    )
    for c in r.counts:
        print(
            f"{c.rater:32} {c.attribute:16} {c.kept:7d} {c.out_of_scale:12d} {c.out_of_scale_kept:8d} "
            f"{c.blank:6d} {c.non_numeric:7d} {c.dropped_item:7d}"
        )
    for note in r.notes:
        print(f"note: {note}")


def print_records(report_id: str, records: list[Any], as_json: bool) -> None:
    """Print agreement records as flat JSON, or a table of the main statistics per rater × attribute."""
    print(f"report {report_id} stored", file=sys.stderr)
    if as_json:
        dump_json([flat_record(r) for r in records])
        return
    cells: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for r in records:
        if r.statistic in TABLE_STATISTICS and not r.ci_method.startswith("cluster-bootstrap"):
            cell = cells.setdefault((r.level, r.rater, r.reference, r.attribute), {"n": r.n})
            cell[r.statistic] = r.value
    print(
        f"{'level':6} {'rater':32} {'attribute':20} "
        + " ".join(f"{s:>9}" for s in TABLE_STATISTICS)
        + "      n"
    )
    for (level, rater, _ref, attr), cell in cells.items():
        print(
            f"{level:6} {rater:32} {attr:20} "
            + " ".join(f"{fmt(cell.get(s)):>9}" for s in TABLE_STATISTICS)
            + f" {cell['n']:6d}"
        )
    other = len(records) - sum(len(c) - 1 for c in cells.values())
    print(f"({len(records)} records; {other} more statistics with --json)")


def cv_json(cid: str, cal: Any, cv: Any) -> dict[str, Any]:
    """Return the calibration output: id, version, method and per attribute the held-out CV table."""
    rows = [{**{k: clean(v) for k, v in r.model_dump().items()}, "gain": clean(r.gain)} for r in cv.rows]
    return {
        "calibration_id": cid,
        "name": cal.name,
        "version": cal.version,
        "method": cal.method,
        "kind": cal.kind,
        "n_splits": cv.n_splits,
        "seed": cv.seed,
        "grouped_by": cv.grouped_by,
        "reference": cal.training.reference,
        "rows": rows,
        "mean_calibrated_icc_a1": clean(cv.mean_calibrated_icc_a1),
        "checks": [c.model_dump() for c in cv.check()],
    }


def print_cv(out: dict[str, Any]) -> None:
    """Print :func:`cv_json` output as a table with the acceptance checks."""
    print(
        f"calibration {out['calibration_id']} ({out['name']} v{out['version']}, {out['method']}) stored; "
        f"{out['n_splits']}-fold CV grouped by {out['grouped_by']}, seed {out['seed']}; held-out vs "
        f"{out['reference']}"
    )
    print(
        f"{'attribute':16} {'n':>6} | {'best raw judge':30} {'ICC(A,1)':>8} {'bias':>7} {'MAE':>6} | "
        f"{'council':>7} {'bias':>7} {'MAE':>6} | {'calibr.':>7} {'bias':>7} {'MAE':>6} | {'gain':>6}"
    )
    for r in out["rows"]:
        print(
            f"{r['attribute']:16} {r['n']:6d} | {r['best_judge'][:30]:30} {fmt(r['best_judge_icc_a1']):>8} "
            f"{fmt(r['best_judge_bias']):>7} {fmt(r['best_judge_mae']):>6} | "
            f"{fmt(r['council_icc_a1']):>7} "
            f"{fmt(r['council_bias']):>7} {fmt(r['council_mae']):>6} | {fmt(r['calibrated_icc_a1']):>7} "
            f"{fmt(r['calibrated_bias']):>7} {fmt(r['calibrated_mae']):>6} | {fmt(r['gain']):>6}"
        )
    for c in out["checks"]:
        print(f"  {'PASS' if c['passed'] else 'FAIL'}  {c['name']:26} {c['value']:.4f} (bound {c['bound']})")
