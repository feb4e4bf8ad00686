"""Leaderboard: the responders (models that wrote the candidates) ranked by council score.

Per attribute and composite, with seeded cluster-bootstrap 95% CIs over contexts, rank intervals, and
whether each rank is separable from the next (the CI of their difference excludes 0). From
``GET /v1/views/leaderboard``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.charts import ranking
from dashboard.client import ApiError
from dashboard.common import api, fail, keep, pick_attributes, scope_picker, table


def render() -> None:
    """Draw the page."""
    st.title("Leaderboard")
    c = api()
    scope = scope_picker(c)
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
        return
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
