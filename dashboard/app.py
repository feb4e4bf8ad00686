"""The agreement dashboard (Streamlit): ``council dashboard`` or ``streamlit run dashboard/app.py``.

Every number comes from the service's HTTP API (``COUNCIL_URL``, ``COUNCIL_API_KEY``), so the dashboard
works the same against a local service and a remote cluster; it never opens the database itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:  # `streamlit run dashboard/app.py` puts only dashboard/ on the path
    sys.path.insert(0, ROOT)

import streamlit as st  # noqa: E402

from dashboard.client import clear_cache, client  # noqa: E402
from dashboard.views import (  # noqa: E402
    agreement,
    bias,
    calibration,
    items,
    leaderboard,
    overview,
    review,
    robustness,
)

PAGES = [
    st.Page(overview.render, title="Overview", url_path="overview", default=True),
    st.Page(agreement.render, title="Agreement", url_path="agreement"),
    st.Page(bias.render, title="Bias", url_path="bias"),
    st.Page(leaderboard.render, title="Leaderboard", url_path="leaderboard"),
    st.Page(items.render, title="Items", url_path="items"),
    st.Page(calibration.render, title="Calibration", url_path="calibration"),
    st.Page(review.render, title="Review", url_path="review"),
    st.Page(robustness.render, title="Robustness", url_path="robustness"),
]


def main() -> None:
    """Set up the page, the navigation and the sidebar, then run the chosen page."""
    st.set_page_config(page_title="Affective Council — agreement dashboard", layout="wide")
    page = st.navigation(PAGES)
    with st.sidebar:
        st.caption(f"Service: `{client().url}`")
        if st.button("Refresh data", help="forget cached answers and ask the service again"):
            clear_cache()
    page.run()
    # the last element of every complete run (CSS class st-key-council-page-done-<page title, lower case>):
    # browser tests and the benchmark wait for it; a page that stops on an error never draws it
    st.container(key=f"council-page-done-{page.title.lower()}").caption("")


main()
