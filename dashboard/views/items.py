"""Items: one context, its candidates, each judge's ToM hypotheses, domain checklist, scores and rationales.

Judge disagreement (spread between judges) is highlighted; the list can be filtered to high-disagreement or
high-risk items for human review. Batches carry texts and agent outputs; datasets (e.g. MentalAlign) only
scores, so for them the page shows every rater's scores per response. From ``GET /v1/views/items``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.client import ApiError, Client
from dashboard.common import Scope, api, fail, keep, scope_picker, table

RISKS = ["none", "low", "moderate", "high", "imminent"]


def _highlight(df: pd.DataFrame, column: str, threshold: float) -> object:
    def shade(row: pd.Series) -> list[str]:
        hot = pd.notna(row[column]) and row[column] >= threshold
        return ["background-color: #ffd6d6" if hot else "" for _ in row]

    return df.style.format(precision=2).apply(shade, axis=1)


def _filtered(items: pd.DataFrame, batch: bool) -> pd.DataFrame:
    cols = st.columns(3)
    spread = cols[0].slider("Min. judge spread (max − min)", 0.0, 4.0, 0.0, 0.5, key="min_spread")
    out = items[items["max_spread"].fillna(0) >= spread]
    if batch:
        risk = cols[1].select_slider("Min. risk level", RISKS, value="none", key="min_risk")
        out = out[out["risk_rank"].fillna(0) >= RISKS.index(risk)]
    cols[2].metric("Items shown", f"{len(out)} / {len(items)}")
    return out


def _agents(detail: dict, judge: str) -> None:
    agents = [a for a in detail["agents"] if a["judge_id"] == judge]
    for a in agents:
        if a["agent"] == "tom":
            st.markdown("**ToM hypotheses**")
            if a["output"]:
                st.dataframe(pd.DataFrame(a["output"]["hypotheses"]), hide_index=True)
                st.caption(f"support wanted: {a['output'].get('support_preference')} · risk signals: "
                           f"{len(a['output'].get('risk_signals', []))}")
            else:
                st.warning(f"abstained: {a['abstention']} {a['detail'] or ''}")
        elif a["agent"] == "domain":
            st.markdown("**Domain checklist**")
            if a["output"]:
                st.markdown(f"risk level: **{a['output']['risk_level']}**")
                st.dataframe(pd.DataFrame(a["output"]["checklist"]), hide_index=True)
            else:
                st.warning(f"abstained: {a['abstention']} {a['detail'] or ''}")


def _batch_item(c: Client, scope: Scope, item_id: str) -> None:
    d = c.item(scope, item_id)
    st.subheader(f"Context {item_id}")
    for turn in d["context"]:
        st.chat_message("user" if turn["role"] == "seeker" else "assistant").write(turn["text"])
    j = pd.DataFrame(d["judgments"])
    council = pd.DataFrame(d["council"])
    for cand in d["candidates"]:
        with st.expander(f"Candidate {cand['candidate_id']} · {cand['responder']}", expanded=True):
            st.write(cand["text"])
            cj = j[j["candidate_id"] == cand["candidate_id"]]
            if cj.empty:
                st.info("Not judged yet.")
                continue
            wide = cj.pivot_table(index="attribute", columns="judge_id", values="score", sort=False).reset_index()
            cc = council[council["candidate_id"] == cand["candidate_id"]].set_index("attribute")
            wide["council"] = wide["attribute"].map(cc["score"])
            wide["spread"] = wide["attribute"].map(cc["spread"])
            st.dataframe(_highlight(wide, "spread", 2.0), hide_index=True)
            st.caption("Rows shaded red: judges differ by 2 points or more.")
            st.dataframe(cj[["judge_id", "attribute", "score", "rationale", "quote", "abstention"]], hide_index=True)
    st.subheader("Each judge's reading of the context")
    judges = sorted({a["judge_id"] for a in d["agents"]})
    for tab, judge in zip(st.tabs(judges), judges, strict=True) if judges else []:
        with tab:
            _agents(d, judge)


def _dataset_item(c: Client, scope: Scope, context: str) -> None:
    d = c.item(scope, context)
    st.subheader(f"Context {context}")
    st.caption("Datasets carry scores only (no response texts): every rater's score per response and attribute.")
    scores = pd.DataFrame(d["scores"])
    st.dataframe(_highlight(scores, "spread", 2.0), hide_index=True)
    st.download_button("Download context.csv", scores.to_csv(index=False).encode(), "context.csv", on_click="ignore")


def render() -> None:
    """Draw the page."""
    st.title("Items")
    c = api()
    scope = scope_picker(c)
    try:
        data = c.items(scope)
    except ApiError as e:
        fail(e)
    batch = data["kind"] == "batch"
    items = pd.DataFrame(data["items"])
    if items.empty:
        st.info("No items.")
        return
    key = "item_id" if batch else "context"
    items = items.sort_values(["max_spread", "mean_sd"], ascending=False, na_position="last", kind="stable")
    st.caption("Sorted by judge disagreement; filter to what a human should review first.")
    shown = _filtered(items, batch)
    table(shown, "items")
    if shown.empty:
        return
    ids = [str(i) for i in shown[key]]
    keep("item_pick", ids)
    chosen = st.selectbox("Item", ids, key="item_pick")
    try:
        (_batch_item if batch else _dataset_item)(c, scope, chosen)
    except ApiError as e:
        fail(e)
