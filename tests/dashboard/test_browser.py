"""The dashboard in a real browser: headless Chromium (Debian's package) driven by Playwright.

Against the shared stack (tests/dashboard/stack.py: ``council serve`` with MentalAlign-70k loaded into
its DuckDB and a demo batch judged by a council of two fake-provider judges — fake, not the slow local
llama.cpp judges, so the batch takes seconds), every page is opened by URL and must load without a
Streamlit exception element, show its key elements, and leave a full-page screenshot in
``test-artifacts/dashboard/<page>.png``. The Agreement page's screenshot also refreshes the README's
``docs/img/agreement.png`` when ``COUNCIL_UPDATE_README_IMG=1``. Playwright never downloads a browser
here: it launches ``/usr/bin/chromium`` by ``executable_path``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.dashboard.conftest import ARTIFACTS
from tests.dashboard.stack import PLANTED_ORDER, Dashboard, Stack

pytestmark = [pytest.mark.browser, pytest.mark.dashboard, pytest.mark.timeout(900)]

README_IMG = Path(__file__).resolve().parents[2] / "docs" / "img" / "agreement.png"

# page url path -> texts that must be on it (title first); MentalAlign-only texts are added below
PAGES: dict[str, list[str]] = {
    "overview": ["Overview", "Batches", "Abstention rate per judge", "Datasets", "Download batches.csv"],
    "agreement": ["Agreement", "forest plot", "Reading the ICC", "Koo & Li", "Correlations, κ, α, CCC",
                  "Judge–judge agreement", "Human–human ceiling"],
    "bias": ["Bias", "Mean difference (rater − human)", "Bland–Altman", "Score distributions", "Source model",
             "Self-preference", "Length"],
    "leaderboard": ["Leaderboard", "neighbouring ranks are separable", "All attributes"],
    "items": ["Items", "Items shown", "Context"],
    "calibration": ["Calibration", "Upload human ratings", "Fit a calibration", "Raw vs calibrated",
                    "Attach it to a council"],
    "review": ["Review", "Queued", "Pending", "Queue a batch's flagged candidates", "Your name (reviewer)"],
    "robustness": ["Robustness", "Report", "Per transformation (council)",
                   "Detector false flags on the clean candidates", "Every record"],
}
"""The Robustness page is opened with the key of the reports' owner (``robust_dashboard``); see stack.py."""


def wait_idle(page: object, path: str, timeout_ms: int = 180_000) -> None:
    """Wait until Streamlit has finished the page's script run.

    ``dashboard/app.py`` draws a container keyed ``council-page-done-<page>`` (CSS class
    ``st-key-council-page-done-<page>``) after the page, so its presence means the whole page was drawn; a
    page that stopped on an error never draws it, and the wait fails.
    """
    page.wait_for_selector(f".st-key-council-page-done-{path}", state="attached", timeout=timeout_ms)  # type: ignore[attr-defined]
    page.wait_for_timeout(1500)  # type: ignore[attr-defined] # let Vega charts and data grids paint


def open_page(context: object, dash: Dashboard, path: str, query: str = "") -> object:
    """Open a page by URL (``query`` may name the scope: ``?batch_id=...``) and wait until it is drawn."""
    page = context.new_page()  # type: ignore[attr-defined]
    route = "" if path == "overview" else path  # the default page lives at "/" (/overview is "page not found")
    page.goto(f"{dash.url}/{route}{query}", wait_until="domcontentloaded")
    wait_idle(page, path)
    return page


def main_text(page: object) -> str:
    """The text of the page's main block."""
    return page.inner_text('[data-testid="stMain"]')  # type: ignore[attr-defined]


def enter_reviewer(page: object, reviewer: str) -> None:
    """On the Review page (drawn without an error): type the reviewer's name and confirm it."""
    assert page.locator('[data-testid="stException"]').count() == 0  # type: ignore[attr-defined]
    name = page.get_by_role("textbox", name="Your name (reviewer)")  # type: ignore[attr-defined]
    name.fill(reviewer)
    name.press("Enter")


def screenshot(page: object, path: Path) -> None:
    """A screenshot of the whole page: Streamlit scrolls inside its main block, so grow the viewport first."""
    height = page.evaluate(  # type: ignore[attr-defined]
        "() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": 1500, "height": min(int(height) + 40, 12_000)})  # type: ignore[attr-defined]
    page.wait_for_timeout(1000)  # type: ignore[attr-defined]
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    page.set_viewport_size({"width": 1500, "height": 1000})  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", list(PAGES))
def test_page_loads_with_key_elements(browser: object, dashboard: Dashboard, stack: Stack, path: str,
                                      request: pytest.FixtureRequest) -> None:
    """Every page: no exception element, its title and key sections present, a screenshot saved.

    Robustness is opened by the dashboard of the robustness reports' owner, where they are (the ``local`` key
    has none: :func:`tests.dashboard.test_robustness_browser.test_robustness_reports_stay_with_their_owner`).
    """
    dash = request.getfixturevalue("robust_dashboard") if path == "robustness" else dashboard
    page = open_page(browser, dash, path)
    try:
        text = main_text(page)
        assert page.locator('[data-testid="stException"]').count() == 0, text[:3000]  # type: ignore[attr-defined]
        assert page.locator("[role=dialog]").count() == 0, text[:3000]  # type: ignore[attr-defined] # e.g. page not found
        h1 = page.locator("h1").first.inner_text()  # type: ignore[attr-defined]
        assert h1.strip() == PAGES[path][0]
        expected = PAGES[path][1:]
        if path in ("agreement", "bias") and stack.mentalalign:
            expected = [*expected, "human_expert"]  # the default scope is the MentalAlign dataset
        if path == "calibration" and not stack.mentalalign:  # no calibration was fitted without MentalAlign
            expected = [t if t != "Attach it to a council" else "No calibration yet" for t in expected]
        missing = [t for t in expected if t.lower() not in text.lower()]
        assert not missing, f"missing on {path}: {missing}\n{text[:3000]}"
        if path not in ("calibration", "review") or (path == "calibration" and stack.mentalalign):
            # tables on every page but Review (empty queue here) and Calibration without MentalAlign (no CV table)
            # a loaded machine may paint the data grids after the page's done marker: wait for one (or fail)
            page.wait_for_selector('[data-testid="stDataFrame"]', state="attached", timeout=60_000)  # type: ignore[attr-defined]
            assert page.locator('[data-testid="stDataFrame"]').count() >= 1  # type: ignore[attr-defined]
        if path in ("agreement", "bias", "leaderboard"):
            page.wait_for_selector('[data-testid="stVegaLiteChart"]', state="attached", timeout=60_000)  # type: ignore[attr-defined]
            assert page.locator('[data-testid="stVegaLiteChart"]').count() >= 1  # type: ignore[attr-defined]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        screenshot(page, ARTIFACTS / f"{path}.png")
        if path == "agreement" and os.environ.get("COUNCIL_UPDATE_README_IMG") == "1":
            README_IMG.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(README_IMG), full_page=False)  # type: ignore[attr-defined]
    finally:
        page.close()  # type: ignore[attr-defined]


def test_batch_items_page_shows_agents_and_disagreement(browser: object, dashboard: Dashboard, stack: Stack) -> None:
    """The demo batch on the Items page: context, candidates, each judge's ToM and domain outputs."""
    page = open_page(browser, dashboard, "items", query=f"?batch_id={stack.batch_id}")
    try:
        text = main_text(page)
        assert page.locator('[data-testid="stException"]').count() == 0, text[:3000]  # type: ignore[attr-defined]
        for expected in ("Candidate", "Each judge's reading of the context", "ToM hypotheses", "Domain checklist",
                         "Min. risk level"):
            assert expected in text, f"{expected!r} missing:\n{text[:3000]}"
        screenshot(page, ARTIFACTS / "items-batch.png")
    finally:
        page.close()  # type: ignore[attr-defined]


def test_leaderboard_shows_the_pairwise_ranking_and_judges_of_the_planted_batch(
    browser: object, dashboard: Dashboard, stack: Stack,
) -> None:
    """The pairwise batch (planted fake judge) on the Leaderboard page: BT ranking in the planted order beside the
    absolute one, Kendall τ, and the judges' position consistency, first-position and self-preference with CIs."""
    page = open_page(browser, dashboard, "leaderboard", query=f"?batch_id={stack.pairwise_batch_id}")
    try:
        text = main_text(page)
        assert page.locator('[data-testid="stException"]').count() == 0, text[:3000]  # type: ignore[attr-defined]
        assert "Pairwise order (best first): " + " › ".join(PLANTED_ORDER) in text, text[:3000]
        for expected in ("Absolute ranking", "Pairwise ranking", "Kendall τ-b", "Judges in pairwise comparisons",
                         "fake-a: position consistency", "first-position preference", "self-preference",
                         "fake-b: position consistency"):
            assert expected in text, f"{expected!r} missing:\n{text[:3000]}"
        assert page.locator('[data-testid="stVegaLiteChart"]').count() >= 3  # type: ignore[attr-defined]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        screenshot(page, ARTIFACTS / "leaderboard-pairwise.png")
    finally:
        page.close()  # type: ignore[attr-defined]
