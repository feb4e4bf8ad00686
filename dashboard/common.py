"""Shared page parts: the scope and filter widgets in the sidebar, CSV downloads, ICC bands, error display.

Filters live in ``st.session_state`` under fixed keys, so a choice made on one page holds on the others.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard.client import ApiError, Client, client

__all__ = ["ICC_BANDS", "KOO_LI", "Scope", "api", "download", "fail", "icc_band", "keep", "pick_attributes",
           "pick_judges", "scope_picker", "table"]

ICC_BANDS = (
    (0.5, "poor", "below 0.5: poor — the judge's scores say little about the human's"),
    (0.75, "moderate", "0.5–0.75: moderate — usable for averages over many responses, not one by one"),
    (0.9, "good", "0.75–0.9: good — close to a second human rater"),
    (float("inf"), "excellent", "above 0.9: excellent — interchangeable with the human"),
)
"""Koo & Li (2016) reading of an ICC value: < 0.5 poor, 0.5–0.75 moderate, 0.75–0.9 good, > 0.9 excellent.

Koo, T. K., & Li, M. Y. (2016). A guideline of selecting and reporting intraclass correlation coefficients
for reliability research. Journal of Chiropractic Medicine, 15(2), 155–163.
"""

KOO_LI = ("ICC bands after Koo & Li (2016), *J. Chiropractic Medicine* 15(2):155–163: "
          "< 0.5 poor · 0.5–0.75 moderate · 0.75–0.9 good · > 0.9 excellent. "
          "Read the CI, not only the point: a band is established only when the whole CI lies in it.")

Scope = dict[str, str]


def icc_band(value: float | None) -> str:
    """The Koo & Li (2016) band of an ICC value ("n/a" when missing)."""
    if value is None or pd.isna(value):
        return "n/a"
    return next(name for bound, name, _ in ICC_BANDS if value < bound)


def api() -> Client:
    """The API client (one per rerun; cheap)."""
    return client()


def fail(e: Exception) -> None:
    """Show an API error in the page (the page stops there, without a traceback)."""
    st.error(f"The service answered: {e}" if isinstance(e, ApiError) else f"Error: {e}")
    st.stop()


def scope_picker(c: Client, *, datasets: bool = True, batches: bool = True, pairwise: bool = False) -> Scope:
    """Sidebar choice of a dataset or batch; stops the page when none exists.

    The first dataset is the default (else the newest absolute batch), unless the URL names one
    (``?dataset=NAME`` or ``?batch_id=ID``).
    Pairwise batches (no scores to agree on) are offered only to pages that draw them (``pairwise``).
    """
    try:
        ov = c.overview()
    except ApiError as e:
        fail(e)
    options: dict[str, Scope] = {}
    if datasets:
        options.update({f"dataset · {d['name']}": {"dataset": d["name"]} for d in ov["datasets"]})
    if batches:  # absolute batches first: a pairwise batch is the default only when nothing else exists
        ordered = sorted(ov["batches"], key=lambda b: b.get("mode") == "pairwise")
        options.update({f"batch · {b['name']} · {b['batch_id']}": {"batch_id": b["batch_id"]}
                        for b in ordered if pairwise or b.get("mode") != "pairwise"})
    if not options:
        st.info("Nothing to show yet: import ratings (`council ratings import-mentalalign`, or the Calibration "
                "page) or submit a batch (`POST /v1/batches`).")
        st.stop()
    labels = list(options)
    if "scope" not in st.session_state:  # a link can name the scope: ?dataset=NAME or ?batch_id=ID
        asked = {k: st.query_params[k] for k in ("dataset", "batch_id") if k in st.query_params}
        st.session_state["scope"] = next((lb for lb, sc in options.items() if asked and sc == asked), labels[0])
    if st.session_state.get("scope") not in labels:
        st.session_state["scope"] = labels[0]
    label = st.sidebar.selectbox("Batch or dataset", labels, key="scope")
    return options[label]


def pick_judges(raters: list[str], label: str = "Raters") -> list[str]:
    """Sidebar multiselect of raters (all by default)."""
    state = st.session_state.get("judges_filter")
    default = [r for r in state if r in raters] if state else raters
    chosen = st.sidebar.multiselect(label, raters, default=default or raters)
    st.session_state["judges_filter"] = chosen
    return chosen or raters


def pick_attributes(attributes: list[str]) -> list[str]:
    """Sidebar multiselect of attributes and composites (all by default)."""
    state = st.session_state.get("attributes_filter")
    default = [a for a in state if a in attributes] if state else attributes
    chosen = st.sidebar.multiselect("Attributes", attributes, default=default or attributes)
    st.session_state["attributes_filter"] = chosen
    return chosen or attributes


def download(df: pd.DataFrame, name: str, label: str | None = None) -> None:
    """A CSV download button for a table."""
    st.download_button(label or f"Download {name}.csv", df.to_csv(index=False).encode(), file_name=f"{name}.csv",
                       mime="text/csv", key=f"dl-{name}", on_click="ignore")


def table(df: pd.DataFrame, name: str, **kwargs: Any) -> None:
    """Show a table with its CSV download under it."""
    config = dict(kwargs.pop("column_config", {}) or {})
    if "p_value" in df.columns:
        config.setdefault("p_value", st.column_config.NumberColumn("p_value", format="%.2e"))
    st.dataframe(df, hide_index=True, column_config=config, **kwargs)
    download(df, name)


def keep(key: str, options: list[Any]) -> None:
    """Reset a widget's remembered value when it is no longer among its options (another scope was chosen)."""
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]
