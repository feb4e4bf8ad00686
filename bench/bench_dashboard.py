"""Time the Agreement page in a real browser against the service with MentalAlign-70k loaded.

Bound (issue 5): on MentalAlign (~350k ratings) the Agreement page renders in <= 2 s after the first load.
Builds the dashboard test stack (tests/dashboard/stack.py: ``council serve`` subprocess, MentalAlign and a
ridge-mm calibration imported into its DuckDB, a demo batch on fake judges), starts ``streamlit run
dashboard/app.py`` and drives headless Debian Chromium with Playwright. A render is timed from navigation
to the page-done marker that dashboard/app.py draws after the page (every chart and table sent).

- first load: a new tab on cold service and Streamlit caches (the service computes the views);
- after it: in-app navigation from Overview to Agreement (what a user does; the PASS criterion), and a new
  browser tab (a new Streamlit session that loads the app's JavaScript too), medians of 5; a new tab of the
  near-empty Overview page shows the fixed cost of a Streamlit session on this machine.

Run: .venv/bin/python bench/bench_dashboard.py
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.dashboard.stack import has_mentalalign, running_dashboard, running_stack  # noqa: E402
from tests.dashboard.test_browser import ARGS  # noqa: E402

BOUND_S = 2.0


DONE = ".st-key-council-page-done-{}"


def new_tab_time(context: object, url: str, path: str) -> float:
    """Seconds from opening ``url`` in a new tab (a new Streamlit session) to the page-done marker."""
    page = context.new_page()  # type: ignore[attr-defined]
    start = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector(DONE.format(path), state="attached", timeout=900_000)
    elapsed = time.perf_counter() - start
    assert page.locator('[data-testid="stException"]').count() == 0, page.inner_text("body")[:2000]
    page.close()
    return elapsed


def navigation_times(context: object, base: str, n: int) -> list[float]:
    """Seconds from clicking "Agreement" in the sidebar (coming from Overview) to its page-done marker."""
    page = context.new_page()  # type: ignore[attr-defined]
    page.goto(f"{base}/?dataset=mentalalign", wait_until="domcontentloaded")
    page.wait_for_selector(DONE.format("overview"), state="attached", timeout=900_000)
    times = []
    for _ in range(n):
        start = time.perf_counter()
        page.get_by_test_id("stSidebarNav").get_by_text("Agreement", exact=True).click()
        page.wait_for_selector(DONE.format("agreement"), state="attached", timeout=900_000)
        times.append(time.perf_counter() - start)
        assert page.locator('[data-testid="stException"]').count() == 0
        page.get_by_test_id("stSidebarNav").get_by_text("Overview", exact=True).click()
        page.wait_for_selector(DONE.format("overview"), state="attached", timeout=900_000)
    page.close()
    return times


def main() -> int:
    if not has_mentalalign():
        print("MentalAlign-70k not found (../shared/data/mentalalign or $MENTALALIGN_DIR): nothing to time")
        return 0
    from playwright.sync_api import sync_playwright

    home = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        t0 = time.perf_counter()
        with running_stack(home) as stack, running_dashboard(stack.service.url, stack.key,
                                                             home / "streamlit.log") as dash:
            print(f"stack up in {time.perf_counter() - t0:.1f} s (MentalAlign imported, calibration fitted, demo "
                  f"batch judged); load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
            url = f"{dash.url}/agreement?dataset=mentalalign"
            with sync_playwright() as p:
                ctx = p.chromium.launch_persistent_context(profile, executable_path="/usr/bin/chromium",
                                                           headless=True, args=ARGS,
                                                           viewport={"width": 1500, "height": 1000})
                first = new_tab_time(ctx, url, "agreement")
                tabs = [new_tab_time(ctx, url, "agreement") for _ in range(5)]
                navs = navigation_times(ctx, dash.url, 5)
                baseline = [new_tab_time(ctx, f"{dash.url}/", "overview") for _ in range(5)]
                ctx.close()
        nav, tab, base = statistics.median(navs), statistics.median(tabs), statistics.median(baseline)
        print("\n[Agreement page, dataset mentalalign: ICC forest plot, bands, tables, heatmap; "
              "7 raters x 9 attributes]")
        print(f"  first load (new tab; cold service and dashboard caches): {first:.2f} s")
        print(f"  after the first load, in-app navigation Overview -> Agreement: median {nav:.2f} s "
              f"({', '.join(f'{r:.2f}' for r in navs)})")
        print(f"  after the first load, a new browser tab (new session, loads the app itself): median {tab:.2f} s "
              f"({', '.join(f'{r:.2f}' for r in tabs)})")
        print(f"  for scale: a new tab of the near-empty Overview page: median {base:.2f} s")
        print(f"  bound {BOUND_S:.1f} s; ratio navigation/bound = {nav / BOUND_S:.2f} -> "
              f"{'PASS' if nav <= BOUND_S else 'FAIL'}; ratio new-tab/bound = {tab / BOUND_S:.2f} -> "
              f"{'PASS' if tab <= BOUND_S else 'FAIL'}")
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
        return 0 if nav <= BOUND_S else 1
    finally:
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
