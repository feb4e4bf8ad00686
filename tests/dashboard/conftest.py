"""Fixtures of the dashboard tests: one real stack (service + MentalAlign + demo batch) shared by all of them.

See :mod:`tests.dashboard.stack`. The stack is built once for this package and stopped after it, before
the service tests start their own Ray. The heavy views (agreement, bias, leaderboard on MentalAlign) are
computed once here, so every test measures page logic and rendering on warm service caches, as a user
sees them after the first load.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dashboard.stack import Dashboard, Stack, running_dashboard, running_stack

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
        "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives the dashboard in headless Chromium (Debian's package)")
    config.addinivalue_line("markers", "dashboard: needs the dashboard stack (service subprocess); slow")
    config.addinivalue_line("markers", "stack_writer: changes the shared stack's data (e.g. rates a review); "
                                       "runs after every other dashboard test")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Move this directory's ``stack_writer`` tests after the others, within the slots they hold.

    The other tests assert the stack as built (one batch, ``demo_human`` its only human rater); a test that adds
    ratings must not run before them, whatever the file order.
    """
    here = Path(__file__).parent
    slots = [i for i, item in enumerate(items) if here in item.path.parents]
    ordered = sorted((items[i] for i in slots), key=lambda item: item.get_closest_marker("stack_writer") is not None)
    for slot, item in zip(slots, ordered, strict=True):
        items[slot] = item


def warm(stack: Stack) -> None:
    """Compute the heavy views once (the service caches them per data version)."""
    scopes = [{"batch_id": stack.batch_id}] + ([{"dataset": "mentalalign"}] if stack.mentalalign else [])
    for scope in scopes:
        for path, params in (("agreement", {}), ("bias", {}), ("leaderboard", {"rater": "council"}),
                             ("items", {})):
            r = stack.api.http.get(f"/v1/views/{path}", params={**scope, **params}, timeout=900)
            assert r.status_code == 200, (path, scope, r.text)


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The running service with MentalAlign (when present), a calibration, the judged demo batch and the
    robustness reports (owner ``robust``)."""
    with running_stack(tmp_path_factory.mktemp("dashboard")) as s:
        warm(s)
        yield s


@pytest.fixture
def env(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """COUNCIL_URL / COUNCIL_API_KEY pointing the in-process dashboard (AppTest) at the stack."""
    monkeypatch.setenv("COUNCIL_URL", stack.service.url)
    monkeypatch.setenv("COUNCIL_API_KEY", stack.key)
    return stack


def require_chromium() -> None:
    """Skip without Debian's chromium — or fail, when COUNCIL_REQUIRE_BROWSER=1 (``make test``)."""
    if CHROMIUM.exists() and shutil.which("chromium"):
        return
    message = "/usr/bin/chromium is missing: apt-get install -y chromium chromium-driver"
    if os.environ.get("COUNCIL_REQUIRE_BROWSER") == "1":
        pytest.fail(message + " (COUNCIL_REQUIRE_BROWSER=1)")
    pytest.skip(message)


@pytest.fixture(scope="package")
def dashboard(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """``streamlit run dashboard/app.py`` against the stack."""
    with running_dashboard(stack.service.url, stack.key, tmp_path_factory.mktemp("st") / "streamlit.log") as d:
        yield d


@pytest.fixture(scope="package")
def robust_dashboard(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """A second ``streamlit run dashboard/app.py`` with the key of the robustness reports' owner (``robust``)."""
    with running_dashboard(stack.service.url, stack.robust_key,
                           tmp_path_factory.mktemp("st-robust") / "streamlit.log") as d:
        yield d


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian Chromium under Playwright, with a fresh profile directory."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=ARGS,
            viewport={"width": 1500, "height": 1000})
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)
