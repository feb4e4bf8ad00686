"""Items: one context, its candidates, each judge's ToM hypotheses, domain checklist, scores and rationales.

Judge disagreement (spread between judges) is highlighted; the list can be filtered to high-disagreement or
high-risk items for human review. Batches carry texts and agent outputs; datasets (e.g. MentalAlign) only
scores, so for them the page shows every rater's scores per response. Judges with ``scoring: expected``
show their fractional score with its confidence (``3.42 (c .61)``) and, per judgment, the distribution over
the scale points (``1:.05 2:.20 3:.50 4:.20 5:.05``). From ``GET /v1/views/items``.
"""

from __future__ import annotations

import math
from typing import Any

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


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def score_text(score: Any, confidence: Any = None) -> str:
    """A score as the CLI prints it: ``4``, ``3.42``, or ``3.42 (c .61)`` with a confidence; ``-`` when missing."""
    if _missing(score):
        return "-"
    v = float(score)
    text = str(int(v)) if v.is_integer() else f"{v:.2f}"
    if _missing(confidence):
        return text
    c = f"{float(confidence):.2f}"
    return f"{text} (c {c[1:] if c.startswith('0.') else c})"


def distribution_text(dist: Any) -> str:
    """A distribution over scale points as compact text, points in order: ``1:.05 2:.20 3:.50`` ('' for none)."""
    if not isinstance(dist, dict) or not dist:
        return ""

    def order(point: str) -> tuple[float, str]:
        try:
            return float(point), point
        except ValueError:
            return math.inf, point

    def prob(p: float) -> str:
        t = f"{p:.2f}"
        return t[1:] if t.startswith("0.") else t

    return " ".join(f"{k}:{prob(float(dist[k]))}" for k in sorted(dist, key=order))


def score_table(cj: pd.DataFrame, cc: pd.DataFrame) -> pd.DataFrame:
    """One candidate's scores, attributes × judges: each judge's score (mean over samples) with its confidence.

    ``cj``: the candidate's judgments (one row per judge × attribute × sample); ``cc``: the council rows
    indexed by attribute. Columns: attribute, one text column per judge, council (text), spread (number).
    """
    conf = cj["confidence"] if "confidence" in cj else pd.Series(float("nan"), index=cj.index)
    per = (cj.assign(confidence=conf.where(cj["score"].notna()))
           .groupby(["attribute", "judge_id"], sort=False)[["score", "confidence"]].mean())
    judges = list(dict.fromkeys(cj["judge_id"]))
    wide = pd.DataFrame({"attribute": list(dict.fromkeys(cj["attribute"]))})
    for judge in judges:
        wide[judge] = [score_text(*per.loc[(a, judge)]) if (a, judge) in per.index else "-"
                       for a in wide["attribute"]]
    council_conf = cc["confidence"] if "confidence" in cc else pd.Series(float("nan"), index=cc.index)
    wide["council"] = [score_text(cc["score"].get(a), council_conf.get(a)) for a in wide["attribute"]]
    wide["spread"] = wide["attribute"].map(cc["spread"])
    return wide


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
    screens = [a for a in agents if a["agent"] in ("risk_screen", "advice_screen")]
    if screens:
        st.markdown("**Safety screens** (P(yes) of a yes/no question; flagged cases go to the review queue)")
        st.dataframe(pd.DataFrame([{
            "screen": a["agent"], "candidate": a["candidate_id"] or "(context)",
            "flagged": a["output"]["flagged"] if a["output"] else None,
            "P(yes)": a["output"]["p_yes"] if a["output"] else None,
            "threshold": a["output"]["threshold"] if a["output"] else None,
            "abstention": a["abstention"]} for a in screens]), hide_index=True)


def _judgment_rows(cj: pd.DataFrame, expected: bool) -> None:
    """Every judgment of the candidate; with expected scoring its confidence and distribution beside it."""
    columns = ["judge_id", "attribute", "sample", "score", "rationale", "quote", "abstention"]
    if not expected:
        st.dataframe(cj[[c for c in columns if c != "sample"]], hide_index=True)
        return
    rows = cj[columns].assign(confidence=cj["confidence"],
                              distribution=[distribution_text(d) for d in cj["distribution"]])
    st.dataframe(rows[["judge_id", "attribute", "sample", "score", "confidence", "distribution", "rationale",
                       "quote", "abstention"]], hide_index=True,
                 column_config={"score": st.column_config.NumberColumn("score", format="%.2f"),
                                "confidence": st.column_config.ProgressColumn(
                                    "confidence", min_value=0.0, max_value=1.0, format="%.2f"),
                                "distribution": st.column_config.TextColumn(
                                    "distribution", help="probability per scale point")})


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
            cc = council[council["candidate_id"] == cand["candidate_id"]].set_index("attribute")
            wide = score_table(cj, cc)
            st.dataframe(_highlight(wide, "spread", 2.0), hide_index=True)
            expected = "confidence" in cj and cj["confidence"].notna().any()
            st.caption("Rows shaded red: judges differ by 2 points or more."
                       + (" `3.42 (c .61)`: expected score over the scale points and its confidence"
                          " (1 − normalised entropy; council: mean of its scoring judges)." if expected else ""))
            _judgment_rows(cj, expected)
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
