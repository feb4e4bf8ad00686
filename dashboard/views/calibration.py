"""Calibration: upload human ratings, fit a calibration, compare raw vs calibrated held-out metrics, attach it.

Upload goes to ``POST /v1/ratings``, fitting to ``POST /v1/calibrations`` (K-fold CV grouped by context),
attaching to a batch to ``POST /v1/calibrations/{id}/apply``; a council file names it by ``calibration_id``.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from dashboard.client import ApiError, Client
from dashboard.common import api, fail, table

METHODS = ["ridge-mm", "ridge", "mean-mm", "linear", "isotonic"]


def _optional_columns(content: str, fmt: str, constant_rater: bool) -> dict[str, str | None] | None:
    """Map the optional columns the file has (context, responder, length, sample) to themselves."""
    first = content.splitlines()[0] if content.strip() else ""
    if fmt == "jsonl":
        names = set(json.loads(first)) if first.startswith("{") else set()
    else:
        names = {c.strip() for c in first.split(",")}
    found: dict[str, str | None] = {c: c for c in ("context", "responder", "length", "sample") if c in names}
    if constant_rater:
        found["rater"] = None
    return found or None


def _upload(c: Client, ov: dict) -> None:
    st.subheader("1 · Upload human ratings")
    f = st.file_uploader("Ratings file (CSV or JSONL)", type=["csv", "jsonl"], key="ratings_file")
    cols = st.columns(3)
    target = cols[0].radio("Ratings of", ["a dataset", "a batch"], horizontal=True)
    if target == "a batch":
        ids = [b["batch_id"] for b in ov["batches"]]
        where = {"batch_id": cols[1].selectbox("Batch", ids)} if ids else {}
    else:
        where = {"dataset": cols[1].text_input("Dataset name", value="my-ratings"),
                 "protocol": "mentalalign-7"}
    layout = cols[2].radio("Layout", ["long", "wide"], horizontal=True,
                           help="long: target, rater, attribute, score; wide: one column per attribute")
    rater = st.text_input("Rater (when the file has no rater column)", value="")
    if st.button("Import", disabled=f is None or not where):
        content = f.getvalue().decode("utf-8")
        fmt = "jsonl" if f.name.endswith(".jsonl") else "csv"
        body = {**where, "format": fmt, "layout": layout, "content": content, "rater": rater or None,
                "columns": _optional_columns(content, fmt, bool(rater))}
        try:
            report = c.post("/v1/ratings", {k: v for k, v in body.items() if v is not None})
        except ApiError as e:
            st.error(f"Import refused: {e}")
            return
        st.success(f"Imported {report['n_ratings']} ratings from raters {', '.join(report['raters'])}.")
        st.json(report["report"], expanded=False)


def _cv_table(cv: dict) -> pd.DataFrame:
    rows = pd.DataFrame(cv["rows"])
    keep = ["attribute", "n", "best_judge", "best_judge_icc_a1", "council_icc_a1", "calibrated_icc_a1",
            "best_judge_bias", "council_bias", "calibrated_bias", "best_judge_mae", "council_mae", "calibrated_mae"]
    rows = rows[[k for k in keep if k in rows.columns]]
    rows["gain_vs_best_judge"] = rows["calibrated_icc_a1"] - rows["best_judge_icc_a1"]
    return rows


def _fit(c: Client, ov: dict) -> None:
    st.subheader("2 · Fit a calibration")
    scopes = {f"dataset · {d['name']}": {"dataset": d["name"]} for d in ov["datasets"]}
    scopes |= {f"batch · {b['name']} · {b['batch_id']}": {"batch_id": b["batch_id"]} for b in ov["batches"]}
    if not scopes:
        st.info("Import ratings first.")
        return
    cols = st.columns(4)
    label = cols[0].selectbox("Training data", list(scopes), key="cal_scope")
    method = cols[1].selectbox("Method", METHODS, help="ridge-mm: ridge on every judge × attribute score, "
                               "moment-matched to the human scale (the default); linear/isotonic: one map per judge")
    cv = cols[2].number_input("CV folds", 2, 20, 5)
    seed = cols[3].number_input("Seed", 0, 10_000, 0)
    if st.button("Fit and cross-validate"):
        try:
            with st.spinner("fitting …"):
                fit = c.post("/v1/calibrations", {**scopes[label], "method": method, "cv": int(cv), "seed": int(seed)})
        except ApiError as e:
            st.error(f"Calibration refused: {e}")
            return
        st.session_state["last_calibration"] = fit


def _show(c: Client, ov: dict) -> None:
    st.subheader("3 · Raw vs calibrated (held-out, grouped by context)")
    try:
        cals = c.calibrations()
    except ApiError as e:
        fail(e)
    if not cals:
        st.info("No calibration yet.")
        return
    labels = {f"{x['calibration_id']} · {x['name']} v{x['version']} ({x['method']})": x for x in cals}
    chosen = labels[st.selectbox("Calibration", list(labels), key="cal_pick")]
    if chosen.get("cv"):
        st.caption(f"{chosen['cv']['n_splits']}-fold CV grouped by context, seed {chosen['cv']['seed']}; ICC(A,1), "
                   "bias and MAE against the human reference on held-out contexts.")
        table(_cv_table(chosen["cv"]), f"calibration_cv_{chosen['calibration_id']}")
    st.subheader("4 · Attach it to a council")
    st.markdown("A council uses a calibration by naming it; new batches then carry calibrated scores beside "
                "the raw ones:")
    st.code(f"id: my-council\ncalibration_id: {chosen['calibration_id']}\njudges:\n"
            + "".join(f"  - {{id: {j}, model: ...}}\n" for j in chosen["raters"]), language="yaml")
    ids = [b["batch_id"] for b in ov["batches"]]
    if ids:
        batch = st.selectbox("…or apply it to a stored batch now", ids, key="apply_batch")
        if st.button("Apply to batch"):
            try:
                rec = c.post(f"/v1/calibrations/{chosen['calibration_id']}/apply", {"batch_id": batch})
                st.success(f"Wrote {rec['n_written']} calibrated values ({rec['n_missing']} missing).")
            except ApiError as e:
                st.error(f"Not applied: {e}")


def render() -> None:
    """Draw the page."""
    st.title("Calibration")
    c = api()
    try:
        ov = c.overview()
    except ApiError as e:
        fail(e)
    _upload(c, ov)
    _fit(c, ov)
    _show(c, ov)
