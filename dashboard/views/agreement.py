"""Agreement: judges and the council (raw and calibrated) against the human reference.

ICC forest plot with CIs (form and level chosen in the sidebar) with a plain-language reading of the ICC
bands (Koo & Li 2016), a table of correlations, κ, α and CCC, the judge–judge heatmap and the human–human
ceiling when there are several human raters. All numbers come from ``GET /v1/views/agreement``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.charts import forest, heatmap
from dashboard.client import ApiError
from dashboard.common import (
    ICC_BANDS,
    KOO_LI,
    api,
    download,
    fail,
    icc_band,
    keep,
    pick_attributes,
    pick_judges,
    scope_picker,
    table,
)

ICC_FORMS = ["ICC(A,1)", "ICC(C,1)", "ICC(1,1)", "ICC(A,k)", "ICC(C,k)", "ICC(1,k)"]
TABLE_STATS = ["pearson", "spearman", "kendall", "qwk", "krippendorff_alpha_interval", "krippendorff_alpha_ordinal",
               "ccc", "bias", "mae", "rmse", "sd_ratio"]
FORM_HELP = ("ICC(A,1): absolute agreement of one judge with the human (a constant offset counts against it) — "
             "the question 'can this judge's score replace the human's?'. ICC(C,1): consistency (offset ignored) "
             "— 'does it rank responses like the human?'. k-forms: the mean of the raters compared.")


def _band_reading(icc: pd.DataFrame) -> pd.DataFrame:
    out = icc[["attribute", "rater", "value", "ci_low", "ci_high"]].copy()
    out.insert(3, "band", out["value"].map(icc_band))
    out["CI spans"] = [f"{icc_band(lo)} … {icc_band(hi)}" for lo, hi in zip(out["ci_low"], out["ci_high"], strict=True)]
    return out


def _calibration_gain(recs: pd.DataFrame, form: str, level: str) -> pd.DataFrame | None:
    sub = recs[(recs["statistic"] == form) & (recs["level"] == level) & recs["rater"].isin(["council",
                                                                                             "council_calibrated"])]
    if sub["rater"].nunique() < 2:
        return None
    wide = sub.pivot_table(index="attribute", columns="rater", values="value", sort=False).reset_index()
    wide["gain"] = wide["council_calibrated"] - wide["council"]
    return wide


def render() -> None:
    """Draw the page."""
    st.title("Agreement")
    c = api()
    scope = scope_picker(c)
    try:
        with st.spinner("computing agreement in the service (cached after the first time) …"):
            ag = c.agreement(scope)
    except ApiError as e:
        fail(e)
    info = ag["scope"]
    if ag.get("note"):
        st.info(ag["note"])
    recs = pd.DataFrame(ag["records"])
    attrs = pick_attributes([*info["attributes"], *info["composites"]])
    keep("level", ag["levels"])
    level = st.sidebar.radio("Level", ag["levels"], key="level", horizontal=True,
                             help="item: per response; system: per-responder means (ranks the models)")
    form = st.sidebar.selectbox("ICC form", ICC_FORMS, key="icc_form", help=FORM_HELP)
    if info.get("calibration"):
        cal = info["calibration"]
        st.caption(f"council_calibrated: calibration `{cal.get('calibration_id', '?')}` ({cal.get('method', '')}), "
                   f"{cal['source']}.")
    st.caption(f"Reference: **{info['reference'] or 'none'}** · judges: {', '.join(info['judges'])}")
    if "human_ratings" in info:
        st.caption(f"Human raters: {', '.join(info['humans']) or 'none'} · "
                   f"{info['human_ratings']:,} human ratings")

    if not recs.empty:
        raters = pick_judges(sorted(recs["rater"].unique()))
        recs = recs[recs["rater"].isin(raters) & recs["attribute"].isin(attrs)]
        lv = recs[(recs["level"] == level) & ~recs["ci_method"].str.startswith("cluster-bootstrap")]
        icc = lv[lv["statistic"] == form]
        st.subheader(f"{form} forest plot ({level} level)")
        left, right = st.columns([3, 2])
        with left:
            st.altair_chart(forest(icc, x_title=f"{form} (95% CI)", bands=True), width="stretch")
        with right:
            st.markdown("**Reading the ICC**")
            st.markdown("\n".join(f"- {text}" for _, _, text in ICC_BANDS))
            st.caption(KOO_LI)
            table(_band_reading(icc), "icc_bands")
        gain = _calibration_gain(lv, form, level)
        if gain is not None:
            st.subheader("How much calibration helps")
            table(gain, "calibration_gain")
        st.subheader("Correlations, κ, α, CCC")
        wide = lv[lv["statistic"].isin(TABLE_STATS)].pivot_table(
            index=["attribute", "rater"], columns="statistic", values="value", sort=False).reset_index()
        table(wide[[c for c in ["attribute", "rater", *TABLE_STATS] if c in wide.columns]], "agreement_statistics")
        download(lv, "agreement_records", "Download every record (all statistics with CI, n, k, CI method) as CSV")

    st.subheader("Judge–judge agreement")
    pairs = pd.DataFrame(ag["pairwise"])
    if pairs.empty:
        st.info("Fewer than two raters: no pairwise agreement.")
    else:
        cols = st.columns(2)
        stat = cols[0].selectbox("Statistic", ["ICC(A,1)", "ICC(C,1)", "pearson", "spearman", "qwk", "bias"],
                                 key="pair_stat")
        keep("pair_attr", attrs)
        attr = cols[1].selectbox("Attribute", attrs, key="pair_attr")
        sub = pairs[(pairs["statistic"] == stat) & (pairs["attribute"] == attr)]
        both = pd.concat([sub, sub.rename(columns={"rater": "reference", "reference": "rater"})])
        st.altair_chart(heatmap(both, "rater", "reference", scheme="redblue" if stat == "bias" else "blues"),
                        width="stretch")
        table(sub[["rater", "reference", "attribute", "statistic", "value", "ci_low", "ci_high", "n"]], "pairwise")

    st.subheader("Human–human ceiling")
    ceiling = recs[recs["rater"].isin(info["humans"]) & recs["reference"].isin(info["humans"])] \
        if not recs.empty else recs
    panel = pd.DataFrame(ag["records"])
    panel = panel[panel["rater"] == "human_panel"] if not panel.empty else panel
    if ceiling.empty and panel.empty:
        st.info("No human–human ceiling: this data has one human rating per response. Import a second human "
                "rater to see how far even humans agree.")
    else:
        table(pd.concat([panel, ceiling]), "human_ceiling")
