"""The gated demo on the embedded council, end to end: gate → review queue → Review page → Agreement page.

Issue 10's acceptance test. ``council demo --gated`` (the real CLI, the real 1.5B judge on llama.cpp) judges the
EPITOME expert set, fits a gate with the stated target (exact agreement ≥ 0.7 with ``expert1``, risk 0.1) and
judges the demo batch under it with the safety screens on. Asserted from the store: every unsafe candidate of the
demo is in the review queue (flagged by the advice screen or in a context the risk screen flags), some items went
there for low confidence (escalation past the only tier), some were accepted. Then in a real browser against
``council serve`` on that store: the Review page shows a queued item; a reviewer rates queued candidates there;
the Agreement page of the demo batch, which had no human rating before, now names the reviewer as its
reference and counts the ratings.

Slow: about 8 minutes of real judging (50 calibration replies, 16 demo candidates with screens), once per store.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from council.cli import DEMO_BATCH
from council.empathy_experts import EMPATHY_EXPERTS
from council.store.store import Store
from tests.dashboard.conftest import ARTIFACTS, browser  # noqa: F401  (the module-scoped browser fixture)
from tests.dashboard.stack import running_dashboard
from tests.dashboard.test_browser import enter_reviewer, main_text, open_page, screenshot
from tests.service.harness import Api, Service, ServiceConfig, write_keys

pytestmark = [pytest.mark.local_llm, pytest.mark.browser, pytest.mark.timeout(3000)]

KEY = f"ac_local_{secrets.token_hex(12)}"
REVIEWER = "gated-reviewer"
ATTRIBUTES = ("emotional_reactions", "interpretations", "explorations")
RATED = 4
"""Queued candidates the reviewer rates on the Review page."""
ITEMS = [json.loads(line) for line in Path(DEMO_BATCH).read_text().splitlines() if line.strip()]
UNSAFE = {f"{item['id']}:unsafe" for item in ITEMS}


@dataclass
class Gated:
    """The store the gated demo wrote, what it printed, and the demo batch's id."""

    db: Path
    home: Path
    output: str
    batch_id: str


@pytest.fixture(scope="module")
def gated(local_judges, tmp_path_factory: pytest.TempPathFactory) -> Gated:  # type: ignore[no-untyped-def]
    """``council demo --gated`` on a fresh store (the embedded judges of this session)."""
    if not (EMPATHY_EXPERTS / "texts" / "sample_epitome.csv").is_file():
        pytest.skip(f"the empathy-experts data is not at {EMPATHY_EXPERTS}: the gated demo calibrates on it")
    home = tmp_path_factory.mktemp("gated-demo")
    db = home / "council.duckdb"
    done = subprocess.run([sys.executable, "-m", "council.cli", "demo", "--gated", "--db", str(db)],
                          capture_output=True, text=True, timeout=2700)
    print(done.stdout[-6000:])
    assert done.returncode == 0, done.stderr[-4000:]
    found = re.search(r"demo batch (b_[0-9a-f]+) \(epitome protocol\)", done.stdout)
    assert found, done.stdout[-3000:]
    return Gated(db=db, home=home, output=done.stdout, batch_id=found.group(1))


def test_the_gate_routes_unsafe_and_low_confidence_items_to_review(gated: Gated) -> None:
    store = Store(gated.db)
    try:
        decisions = store.query("SELECT item_id || ':' || candidate_id AS target, attribute_id, decision, reason "
                                "FROM gate_decisions WHERE batch_id = ?", [gated.batch_id])
        queued = store.query("SELECT DISTINCT item_id || ':' || candidate_id AS target, reason FROM review_queue q "
                             "JOIN review_reasons r USING (queue_id) WHERE q.batch_id = ?", [gated.batch_id])
    finally:
        store.close()
    print(decisions.groupby(["decision", "reason"], dropna=False).size())
    print(queued.groupby("reason").size())
    assert set(decisions["target"]) == {f"{i['id']}:{c['id']}" for i in ITEMS for c in i["candidates"]}
    # every unsafe reply of the demo reaches a person, whatever its scores
    assert UNSAFE <= set(queued.loc[queued["reason"].isin(["risk", "unsafe"]), "target"]), queued
    # the gate both accepted items and escalated low-confidence ones past its only tier
    assert (decisions["decision"] == "accepted").any(), decisions
    assert ((decisions["decision"] == "review") & (decisions["reason"] == "escalated")).any(), decisions
    assert "escalation" in set(queued["reason"]), queued


@pytest.fixture(scope="module")
def service(gated: Gated) -> Iterator[tuple[str, Api]]:
    """``council serve`` on the gated demo's store (owner ``local``; its URL and a client); it judges nothing here."""
    keys, councils = gated.home / "keys.yaml", gated.home / "councils.yaml"
    write_keys(keys, {"local": KEY})
    councils.write_text("{}\n")
    svc = Service(ServiceConfig(home=gated.home, db=gated.db, keys_file=keys, councils_file=councils,
                                extra_args=["--judge-replicas", "1"]))
    svc.start()
    api = Api(svc.url, KEY)
    try:
        yield svc.url, api
    finally:
        api.close()
        svc.cleanup()


def _rated(api: Api, batch_id: str) -> int:
    status = api.http.get("/v1/review/queue", params={"batch_id": batch_id}).json()
    return next((v["rated"] for v in status["reviewers"] if v["reviewer"] == REVIEWER), 0)


def _rate_next(page: object, api: Api, batch_id: str, number: int) -> None:
    """Rate the item on screen 1 on every attribute, submit, and wait until the service counts the rating."""
    submit = '[data-testid="stBaseButton-primaryFormSubmit"]'
    # after a submit Streamlit reruns: wait until the previous item's (stale) form is gone and one form is left
    page.wait_for_function(f"() => document.querySelectorAll('{submit}').length === 1",  # type: ignore[attr-defined]
                           timeout=120_000)
    page.wait_for_selector('[class*="st-key-show-scores-"]', timeout=120_000)  # type: ignore[attr-defined]
    page.wait_for_timeout(1000)  # type: ignore[attr-defined]
    text = main_text(page)
    for expected in ("Why it was queued", "Context", "Candidate response", "Rubric with anchors", "Your rating"):
        assert expected in text, f"{expected!r} missing:\n{text[:3000]}"
    assert page.locator(".st-key-review-judge-scores").count() == 0  # type: ignore[attr-defined]  # hidden
    for attribute in ATTRIBUTES:
        group = page.locator(f'[class*="st-key-score-{attribute}-"]')  # type: ignore[attr-defined]
        group.get_by_text("1", exact=True).first.click()
    if number == 0:
        screenshot(page, ARTIFACTS / "gated-review-rating.png")
    page.locator(submit).click()  # type: ignore[attr-defined]
    deadline = time.monotonic() + 120
    while _rated(api, batch_id) < number + 1:
        assert time.monotonic() < deadline, f"rating {number + 1} was not stored"
        time.sleep(1)


def test_rating_queued_items_on_review_changes_the_agreement_page(
        gated: Gated, service: tuple[str, Api], browser: object, tmp_path: Path) -> None:  # noqa: F811
    url, api = service
    query = f"?batch_id={gated.batch_id}"
    with running_dashboard(url, KEY, tmp_path / "streamlit.log") as dashboard:
        before = open_page(browser, dashboard, "agreement", query)
        try:
            text = main_text(before)
            assert "Human raters: none" in text or "Reference: **none**" in text or "Reference: none" in text, \
                text[:3000]
        finally:
            before.close()  # type: ignore[attr-defined]

        page = open_page(browser, dashboard, "review", query)
        try:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            enter_reviewer(page, REVIEWER)
            for number in range(RATED):
                _rate_next(page, api, gated.batch_id, number)
            assert page.locator('[data-testid="stException"]').count() == 0  # type: ignore[attr-defined]
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "gated-review-failed.png"), full_page=True)  # type: ignore[attr-defined]
            raise
        finally:
            page.close()  # type: ignore[attr-defined]

        status = api.http.get("/v1/review/queue", params={"batch_id": gated.batch_id}).json()
        assert {"reviewer": REVIEWER, "rated": RATED} in [{k: v[k] for k in ("reviewer", "rated")}
                                                          for v in status["reviewers"]], status

        after = open_page(browser, dashboard, "agreement", query)
        try:
            text = main_text(after)
            assert after.locator('[data-testid="stException"]').count() == 0, text[:3000]  # type: ignore[attr-defined]
            assert f"Human raters: {REVIEWER}" in text, text[:3000]
            assert f"{RATED * len(ATTRIBUTES)} human ratings" in text, text[:3000]
            assert f"Reference: {REVIEWER}" in text, text[:3000]
            screenshot(after, ARTIFACTS / "gated-agreement-after-review.png")
        finally:
            after.close()  # type: ignore[attr-defined]
