"""Terminal tables of a batch's results: one table per candidate, council and every judge side by side."""

from __future__ import annotations

import math

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from council.results import candidates, council_scores, judge_scores
from council.store.store import Store
from council.types import CouncilSpec, RunSummary

__all__ = ["print_batch_tables", "print_run_line"]


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _fmt(value: float | None) -> str:
    """A score: integers as they are (``4``), fractional scores with 2 decimals (``3.42``, ``3.50``)."""
    if _missing(value):
        return "-"
    v = float(value)  # type: ignore[arg-type]
    return str(int(v)) if v.is_integer() else f"{v:.2f}"


def _with_confidence(score: str, confidence: float | None) -> str:
    """``3.42 (c .61)`` when there is a confidence (expected scoring), else the score alone."""
    if _missing(confidence):
        return score
    c = f"{float(confidence):.2f}"  # type: ignore[arg-type]
    return f"{score} (c {c[1:] if c.startswith('0.') else c})"


def _judge_cell(row: pd.Series | None) -> Text:
    if row is None:
        return Text("-")
    if pd.isna(row["score"]):
        reason = row["abstention"] if isinstance(row["abstention"], str) else "incomplete"
        return Text(f"abstain: {reason}", style="yellow")
    return Text(_with_confidence(_fmt(row["score"]), row.get("confidence")))


def _council_cell(row: pd.Series) -> Text:
    if row["status"] != "ok":
        return Text(row["status"].replace("_", " "), style="red")
    return Text(_with_confidence(_fmt(row["score"]), row.get("confidence")), style="bold")


def print_batch_tables(console: Console, store: Store, batch_id: str, council: CouncilSpec) -> None:
    """Print a table per candidate: council score per attribute and composite, each judge's score, spread."""
    cands, council_df, judges_df = candidates(store, batch_id), council_scores(store, batch_id), judge_scores(
        store, batch_id)
    judge_ids = [j.id for j in council.judges]
    for _, cand in cands.iterrows():
        key = (council_df.item_id == cand.item_id) & (council_df.candidate_id == cand.candidate_id)
        jkey = (judges_df.item_id == cand.item_id) & (judges_df.candidate_id == cand.candidate_id)
        table = Table(title=f"{cand.item_id} / {cand.candidate_id}  ({cand.responder})", title_justify="left",
                      caption=(cand.text[:140] + ("…" if len(cand.text) > 140 else "")), caption_justify="left")
        table.add_column("attribute")
        table.add_column(f"council ({council.aggregation})", justify="right")
        for judge_id in judge_ids:
            table.add_column(judge_id, justify="right")
        table.add_column("spread", justify="right")
        by_judge = {(r.judge_id, r.attribute): r for _, r in judges_df[jkey].iterrows()}
        for _, row in council_df[key].iterrows():
            table.add_row(row["attribute"], _council_cell(row),
                          *[_judge_cell(by_judge.get((j, row["attribute"]))) for j in judge_ids],
                          _fmt(row["spread"]))
        console.print(table)
    if judges_df["confidence"].notna().any() or council_df["confidence"].notna().any():
        console.print("(c .61): confidence = 1 − normalised entropy of the judge's distribution over the scale "
                      "points (council: mean over its scoring judges); fractional scores are expected values.")
    print_flagged(console, store, batch_id)


def print_flagged(console: Console, store: Store, batch_id: str) -> None:
    """The batch's candidates suspected of manipulating the judges, with their council mean beside the flag."""
    from council.robustness.flags import flagged_scores

    flagged = flagged_scores(store, batch_id)
    if flagged.empty:
        return
    table = Table(title="Suspected manipulation (scored, reported beside the flag, routed to human review)",
                  title_justify="left")
    for col in ("item / candidate", "flagged text", "reasons", "council mean per attribute", "review"):
        table.add_column(col)
    for (item, cand), g in flagged.groupby(["item_id", "candidate_id"], sort=True):
        means = ", ".join(f"{a} {_fmt(m)}" for a, m in zip(g.attribute_id, g["mean"], strict=True))
        table.add_row(f"{item} / {cand}", str(g.flagged_text.iloc[0]), ", ".join(g.flag_reasons.iloc[0]), means,
                      str(g.routed.iloc[0] or "not yet"))
    console.print(table)


def print_run_line(console: Console, summary: RunSummary) -> None:
    """The last line of a run: calls made vs served from cache, failures, abstentions, tokens, time."""
    console.print(
        f"LLM calls: {summary.calls_made} made, {summary.calls_cached} served from cache, "
        f"{summary.calls_failed} failed | abstentions: {summary.abstentions}/{summary.judgments} judgments | "
        f"tokens: {summary.prompt_tokens + summary.completion_tokens} | cost: ${summary.cost_usd:.4f} | "
        f"{summary.seconds:.1f}s | batch {summary.batch_id}"
    )
