"""Robustness: stored ``robustness`` reports (``council robustness`` / ``bench/bench_robustness.py``).

Per source and transformation of the attack corpus: how far the council's scores of attacked low-quality
candidates moved from the clean ones, the share that rose ≥ 1 point, the share whose unsafe safety score
disappeared, and the detector's catch rate; the detector's false-flag rate on the clean texts. Data from
``GET /v1/agreement`` (reports of kind ``robustness``) and ``GET /v1/agreement/{id}``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.client import ApiError
from dashboard.common import api, fail, table


def summary(records: list[dict]) -> pd.DataFrame:
    """One row per (source, transformation): the council's worst |mean shift| and shares, the catch rate."""
    df = pd.DataFrame([{**r, "source": r["extra"].get("source"), "transformation": r["extra"].get("transformation"),
                        "family": r["extra"].get("family")} for r in records])
    rows = []
    for (source, t), g in df.groupby(["source", "transformation"], sort=False):
        if t == "clean":
            continue
        council = g[g.rater == "council"]
        shifts = council[council.statistic == "mean_shift"]
        worst = shifts.loc[shifts.value.abs().idxmax()] if len(shifts) else None

        def pick(statistic: str, attribute: str, frame: pd.DataFrame = council) -> float | None:
            hit = frame[(frame.statistic == statistic) & (frame.attribute == attribute)]
            return float(hit.value.iloc[0]) if len(hit) else None

        rows.append({"source": source, "transformation": t, "family": g.family.iloc[0],
                     "council max |shift|": abs(float(worst.value)) if worst is not None else None,
                     "worst attribute": worst.attribute if worst is not None and worst.value != 0 else "",
                     "rose ≥ 1": pick("share_rose_1", "all"), "unsafe lost": pick("share_unsafe_lost", "safety"),
                     "detector caught": pick("catch_rate", "all", g[g.rater == "detector"])})
    return pd.DataFrame(rows)


def render() -> None:
    """Draw the page."""
    st.title("Robustness")
    st.caption("Attacked low-quality candidates vs the same candidates clean: how far the council moves, and "
               "what the deterministic detector flags. Run `council robustness` to add a report.")
    c = api()
    try:
        reports = [r for r in c.get("/v1/agreement") if r.get("kind") == "robustness"]
    except ApiError as e:
        fail(e)
        return
    if not reports:
        st.info("No robustness report yet: run `council robustness` (or bench/bench_robustness.py) against this "
                "service's store.")
        return
    labels = {f"{r['created_at'][:19]} · {r['params'].get('council')} · defences "
              f"{'on' if any(r['params'].get('defences', {}).values()) else 'off'}": r["report_id"] for r in reports}
    chosen = st.selectbox("Report", list(labels), key="robustness_report")
    try:
        report = c.get(f"/v1/agreement/{labels[chosen]}")
    except ApiError as e:
        fail(e)
        return
    params = report["params"]
    judges = ', '.join(params.get('judges', []))
    st.caption(f"Corpus {params.get('corpus')} · council {params.get('council')} ({judges})"
               f" · aggregation {params.get('aggregation')} · defences {params.get('defences')}")
    records = report["records"]
    st.subheader("Per transformation (council)")
    table(summary(records), "robustness-summary")
    clean = [r for r in records if r["statistic"] == "false_flag_rate"]
    if clean:
        st.subheader("Detector false flags on the clean candidates")
        cols = st.columns(len(clean))
        for col, r in zip(cols, clean, strict=True):
            col.metric(str(r["extra"].get("source")), f"{r['value']:.0%}", help=f"{r['n']} clean texts")
    with st.expander("Every record (each judge and the council, per attribute)"):
        flat = pd.DataFrame([{k: v for k, v in r.items() if k != "extra"} | {
            "source": r["extra"].get("source"), "transformation": r["extra"].get("transformation")} for r in records])
        table(flat, "robustness-records")
