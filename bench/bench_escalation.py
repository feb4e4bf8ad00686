"""Confidence-gated escalation on MentalAlign-70k: does the guarantee hold held out, and what does it cover?

Tiers are simulated with the four external judges of MentalAlign (Badawi et al. 2025), ordered by list price
per million input / output tokens at the time the ratings were made: tier 1 = gemini-2.5-flash-preview-04-17
($0.15 / $0.60, non-thinking), tier 2 adds o4-mini ($1.10 / $4.40), tier 3 adds gpt-4o ($2.50 / $10) and
claude-3-7-sonnet ($3 / $15). Each tier's result is the council of every judge called so far (their scores are
paid for). Default hygiene (empty responses, misaligned contexts, out-of-scale human values dropped).

Per split (≥ 20, contexts split 50/50 at random, seeded): ``fit_gate`` on the training half (which itself
fits on one half of it and picks thresholds on the other), ``route`` on the held-out half. Reported over
splits: realised agreement of accepted held-out items vs the target and the share of splits where it is
≥ the level (the guarantee asks ≥ 1 − risk), coverage per tier, judge calls per candidate relative to calling
all four, and two baselines on the same held-out items *at the gate's realised agreement*:
(a) the best single judge (chosen on the training half) with its own score-based confidence (training
agreement rate of its (attribute, score) cell), (b) "accept when all four judges agree" ranked by the
training agreement rate of its (attribute, agreed score) cell. For the baselines the cut-off is chosen on the
held-out items themselves (the largest prefix of cells whose realised agreement is ≥ the gate's), which
favours them; the gate never sees the held-out half.

    .venv/bin/python bench/bench_escalation.py [--splits 20] [--plain]

``--plain`` also fits every gate with the paper's plain binomial bound (items as independent) for comparison.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from council.escalation import AgreementTarget, TierSpec, fit_gate, route  # noqa: E402
from council.ratings.mentalalign import default_mentalalign_dir, import_mentalalign  # noqa: E402

GEMINI, O4, GPT4O, CLAUDE = ("gemini-2.5-flash-preview-04-17", "o4-mini", "gpt-4o", "claude-3-7-sonnet-20250219")
JUDGES = (GEMINI, O4, GPT4O, CLAUDE)
TIERS = [
    TierSpec(name="t1:gemini-flash", judges=[GEMINI]),
    TierSpec(name="t2:+o4-mini", judges=[GEMINI, O4]),
    TierSpec(name="t3:+gpt-4o+claude", judges=[GEMINI, O4, GPT4O, CLAUDE]),
]
NEW_JUDGES = [1, 1, 2]  # judges first called at each tier
TARGETS = ("within1>=0.95", "exact>=0.75")
RISK = 0.1


def _wide(df: pd.DataFrame) -> pd.DataFrame:
    w = df.pivot_table(index=["target", "attribute"], columns="rater", values="score").reset_index()
    return w.merge(df[["target", "context"]].drop_duplicates("target"), on="target")


def _matched_coverage(conf: pd.Series, agree: pd.Series, eligible: pd.Series, goal: float, n: int) -> float:
    """Largest coverage of a prefix of confidence cells (highest first) whose realised agreement is ≥ goal."""
    d = pd.DataFrame({"c": conf, "a": agree})[eligible.to_numpy()]
    cells = d.groupby("c")["a"].agg(["sum", "size"]).sort_index(ascending=False)
    cum_ok, cum_n = cells["sum"].cumsum(), cells["size"].cumsum()
    fine = cum_n[(cum_ok / cum_n) >= goal - 1e-12]
    return float(fine.max() / n) if len(fine) else 0.0


def _cell_conf(train: pd.DataFrame, test: pd.DataFrame, answer: str, k: int) -> pd.Series:
    rate = (train.assign(ok=(train[answer] - train["human_expert"]).abs() <= k)
            .groupby(["attribute", answer])["ok"].mean())
    return pd.Series(pd.MultiIndex.from_frame(test[["attribute", answer]]).map(rate.to_dict()), index=test.index)


def baselines(tr_w: pd.DataFrame, te_w: pd.DataFrame, target: AgreementTarget, goal: float) -> dict[str, float]:
    """Coverage of the two baselines at realised agreement ``goal`` on the held-out items (see module doc)."""
    k = target.k
    tr, te = tr_w[tr_w["human_expert"].notna()], te_w[te_w["human_expert"].notna()]
    n = len(te)
    agree_rate = {j: ((tr[j] - tr["human_expert"]).abs() <= k).mean() for j in JUDGES}
    best = max(agree_rate, key=agree_rate.get)
    single_ok = (te[best] - te["human_expert"]).abs() <= k
    single = _matched_coverage(_cell_conf(tr, te, best, k), single_ok, te[best].notna(), goal, n)
    def same(w: pd.DataFrame) -> pd.Series:
        s = w[list(JUDGES)]
        return s.notna().all(axis=1) & (s.max(axis=1) == s.min(axis=1))

    tr_a, te_a = tr.assign(agreed=tr[GEMINI].where(same(tr))), te.assign(agreed=te[GEMINI].where(same(te)))
    all_ok = (te_a["agreed"] - te_a["human_expert"]).abs() <= k
    allagree = _matched_coverage(_cell_conf(tr_a[same(tr)], te_a, "agreed", k), all_ok, same(te), goal, n)
    return {
        "best_judge": best, "single": single, "all_agree": allagree,
        "single_all_cov": float(te[best].notna().mean()), "single_all_agree": float(single_ok.mean()),
        "allagree_cov": float(same(te).mean()), "allagree_agree": float(all_ok[same(te)].mean()),
    }


def one_split(df: pd.DataFrame, wide: pd.DataFrame, split: int, target: AgreementTarget, clustered: bool) -> dict:
    """Fit on a random half of the contexts, route the other half, compare with the baselines."""
    contexts = np.sort(df["context"].astype(str).unique())
    rng = np.random.default_rng(1000 + split)
    train_ctx = set(rng.choice(contexts, len(contexts) // 2, replace=False))
    in_train = df["context"].astype(str).isin(train_ctx)
    gate = fit_gate(df[in_train], TIERS, target, seed=split, clustered=clustered)
    r = route(gate, df[~in_train])
    f = r.frame[r.frame["reference"].notna()]
    acc = f["decision"] == "accepted"
    realised = float(f.loc[acc, "agrees"].mean()) if acc.any() else float("nan")
    cov = {t.name: float((acc & (f["tier"] == t.name)).mean()) for t in TIERS}
    # Calls: a candidate reaches tier t when any of its attributes does (judges score all attributes per call).
    reached = [pd.Series(True, index=f.index)]
    for t in TIERS[:-1]:
        reached.append(reached[-1] & ~(acc & (f["tier"] == t.name)))
    per_cand = [s.groupby(f["target"]).any().mean() for s in reached]
    calls = sum(w * p for w, p in zip(NEW_JUDGES, per_cand, strict=True)) / sum(NEW_JUDGES)
    w_in = wide["context"].astype(str).isin(train_ctx)
    base = baselines(wide[w_in], wide[~w_in], target, realised)
    return {"split": split, "realised": realised, "predicted": r.summary.predicted_agreement,
            "coverage": sum(cov.values()), **{f"cov:{k}": v for k, v in cov.items()}, "calls": calls,
            "thresholds": [t.threshold for t in gate.thresholds], **base}


def report(rows: pd.DataFrame, target: AgreementTarget, label: str) -> str:
    """Markdown-ish block of one criterion's results over splits."""
    held = (rows["realised"] >= target.level).mean()
    ms = lambda c: f"{rows[c].mean():.3f} ± {rows[c].std():.3f}"  # noqa: E731
    lines = [
        f"### {target.label} — {label}, {len(rows)} splits",
        f"realised agreement of accepted held-out items: {ms('realised')} (min {rows['realised'].min():.3f}); "
        f"predicted {ms('predicted')}",
        f"guarantee held (realised ≥ {target.level:g}) in {held:.0%} of splits (needs ≥ {1 - target.risk:.0%}): "
        f"{'PASS' if held >= 1 - target.risk else 'FAIL'}",
        "coverage per tier: " + ", ".join(f"{t.name} {ms('cov:' + t.name)}" for t in TIERS)
        + f"; total {ms('coverage')}; to review {1 - rows['coverage'].mean():.3f}",
        f"judge calls per candidate vs calling all four: {ms('calls')}",
        f"baseline (a) best single judge ({rows['best_judge'].mode()[0]}) at the same realised agreement: "
        f"coverage {ms('single')} (alone on every item: coverage {rows['single_all_cov'].mean():.3f}, "
        f"agreement {rows['single_all_agree'].mean():.3f})",
        f"baseline (b) all four agree, at the same realised agreement: coverage {ms('all_agree')} (the rule alone: "
        f"coverage {rows['allagree_cov'].mean():.3f}, agreement {rows['allagree_agree'].mean():.3f})",
        f"gate coverage / baseline (a): {rows['coverage'].mean() / max(rows['single'].mean(), 1e-9):.2f}; "
        f"/ baseline (b): {rows['coverage'].mean() / max(rows['all_agree'].mean(), 1e-9):.2f}; gate covers more "
        f"than both in {((rows['coverage'] > rows['single']) & (rows['coverage'] > rows['all_agree'])).mean():.0%} "
        "of splits",
        "thresholds (first split): " + ", ".join("none" if t is None else f"{t:.3f}" for t in rows['thresholds'][0]),
    ]
    return "\n".join(lines)


def main() -> None:
    """Run the bench and print its results."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--splits", type=int, default=20)
    ap.add_argument("--plain", action="store_true", help="also run the plain binomial bound")
    args = ap.parse_args()
    if not (default_mentalalign_dir() / "ratings.jsonl").is_file():
        sys.exit(f"MentalAlign not found at {default_mentalalign_dir()} (set MENTALALIGN_DIR)")
    print(f"machine: {os.cpu_count()} cores, load average before {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    t0 = time.time()
    df = import_mentalalign().frame
    wide = _wide(df)
    print(f"MentalAlign-70k, default hygiene: {df['target'].nunique()} targets, {df['context'].nunique()} contexts, "
          f"{int(wide['human_expert'].notna().sum())} rated items; tiers: "
          + " → ".join(f"{t.name} {t.judges}" for t in TIERS) + " → review")
    variants = [(True, "clustered bound (default)")] + ([(False, "plain binomial bound")] if args.plain else [])
    for spec in TARGETS:
        target = AgreementTarget.parse(spec, RISK)
        for clustered, label in variants:
            rows = pd.DataFrame([one_split(df, wide, s, target, clustered) for s in range(args.splits)])
            print()
            print(report(rows, target, label))
    print(f"\n{time.time() - t0:.0f} s total")


if __name__ == "__main__":
    main()
