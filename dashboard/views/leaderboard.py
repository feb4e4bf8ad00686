"""Leaderboard: the responders (models that wrote the candidates) ranked by council score, and pairwise.

Per attribute and composite, with seeded cluster-bootstrap 95% CIs over contexts, rank intervals, and
whether each rank is separable from the next (the CI of their difference excludes 0). From
``GET /v1/views/leaderboard``. A pairwise batch, or an absolute batch with a pairwise batch over the same
items, also shows the Bradley–Terry ranking beside the absolute one and the judges' position and
self-preference (:mod:`dashboard.views.pairwise`, from ``GET /v1/batches/{id}/pairwise``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.charts import ranking
from dashboard.client import ApiError, Client
from dashboard.common import Scope, api, fail, keep, pick_attributes, scope_picker, table
from dashboard.views.pairwise import judges_section, pairwise_beside, twin_batches


def _batch(c: Client, scope: Scope) -> tuple[dict | None, list[dict]]:
    """The scope's batch record from the overview (None for a dataset) and all batches of the owner."""
    batches = c.overview()["batches"]
    return next((b for b in batches if b["batch_id"] == scope.get("batch_id")), None), batches


def _pairwise(c: Client, batch_id: str, absolute_batch: str | None = None) -> dict:
    try:
        with st.spinner("bootstrapping the pairwise ranking in the service …"):
            return c.pairwise(batch_id, absolute_batch=absolute_batch)
    except ApiError as e:
        fail(e)
        raise


def render() -> None:
    """Draw the page."""
    st.title("Leaderboard")
    c = api()
    scope = scope_picker(c, pairwise=True)
    batch, batches = _batch(c, scope)
    if batch is not None and batch.get("mode") == "pairwise":
        st.caption("A **pairwise** batch: every judge compared the candidates two at a time, in both orders.")
        report = _pairwise(c, batch["batch_id"])
        pairwise_beside(c, report)
        judges_section(report)
        return
    one = _absolute(c, scope)
    twins = twin_batches(batches, batch, "pairwise") if batch is not None else []
    if twins:
        st.subheader("Pairwise ranking beside the absolute one")
        st.caption(f"From pairwise batch `{twins[0]['batch_id']}` over the same items (the newest of "
                   f"{len(twins)}).")
        report = _pairwise(c, twins[0]["batch_id"], absolute_batch=batch["batch_id"])  # type: ignore[index]
        pairwise_beside(c, report, absolute_rows=one)
        judges_section(report)


def _absolute(c: Client, scope: Scope) -> pd.DataFrame:
    """The absolute leaderboard of the scope; returns the rows of the attribute shown."""
    try:
        ag = c.agreement(scope)
    except ApiError as e:
        fail(e)
    info = ag["scope"]
    raters = [r for r in ["council", "council_calibrated", *(info["humans"]), *info["judges"]] if r in info["raters"]]
    keep("lb_rater", raters)
    rater = st.sidebar.selectbox("Ranked by", raters, key="lb_rater",
                                 help="council: the council score; council_calibrated: after calibration; or a "
                                      "single rater (the human expert gives the human ranking)")
    attrs = pick_attributes([*info["attributes"], *info["composites"]])
    try:
        with st.spinner("bootstrapping ranks in the service …"):
            lb = c.leaderboard(scope, rater)
    except ApiError as e:
        fail(e)
    rows = pd.DataFrame(lb["rows"])
    st.caption(f"Ranked by **{rater}**; 95% CIs by {lb['ci_method']} over contexts. Neighbouring ranks are "
               "*separable* when the CI of their difference excludes 0; otherwise the data cannot tell them apart.")
    if rows.empty:
        st.info("No responders to rank.")
        return rows
    rows = rows[rows["attribute"].isin(attrs)]
    keep("lb_attribute", attrs)
    attribute = st.selectbox("Attribute", attrs, key="lb_attribute")
    one = rows[rows["attribute"] == attribute]
    left, right = st.columns([2, 3])
    with left:
        st.altair_chart(ranking(one), width="stretch")
    with right:
        shown = one[["rank", "responder", "mean", "ci_low", "ci_high", "rank_low", "rank_high", "n",
                     *[c for c in ("diff_next", "separable_from_next") if c in one.columns]]]
        table(shown, f"leaderboard_{attribute}")
    n_sep = int(one.get("separable_from_next", pd.Series(dtype=bool)).fillna(False).astype(bool).sum())
    st.markdown(f"**{n_sep} of {max(len(one) - 1, 0)}** neighbouring ranks are separable on {attribute}.")
    st.subheader("All attributes")
    table(rows, "leaderboard")
    return one
