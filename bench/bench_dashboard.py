"""Time the Agreement page in a real browser against the service with MentalAlign-70k loaded.

Bound (issue 5): on MentalAlign (~350k ratings) the Agreement page renders in <= 2 s after the first load.
Builds the dashboard test stack (tests/dashboard/stack.py: ``council serve`` subprocess, MentalAlign and a
ridge-mm calibration imported into its DuckDB, a demo batch on fake judges), starts ``streamlit run
dashboard/app.py`` and drives headless Debian Chromium with Playwright. A render is timed from navigation
to the page-done marker that dashboard/app.py draws after the page (every chart and table sent).

- first load: cold service cache (the service computes the views) and cold Streamlit cache;
- reload: a new browser tab (a new Streamlit session) on warm caches, median of 5.

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


def render_time(context: object, url: str) -> float:
    """Seconds from navigation to the page-done marker of one page load in a new tab."""
    page = context.new_page()  # type: ignore[attr-defined]
    start = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector(".st-key-council-page-done", state="attached", timeout=900_000)
    elapsed = time.perf_counter() - start
    assert page.locator('[data-testid="stException"]').count() == 0, page.inner_text("body")[:2000]
    page.close()
    return elapsed


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
                first = render_time(ctx, url)
                reloads = [render_time(ctx, url) for _ in range(5)]
                ctx.close()
        median = statistics.median(reloads)
        print(f"\n[Agreement page, dataset mentalalign, item level, all raters and attributes]")
        print(f"  first load (cold service and dashboard caches): {first:.2f} s")
        print(f"  reload (new tab, warm caches): median {median:.2f} s of {len(reloads)} "
              f"({', '.join(f'{r:.2f}' for r in reloads)})")
        print(f"  bound {BOUND_S:.1f} s; ratio reload/bound = {median / BOUND_S:.2f} -> "
              f"{'PASS' if median <= BOUND_S else 'FAIL'}")
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
        return 0 if median <= BOUND_S else 1
    finally:
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
