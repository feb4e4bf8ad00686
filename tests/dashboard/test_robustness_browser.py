"""The Robustness page in a real browser: the stored robustness reports' rows, with the values their runs measured.

Against the shared stack (tests/dashboard/stack.py), which holds two ``robustness`` reports made by the real run
function (:func:`council.robustness.run.run_robustness`) with two judges on the fake server's gullible judge —
the demo batch's dismissive and unsafe replies attacked by :data:`~tests.dashboard.stack.ROBUST_TRANSFORMATIONS`,
once with the text defences off and once on — owned by ``robust`` (its own key, its own dashboard process).
The page's per-transformation table is read from the data grid's accessible table (the cells the grid
draws on its canvas are also written there as text) and compared with the run's records: the council's
largest |mean shift| over attributes, the share of candidates that rose ≥ 1 point, the share whose unsafe
safety score was lost, and the detector's catch rate; then the other report is chosen in the page's select
box and its rows are compared the same way.
"""

from __future__ import annotations

import math
import time

import pytest

from council.robustness.run import RobustnessResult
from tests.dashboard.conftest import ARTIFACTS
from tests.dashboard.stack import ROBUST_TRANSFORMATIONS, Dashboard, Stack
from tests.dashboard.test_browser import open_page, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.dashboard, pytest.mark.timeout(900)]

COLUMNS = {"council max |shift|": "shift", "rose ≥ 1": "rose", "unsafe lost": "unsafe_lost",
           "detector caught": "caught"}
"""Page column → measure (see :func:`expected_rows`)."""

_GRID = """(el) => {
  const heads = [...el.querySelectorAll('th[role=columnheader]')].map(th => th.textContent.trim());
  const rows = [...el.querySelectorAll('tr[role=row]')].filter(tr => tr.querySelector('td[role=gridcell]'))
    .map(tr => [...tr.querySelectorAll('td[role=gridcell]')].map(td => td.textContent.trim()));
  return {heads, rows};
}"""


def expected_rows(result: RobustnessResult) -> dict[tuple[str, str], dict[str, float]]:
    """Per (source, transformation), straight from the run's records: the council's max |mean shift| over
    attributes, its share rose ≥ 1 (attribute ``all``), its share of unsafe lost (``safety``), the catch rate."""
    out: dict[tuple[str, str], dict[str, float]] = {}
    for r in result.records:
        key = (str(r.extra["source"]), str(r.extra["transformation"]))
        if key[1] == "clean":
            continue
        row = out.setdefault(key, {"shift": 0.0})
        if r.rater == "council" and r.statistic == "mean_shift":
            row["shift"] = max(row["shift"], abs(r.value))
        elif r.rater == "council" and r.statistic == "share_rose_1" and r.attribute == "all":
            row["rose"] = r.value
        elif r.rater == "council" and r.statistic == "share_unsafe_lost":
            row["unsafe_lost"] = r.value
        elif r.rater == "detector" and r.statistic == "catch_rate":
            row["caught"] = r.value
    return out


def false_flag_rate(result: RobustnessResult) -> float:
    """The detector's false-flag rate on the clean candidates and contexts of the run (one source)."""
    (rate,) = [r.value for r in result.records if r.statistic == "false_flag_rate"]
    return rate


def grid(page: object, column: str) -> dict[str, object]:
    """Headers and rows of the first data grid of the page that has ``column`` (from its accessible table)."""
    for frame in page.locator('[data-testid="stDataFrame"]').all():  # type: ignore[attr-defined]
        found = frame.evaluate(_GRID)
        if column in found["heads"]:
            return found
    return {"heads": [], "rows": []}


def shown_rows(page: object) -> dict[tuple[str, str], dict[str, float]]:
    """The Robustness page's per-transformation table, as (source, transformation) → measure → value."""
    found = grid(page, "council max |shift|")
    heads: list[str] = found["heads"]  # type: ignore[assignment]
    out = {}
    for cells in found["rows"]:  # type: ignore[attr-defined]
        row = dict(zip(heads, cells, strict=True))
        out[(row["source"], row["transformation"])] = {
            measure: float(row[column]) for column, measure in COLUMNS.items() if row[column] not in ("", "None")}
    return out


def matches(shown: dict, expected: dict, tol: float = 5e-4) -> bool:
    """Same rows and measures, values equal up to the grid's display rounding."""
    return shown.keys() == expected.keys() and all(
        shown[k].keys() == expected[k].keys() and all(math.isclose(shown[k][m], v, abs_tol=tol)
                                                      for m, v in expected[k].items()) for k in expected)


def wait_rows(page: object, expected: dict, timeout_s: float = 60) -> dict:
    """Read the table until it shows ``expected`` (the grid repaints after a rerun) or time is up."""
    deadline = time.monotonic() + timeout_s
    while True:
        shown = shown_rows(page)
        if matches(shown, expected) or time.monotonic() > deadline:
            return shown
        page.wait_for_timeout(500)  # type: ignore[attr-defined]


def main_text(page: object) -> str:
    return page.inner_text('[data-testid="stMain"]')  # type: ignore[attr-defined]


def test_robustness_page_shows_each_reports_rows_with_the_runs_values(
    browser: object, robust_dashboard: Dashboard, stack: Stack,
) -> None:
    """Newest report first (defended), then the undefended one chosen in the select box: rows as the runs measured."""
    runs = stack.robustness
    assert set(runs) == {"defended", "undefended"}
    expected = {arm: expected_rows(result) for arm, result in runs.items()}
    for arm, rows in expected.items():
        assert {t for _, t in rows} == set(ROBUST_TRANSFORMATIONS), (arm, rows)
        assert all(set(v) == set(COLUMNS.values()) for v in rows.values()), (arm, rows)
    # the two reports differ (a gullible judge obeys what the defences do not withhold), so the rows below
    # show which report the page drew
    assert expected["defended"] != expected["undefended"], expected

    page = open_page(browser, robust_dashboard, "robustness")
    try:
        text = main_text(page)
        assert page.locator('[data-testid="stException"]').count() == 0, text[:3000]  # type: ignore[attr-defined]
        assert "council fake-gullible (gullible-0, gullible-1)" in text, text[:3000]
        assert "'withhold': True" in text, text[:3000]  # the newest report: defences on
        shown = wait_rows(page, expected["defended"])
        assert matches(shown, expected["defended"]), (shown, expected["defended"])
        metric = page.locator('[data-testid="stMetric"]').filter(has_text="demo")  # type: ignore[attr-defined]
        shown_rate = metric.locator('[data-testid="stMetricValue"]').inner_text().strip()
        assert shown_rate == f"{false_flag_rate(runs['defended']):.0%}", (shown_rate, text[:3000])
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        screenshot(page, ARTIFACTS / "robustness-defended.png")

        page.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').first.click()  # type: ignore[attr-defined]
        page.get_by_role("option", name="defences off").click()  # type: ignore[attr-defined]
        page.wait_for_function(  # type: ignore[attr-defined]
            "() => document.querySelector('[data-testid=stMain]').innerText.includes(\"'withhold': False\")",
            timeout=120_000)
        shown = wait_rows(page, expected["undefended"])
        assert matches(shown, expected["undefended"]), (shown, expected["undefended"])
        assert page.locator('[data-testid="stException"]').count() == 0  # type: ignore[attr-defined]
        screenshot(page, ARTIFACTS / "robustness-undefended.png")
    finally:
        page.close()  # type: ignore[attr-defined]


def test_robustness_reports_stay_with_their_owner(browser: object, dashboard: Dashboard, stack: Stack) -> None:
    """The ``local`` key's dashboard has no robustness report: the stored ones belong to ``robust``."""
    assert stack.robustness
    page = open_page(browser, dashboard, "robustness")
    try:
        text = main_text(page)
        assert page.locator('[data-testid="stException"]').count() == 0, text[:3000]  # type: ignore[attr-defined]
        assert "No robustness report yet" in text, text[:3000]
    finally:
        page.close()  # type: ignore[attr-defined]
