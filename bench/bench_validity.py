"""Validity benchmark: how well the embedded council reads empathy, against three experts (Kumar et al. 2025).

Runs the product end to end on the EPITOME part of ../shared/data/empathy-experts (50 Reddit posts, one
reply each, rated 0-2 on emotional reactions, interpretations and explorations by three experts, a crowd
and GPT-4o / Claude 3.7 Sonnet / Gemini 2.5 Pro):

1. each condition is a batch judged by ``council.run.run_batch`` with the real embedded judges
   (``epitome`` protocol), stored in a DuckDB file (a re-run is served from its cache);
2. every rater's scores are imported onto the batch with the product's importer
   (``council.analysis.import_ratings_file``), plus the experts' mean as rater ``experts_mean``;
3. the product calibrates the council against ``experts_mean`` (``fit_and_store_calibration``, 5-fold CV
   grouped by context; ``ridge-mm``, the product's default, and ``isotonic``) and the out-of-fold
   predictions of that calibration are the calibrated council;
4. per dimension: quadratic-weighted κ against the experts' median, Spearman and ICC(A,1) against the
   experts' mean (``council.stats``), for the council raw and calibrated, each expert against the other two,
   the crowd and the three frontier LLMs; the abstention rate and seconds per item.

Conditions (``--conditions``): ``direct`` (the default council: the scoring agent only, expected scoring),
``full`` (ToM → domain → scoring, the ``local-pipeline`` council), ``direct-ex`` / ``full-ex`` (with one
exemplar reply per scale point in the rubric),
``direct-0.5b`` and ``direct-135m`` (the other embedded models, scoring only).
The argmax reading comes from the same calls as expected (the embedded judges always return logprobs).

    .venv/bin/python bench/bench_validity.py [--conditions full,direct,direct-noex] [--items 50]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from council.analysis import fit_and_store_calibration, import_ratings_file  # noqa: E402
from council.analysis.calibrate import maps_predictor  # noqa: E402
from council.analysis.scope import ratings_frame, resolve_scope  # noqa: E402
from council.calibration.cv import council_predictor, out_of_fold  # noqa: E402
from council.calibration.fit import design  # noqa: E402
from council.empathy_experts import DIMENSIONS, EMPATHY_EXPERTS, EXPERTS, RATERS, epitome_batch, epitome_ratings  # noqa: E402
from council.run import LocalExecutor, prepare_batch, run_batch  # noqa: E402
from council.spec import default_council, local_council  # noqa: E402
from council.stats import correlations, icc_matrix, quadratic_kappa  # noqa: E402
from council.store.store import Store  # noqa: E402
from council.types import Batch, CouncilSpec  # noqa: E402
from judges.types import AgentSwitches  # noqa: E402
from protocols import Protocol, load_protocol  # noqa: E402

DATA = EMPATHY_EXPERTS
CALIBRATIONS = ("ridge-mm", "isotonic")  # the product's default calibrator first (the headline), then monotone
SCALE = (0, 2)
CONDITIONS = {
    # name: (model alias, ToM + domain on, exemplars in the rubric)
    "full": ("qwen2.5-coder-1.5b-instruct", True, False),
    "full-ex": ("qwen2.5-coder-1.5b-instruct", True, True),
    "direct": ("qwen2.5-coder-1.5b-instruct", False, False),
    "direct-ex": ("qwen2.5-coder-1.5b-instruct", False, True),
    "direct-0.5b": ("qwen2.5-coder-0.5b-instruct", False, False),
    "direct-135m": ("smollm2-135m-instruct", False, False),
}
DEFAULT_CONDITION = "direct"  # what council.spec.default_council() runs (its judges' agents are off)
EXEMPLARS = {  # written for this benchmark (never taken from the expert set); one example reply per point
    "emotional_reactions": {0: ["Have you tried going for a run? Exercise helps with low mood."],
                            1: ["Sorry to hear that, that's rough."],
                            2: ["I'm so sad you've been carrying this on your own, and honestly I'm worried about "
                                "how heavy it sounds."]},
    "interpretations": {0: ["You should see a doctor about that."],
                        1: ["I understand how you feel."],
                        2: ["It sounds like after trying so many things you've started to believe nothing will "
                            "ever change. I felt that way after losing my job."]},
    "explorations": {0: ["Things will get better soon, hang in there."],
                     1: ["What happened?"],
                     2: ["When you say nothing helps anymore, are you feeling hopeless about things getting "
                         "better?"]},
}


def load_items(limit: int | None) -> tuple[Batch, pd.DataFrame]:
    """The EPITOME posts as a batch (item = post, one candidate = the reply) and every rater's long ratings."""
    ratings = epitome_ratings(limit, DATA)
    experts = ratings[ratings.rater.isin(EXPERTS)]
    mean = experts.groupby(["target", "attribute"], as_index=False)["score"].mean().assign(rater="experts_mean")
    return epitome_batch(limit, DATA), pd.concat([ratings, mean], ignore_index=True)


def council_for(condition: str) -> CouncilSpec:
    """A one-judge embedded council for a condition."""
    alias, upstream, _ = CONDITIONS[condition]
    council = local_council([alias])
    judge = council.judges[0].model_copy(update={"agents": AgentSwitches(tom=upstream, domain=upstream)})
    return council.model_copy(update={"id": f"validity-{condition}", "judges": [judge]})


def protocol_for(condition: str) -> Protocol:
    """The shipped epitome protocol, with the exemplars above where the condition says so."""
    protocol = load_protocol("epitome")
    if not CONDITIONS[condition][2]:
        return protocol
    return protocol.model_copy(update={"attributes": [a.model_copy(update={"exemplars": EXEMPLARS[a.id]})
                                                      for a in protocol.attributes]})


def import_all(store: Store, batch_id: str, ratings: pd.DataFrame) -> None:
    """Every rater's scores onto the batch, through the product's importer."""
    for rater, group in ratings.groupby("rater"):
        kind = RATERS.get(str(rater), "external")
        buffer = io.StringIO()
        group[["target", "attribute", "score"]].to_csv(buffer, index=False)
        import_ratings_file(store, buffer.getvalue().encode(), batch_id=batch_id, fmt="csv", rater=str(rater),
                            kind=kind)  # type: ignore[arg-type]


def calibrated_oof(store: Store, batch_id: str, judge: str, method: str) -> tuple[pd.DataFrame, str]:
    """Fit the product's calibration (stored, with its CV table) and return its out-of-fold predictions."""
    fit = fit_and_store_calibration(store, batch_id=batch_id, method=method, cv=5, seed=0, reference="experts_mean",
                                    name=f"validity-{method}")  # type: ignore[arg-type]
    scope = resolve_scope(store, batch_id=batch_id)
    df = ratings_frame(store, scope=scope)
    attributes = [a for a in DIMENSIONS if a in set(df.loc[df.rater == "experts_mean", "attribute"])]
    d = design(df, "experts_mean", [judge], attributes)
    if method in ("ridge-mm", "ridge", "mean-mm"):
        predict = council_predictor(list(d.features.columns), method, 1.0, scope.scale)
    else:
        predict = maps_predictor([judge], method, scope.scale)
    pooled = out_of_fold(d, [judge], attributes, predict, n_splits=5, seed=0)
    wide = pd.DataFrame({a: oof for a, (_, oof, _) in pooled.items()}, index=d.features.index)
    return wide.reset_index().melt(id_vars="target", var_name="attribute", value_name="score"), fit.calibration_id


def judge_scores(store: Store, batch_id: str, reading: str) -> pd.DataFrame:
    """The judge's scores per target and attribute: its stored (expected) score, or the argmax of its
    stored distribution (what ``scoring: argmax`` writes from the same call)."""
    df = store.query("SELECT item_id, candidate_id, attribute_id, score, distribution FROM judgments "
                     "WHERE batch_id = ?", [batch_id])
    if reading == "argmax":
        df["score"] = [max(json.loads(d).items(), key=lambda kv: kv[1])[0] if d else None for d in df.distribution]
    return pd.DataFrame({"target": df.item_id + ":" + df.candidate_id, "attribute": df.attribute_id,
                         "score": pd.to_numeric(df.score)})


def compare(scores: pd.DataFrame, ratings: pd.DataFrame, dim: str, exclude: str | None = None) -> dict[str, float]:
    """κ (quadratic) vs the experts' median and Spearman / ICC(A,1) vs their mean, over shared targets.

    ``exclude`` leaves one expert out of the reference (an expert against the other two).
    """
    experts = ratings[ratings.rater.isin([e for e in EXPERTS if e != exclude]) & (ratings.attribute == dim)]
    ref = experts.pivot_table(index="target", columns="rater", values="score")
    x = scores[scores.attribute == dim].set_index("target")["score"].astype(float)
    joined = pd.concat([x.rename("x"), ref.median(axis=1).rename("median"), ref.mean(axis=1).rename("mean")],
                       axis=1).dropna()
    if len(joined) < 3:
        return {"kappa": float("nan"), "spearman": float("nan"), "icc_a1": float("nan"), "n": len(joined)}
    kappa = quadratic_kappa(joined.x.to_numpy(), joined["median"].to_numpy(), scale=SCALE).value
    spearman = next(e.value for e in correlations(joined.x.to_numpy(), joined["mean"].to_numpy())
                    if e.statistic == "spearman")
    icc = next(r.value for r in icc_matrix(joined[["mean", "x"]].to_numpy()) if r.form == "ICC(A,1)")
    return {"kappa": kappa, "spearman": spearman, "icc_a1": icc, "n": len(joined)}


def run_condition(store: Store, condition: str, batch: Batch, ratings: pd.DataFrame) -> dict:
    """Judge the batch under one condition, import the ratings, calibrate; the condition's rows and facts."""
    protocol, council = protocol_for(condition), council_for(condition)
    batch_id = prepare_batch(store, batch, protocol, council)
    started = time.perf_counter()
    done = {"n": 0}

    def progress(n: int, total: int, _: object) -> None:
        done["n"] = n
        print(f"\r  {condition}: {n}/{total} items  {time.perf_counter() - started:6.0f} s", end="", file=sys.stderr)

    summary = asyncio.run(run_batch(store, batch_id, batch, protocol, council, LocalExecutor(store), progress=progress))
    print(file=sys.stderr)
    import_all(store, batch_id, ratings)
    judge = council.judges[0].id
    rows = {f"{condition} expected": judge_scores(store, batch_id, "expected"),
            f"{condition} argmax": judge_scores(store, batch_id, "argmax")}
    for method in CALIBRATIONS:
        oof, _ = calibrated_oof(store, batch_id, judge, method)
        rows[f"{condition} calibrated ({method})"] = oof
    return {"batch_id": batch_id, "rows": rows, "calls_made": summary.calls_made,
            "calls_cached": summary.calls_cached, "seconds": summary.seconds, "items": len(batch.items),
            "abstention_rate": summary.abstentions / max(1, summary.judgments)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conditions", default="direct,full,direct-ex")
    parser.add_argument("--items", type=int, default=None, help="first N posts only (default all 50)")
    parser.add_argument("--db", default=str(ROOT / ".council" / "bench_validity.duckdb"))
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    if not (DATA / "texts" / "sample_epitome.csv").is_file():
        print(f"SKIP: {DATA} not found (set EMPATHY_EXPERTS_DIR); the validity benchmark needs the expert set")
        return 0
    from judges.local.server import local_up

    conditions = [c.strip() for c in args.conditions.split(",") if c.strip()]
    default = default_council().judges[0]
    alias, upstream, _ = CONDITIONS[DEFAULT_CONDITION]
    if default.id != alias or (default.agents.tom or default.agents.domain) != upstream:
        sys.exit(f"the default council ({default.id}, agents {default.agents}) is not condition {DEFAULT_CONDITION!r}: "
                 "update DEFAULT_CONDITION so the headline describes what the product runs")
    local_up(sorted({CONDITIONS[c][0] for c in conditions}))
    batch, ratings = load_items(args.items)
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    store = Store(args.db)
    table, facts = [], {}
    try:
        reference_rows = {r: ratings[ratings.rater == r] for r in ("crowd", "gpt", "claude", "gemini")}
        for expert in EXPERTS:
            for dim in DIMENSIONS:
                table.append({"rater": f"{expert} vs other two", "dimension": dim,
                              **compare(ratings[ratings.rater == expert], ratings, dim, exclude=expert)})
        for name, scores in reference_rows.items():
            for dim in DIMENSIONS:
                table.append({"rater": name, "dimension": dim, **compare(scores, ratings, dim)})
        for condition in conditions:
            result = run_condition(store, condition, batch, ratings)
            facts[condition] = {k: v for k, v in result.items() if k != "rows"}
            for name, scores in result["rows"].items():
                for dim in DIMENSIONS:
                    table.append({"rater": name, "dimension": dim, **compare(scores, ratings, dim)})
    finally:
        store.close()
    frame = pd.DataFrame(table)
    wide = frame.pivot_table(index="rater", columns="dimension", values=["kappa", "spearman", "icc_a1"],
                             sort=False)
    wide.columns = [f"{stat}:{dim[:6]}" for stat, dim in wide.columns]
    order = ["kappa", "spearman", "icc_a1"]
    wide = wide[[f"{s}:{d[:6]}" for s in order for d in DIMENSIONS]]
    with pd.option_context("display.width", 250, "display.max_columns", 20, "display.float_format", "{:.2f}".format):
        print("\nκ: quadratic-weighted vs the experts' median; spearman, icc_a1 (ICC(A,1)): vs the experts' mean")
        print(wide.to_string())
    for condition, f in facts.items():
        per_item = f["seconds"] / max(1, f["items"])
        print(f"{condition}: batch {f['batch_id']}, {f['calls_made']} calls made, {f['calls_cached']} cached, "
              f"abstentions {f['abstention_rate']:.1%}, {f['seconds']:.0f} s ({per_item:.1f} s per item)")
    calibrated = frame[frame.rater == f"{DEFAULT_CONDITION} calibrated ({CALIBRATIONS[0]})"]
    if not calibrated.empty:
        worst = float(np.nanmin(calibrated.kappa))
        print(f"\ncalibrated default council ({DEFAULT_CONDITION}, {CALIBRATIONS[0]}): κ "
              + " / ".join(f"{k:.2f}" for k in calibrated.kappa)
              + f"; min {worst:.2f} (target ≥ 0.35: {'met' if worst >= 0.35 else 'NOT met'}; moonshot ≥ 0.45)")
    if args.json:
        Path(args.json).write_text(json.dumps({"table": table, "facts": facts}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
