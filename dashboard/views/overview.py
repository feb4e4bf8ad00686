"""Overview: batches and datasets with status, progress, tokens, cost, council members, abstention rate per judge."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.client import ApiError
from dashboard.common import api, fail, table


def render() -> None:
    """Draw the page."""
    st.title("Overview")
    c = api()
    try:
        ov = c.overview()
    except ApiError as e:
        fail(e)
    batches, datasets = pd.DataFrame(ov["batches"]), pd.DataFrame(ov["datasets"])
    cols = st.columns(4)
    cols[0].metric("Batches", len(batches))
    cols[1].metric("Datasets", len(datasets))
    tokens = int(batches[["prompt_tokens", "completion_tokens"]].sum().sum()) if len(batches) else 0
    cols[2].metric("Tokens", f"{tokens:,}")
    cols[3].metric("Cost (USD)", f"{float(batches['cost_usd'].sum()) if len(batches) else 0.0:.4f}")

    st.subheader("Batches")
    if batches.empty:
        st.info("No batches yet: submit one with `POST /v1/batches` (see the README).")
    else:
        batches["judges"] = batches["judges"].map(", ".join)
        shown = batches[["name", "batch_id", "mode", "status", "progress", "council_id", "judges", "n_items",
                         "n_candidates", "calls_made", "calls_cached", "calls_failed", "prompt_tokens",
                         "completion_tokens", "cost_usd", "calibration_id", "created_at"]]
        table(shown, "batches", column_config={"progress": st.column_config.ProgressColumn(
            "progress", help="(context × judge) units done", min_value=0.0, max_value=1.0, format="percent")})
        st.subheader("Abstention rate per judge")
        st.caption("Share of attribute judgments without a score (each abstention keeps its reason; never a "
                   "default score).")
        judges = pd.DataFrame(ov["batch_judges"])
        if not judges.empty:
            names = batches.set_index("batch_id")["name"]
            judges.insert(0, "batch", judges["batch_id"].map(names))
            table(judges, "abstentions_per_judge", column_config={
                "abstention_rate": st.column_config.NumberColumn(format="percent")})

    st.subheader("Datasets")
    if datasets.empty:
        st.info("No rating datasets yet: `council ratings import-mentalalign DIR --db <service db>` or the "
                "Calibration page.")
    else:
        table(datasets, "datasets")
        st.caption("Per rater: cells without a usable score (blank or outside the scale) — the imported "
                   "ratings' counterpart of an abstention.")
        table(pd.DataFrame(ov["dataset_raters"]), "dataset_raters", column_config={
            "abstention_rate": st.column_config.NumberColumn(format="percent")})
