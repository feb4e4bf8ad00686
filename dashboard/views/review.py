"""Review: a reviewer rates the next queued candidate — context, candidate, rubric with anchors, why it was queued.

The queue (``/v1/review/...``) orders candidates by risk, then by council uncertainty, and gives a share of them
to two reviewers (the human–human ceiling). The judges' scores are hidden unless the reviewer asks, so they
do not anchor the rating. A submitted rating is stored as a human rating of the batch under the reviewer's
name: the Agreement, Bias and Calibration pages count it at once. One button refits the calibration (and the
confidence gate's thresholds, when the service has a gate) from all the ratings.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard.client import ApiError, Client
from dashboard.common import api, fail, table

ALL = "all batches"
REASON_TEXT = {
    "risk": "high-risk context",
    "unsafe": "flagged unsafe",
    "escalation": "escalated past the last judge tier",
    "low_confidence": "the council is unsure",
    "suspected_manipulation": "suspected manipulation of the judges",
}


def _counts(c: Client, batch_id: str | None) -> None:
    try:
        q = c.review_queue(batch_id)
    except ApiError as e:
        fail(e)
    cols = st.columns(4)
    cols[0].metric("Queued", q["entries"])
    cols[1].metric("Pending", q["pending"])
    cols[2].metric("Done", q["done"])
    cols[3].metric("Double-reviewed share", q["double_review"],
                   help="entries rated by two reviewers: the human–human ceiling of the Agreement page")
    if q["reasons"]:
        with st.expander("Queue by reason and reviewer"):
            table(pd.DataFrame(q["reasons"]), "review_queue_reasons")
            if q["reviewers"]:
                table(pd.DataFrame(q["reviewers"]), "review_queue_reviewers")


def _enqueue(c: Client, batches: list[str]) -> None:
    with st.expander("Queue a batch's flagged candidates"):
        if not batches:
            st.info("No batch yet.")
            return
        batch = st.selectbox("Batch", batches, key="enqueue_batch")
        reasons = st.multiselect("Reasons", ["risk", "unsafe", "low_confidence"], default=["risk", "unsafe"],
                                 help="risk: high/imminent domain risk or ToM risk signals (every candidate of the "
                                      "context); unsafe: flagged unsafe_advice; low_confidence: council "
                                      "uncertainty at least the threshold")
        threshold = st.slider("Uncertainty threshold (low_confidence)", 0.0, 1.0, 0.5, 0.05)
        if st.button("Queue them", disabled=not reasons):
            try:
                r = c.review_enqueue(batch, reasons, threshold)
                st.success(f"{r['created']} new entries, {r['reasons_added']} reasons added, "
                           f"{r['unchanged']} already queued.")
            except ApiError as e:
                st.error(f"Not queued: {e}")


def _refit(c: Client, batches: list[str], batch_id: str | None) -> None:
    with st.expander("Refit the calibration and the gate from the ratings"):
        if not batches:
            st.info("No batch yet.")
            return
        default = batches.index(batch_id) if batch_id in batches else 0
        batch = st.selectbox("Batch", batches, index=default, key="refit_batch")
        if st.button("Refit calibration and gate thresholds", key="refit"):
            try:
                with st.spinner("refitting …"):
                    r = c.review_refit([batch])
            except ApiError as e:
                st.error(f"Not refitted: {e}")
                return
            for cal in r["calibrations"]:
                if "error" in cal:
                    st.warning(f"Calibration of {cal['batch_id']} not refitted: {cal['error']}")
                else:
                    st.success(f"Calibration {cal['name']} v{cal['version']} ({cal['calibration_id']}) fitted on "
                               f"{cal['n_targets']} rated candidates, reference {cal['reference']}.")
            gate = r["gate"]
            if gate["status"] == "refitted":
                st.success("Gate thresholds refitted.")
            else:
                st.info(f"Gate thresholds: {gate['status']} — {gate.get('detail', '')}")


def _show(task: dict[str, Any]) -> None:
    why = ", ".join(REASON_TEXT.get(r["reason"], r["reason"]) + (f" ({r['detail']})" if r["detail"] else "")
                    for r in task["reasons"])
    st.markdown(f"**Why it was queued:** {why}")
    st.caption(f"risk level {task['risk_level']} · council uncertainty {task['uncertainty']:.2f} · reviews "
               f"{task['reviews_done']} of {task['needed_reviews']} · item `{task['item_id']}` · queue entry "
               f"`{task['queue_id']}`")
    st.subheader("Context")
    with st.container(border=True):
        for turn in task["context"]:
            st.markdown(f"**{turn.get('role', '?')}:** {turn.get('text', '')}")
    st.subheader("Candidate response")
    with st.container(border=True, key="review-candidate"):
        st.markdown(task["candidate"])
    with st.expander("Rubric with anchors", expanded=False):
        for a in task["protocol"]["attributes"]:
            st.markdown(f"**{a['name']}** (`{a['id']}`) — {a['definition']}")
            st.markdown("\n".join(f"- **{k}**: {v}" for k, v in a["anchors"].items()))


def _form(c: Client, task: dict[str, Any], reviewer: str) -> None:
    scale = task["protocol"]["scale"]
    points = list(range(int(scale["min"]), int(scale["max"]) + 1))
    qid = task["queue_id"]
    with st.form(key=f"review-form-{qid}"):
        st.subheader("Your rating")
        chosen: dict[str, int | None] = {}
        for a in task["protocol"]["attributes"]:
            chosen[a["id"]] = st.radio(a["name"], points, index=None, horizontal=True, key=f"score-{a['id']}-{qid}",
                                       captions=[a["anchors"].get(str(p), "") for p in points],
                                       help=a["definition"])
        note = st.text_area("Note (optional)", key=f"note-{qid}", max_chars=4000)
        sent = st.form_submit_button("Submit and next", type="primary")
    if not sent:
        return
    missing = [a for a, v in chosen.items() if v is None]
    if missing:
        st.error(f"Score every attribute first: {', '.join(missing)}")
        return
    try:
        r = c.review_submit(qid, reviewer, {a: int(v) for a, v in chosen.items() if v is not None}, note)
    except ApiError as e:
        st.error(f"Not stored: {e}")
        return
    st.session_state["review_last"] = (f"Stored {r['n_ratings']} ratings by {r['reviewer']}"
                                       + (" (replacing your earlier ones)" if r["replaced"] else "") + ".")
    st.rerun()


def _judges(c: Client, task: dict[str, Any]) -> None:
    if not st.toggle("Show the judges' scores", value=False, key=f"show-scores-{task['queue_id']}",
                     help="hidden by default so they do not anchor your rating"):
        return
    try:
        s = c.review_scores(task["queue_id"])
    except ApiError as e:
        st.error(str(e))
        return
    judges = pd.DataFrame(s["judges"])
    if not judges.empty:
        wide = judges.pivot_table(index="attribute", columns="judge_id", values="score", sort=False).reset_index()
        council = pd.DataFrame(s["council"])[["attribute", "score", "spread"]].rename(
            columns={"score": "council", "spread": "judge spread"})
        table(wide.merge(council, on="attribute", how="left"), f"judge_scores_{task['queue_id']}")


def render() -> None:
    """Draw the page."""
    st.title("Review")
    c = api()
    try:
        ov = c.overview()
    except ApiError as e:
        fail(e)
    batches = [b["batch_id"] for b in ov["batches"]]
    choice = st.sidebar.selectbox("Queue of", [ALL, *batches], key="review_scope")
    batch_id = None if choice == ALL else choice
    if "review_last" in st.session_state:
        st.success(st.session_state.pop("review_last"))
    _counts(c, batch_id)
    _enqueue(c, batches)
    _refit(c, batches, batch_id)
    st.divider()
    reviewer = st.text_input("Your name (reviewer)", key="reviewer", max_chars=100,
                             help="your ratings are stored under this name; you never get an item twice")
    if not reviewer.strip():
        st.info("Enter your name to get the next queued item.")
        return
    try:
        task = c.review_next(reviewer.strip(), batch_id)
    except ApiError as e:
        st.error(f"The service answered: {e}")
        return
    if task is None:
        st.success(f"Nothing left in the queue for {reviewer.strip()}.")
        return
    _show(task)
    _form(c, task, reviewer.strip())
    _judges(c, task)
