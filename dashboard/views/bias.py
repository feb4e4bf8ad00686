"""Bias: where and how far the judges sit from the human, and what it depends on.

Mean difference (judge − human) with CIs per judge × attribute, Bland–Altman plots, score distributions
judge vs human (the ceiling effect), and the source-model, self-preference and length panels. Numbers come
from ``GET /v1/views/agreement`` (bias, limits of agreement, ceiling rates) and ``GET /v1/views/bias``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.charts import bland_altman, forest, heatmap, histogram
from dashboard.client import ApiError
from dashboard.common import api, fail, keep, pick_attributes, pick_judges, scope_picker, table

LINES = {"bias": "bias", "bland_altman_loa_low": "LoA low", "bland_altman_loa_high": "LoA high"}


def _mean_difference(recs: pd.DataFrame) -> None:
    st.subheader("Mean difference (rater − human) with 95% CI")
    st.caption("Positive: the judge scores higher than the human expert (inflation). t-based CIs, item level.")
    md = recs[recs["statistic"] == "bias"]
    st.altair_chart(forest(md, x_title="mean difference (95% CI)", zero=True), width="stretch")
    table(md[["attribute", "rater", "value", "ci_low", "ci_high", "n", "p_value"]], "mean_difference")


def _bland_altman(recs: pd.DataFrame, bias: dict, attribute: str, raters: list[str]) -> None:
    st.subheader(f"Bland–Altman: {attribute}")
    pts = pd.DataFrame(bias["bland_altman"])
    if pts.empty:
        st.info("No pairs with the human reference for this attribute.")
        return
    lines = recs[(recs["attribute"] == attribute) & recs["statistic"].isin(LINES)]
    shown = [r for r in raters if r in set(pts["rater"])]
    cols = st.columns(3)
    for i, r in enumerate(shown):
        ln = lines[lines["rater"] == r].assign(line=lambda d: d["statistic"].map(LINES), y=lambda d: d["value"])
        with cols[i % 3]:
            st.altair_chart(bland_altman(pts[pts["rater"] == r], ln[["line", "y"]], r), width="stretch")
    table(pts[pts["rater"].isin(shown)], "bland_altman_points")


def _distributions(bias: dict, attribute: str, raters: list[str], ref: str | None, recs: pd.DataFrame) -> None:
    st.subheader(f"Score distributions: judges vs human ({attribute})")
    h = pd.DataFrame(bias["histograms"])
    h = h[(h["attribute"] == attribute) & h["rater"].isin([*([ref] if ref else []), *raters])]
    st.altair_chart(histogram(h), width="stretch")
    ceil = recs[recs["statistic"].isin(["ceiling_rate_rater", "ceiling_rate_reference"])]
    if not ceil.empty:
        st.caption("Ceiling rate: share of responses at the top of the scale, judge vs human.")
        table(ceil.pivot_table(index=["attribute", "rater"], columns="statistic", values="value").reset_index(),
              "ceiling_rates")


def _panels(b: pd.DataFrame, attribute: str) -> None:
    st.subheader("Source model: bias per responder")
    src = b[(b["statistic"] == "source_model_bias") & (b["attribute"] == attribute)] if not b.empty else b
    if src.empty:
        st.info("No responder information.")
    else:
        st.altair_chart(heatmap(src, "responder", "rater", scheme="redblue", domain=(-1.5, 1.5)), width="stretch")
        table(src[["rater", "responder", "attribute", "value", "ci_low", "ci_high", "n"]], "source_model_bias")
    st.subheader("Self-preference")
    sp = b[b["statistic"] == "self_preference"] if not b.empty else b
    if sp.empty:
        st.info("No self-preference check: the judges' model families are unknown, or no responder is theirs.")
    else:
        st.caption("Bias on the judge's own family's responses minus its bias on the others; > 0 = self-preference.")
        table(sp[["rater", "attribute", "value", "ci_low", "ci_high", "p_value", "n", "ci_method"]], "self_preference")
    st.subheader("Length")
    ln = b[b["statistic"] == "length_bias_slope"] if not b.empty else b
    if ln.empty:
        st.info("No length panel: response texts are needed (batches have them; datasets like MentalAlign do not).")
    else:
        st.caption("Change of (judge − human) per character of response length.")
        table(ln[["rater", "attribute", "value", "ci_low", "ci_high", "p_value", "n"]], "length_bias")


def render() -> None:
    """Draw the page."""
    st.title("Bias")
    c = api()
    scope = scope_picker(c)
    try:
        with st.spinner("computing bias in the service (cached after the first time) …"):
            ag = c.agreement(scope)
            attrs_all = [*ag["scope"]["attributes"], *ag["scope"]["composites"]]
            keep("bias_attribute", attrs_all)
            attribute = st.sidebar.selectbox("Attribute (plots)", attrs_all, key="bias_attribute")
            bias = c.bias(scope, attribute)
    except ApiError as e:
        fail(e)
    info = ag["scope"]
    if bias.get("note"):
        st.info(bias["note"])
        return
    recs = pd.DataFrame(ag["records"])
    recs = recs[(recs["level"] == "item") & ~recs["ci_method"].str.startswith("cluster-bootstrap")
                & (recs["reference"] == info["reference"])]
    raters = pick_judges(sorted(r for r in recs["rater"].unique() if r not in info["humans"]))
    attrs = pick_attributes(attrs_all)
    recs = recs[recs["rater"].isin(raters)]
    _mean_difference(recs[recs["attribute"].isin(attrs)])
    _bland_altman(recs, bias, attribute, raters)
    _distributions(bias, attribute, raters, info["reference"], recs[recs["attribute"] == attribute])
    b = pd.DataFrame(bias["records"])
    if not b.empty:
        b = b[b["rater"].isin(raters)]
    _panels(b, attribute)
