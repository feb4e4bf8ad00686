"""The Review page in a real browser: rate a queued candidate, then see the rating counted on the Agreement page.

Against the shared stack (tests/dashboard/stack.py): the demo batch judged by two fake-provider judges, with
``demo_human`` its only human rater. The test queues the batch's flagged and uncertain candidates
(``POST /v1/review/enqueue``), opens Review, enters a reviewer name, checks that the judges' scores are hidden
until asked for, scores every attribute, submits, and opens Agreement on the batch: the reviewer is now a
human rater, the batch has seven more human ratings, and with two people the reference is their consensus.
Marked ``stack_writer``: it runs after every other dashboard test, which assert the stack as built.
"""

from __future__ import annotations

import re

import pytest

from tests.dashboard.conftest import ARTIFACTS
from tests.dashboard.stack import ATTRIBUTES, Dashboard, Stack
from tests.dashboard.test_browser import enter_reviewer, main_text, open_page, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.dashboard, pytest.mark.stack_writer, pytest.mark.timeout(900)]

REVIEWER = "reviewer-one"


def _human_ratings(text: str) -> int:
    found = re.search(r"([\d,]+) human ratings", text)
    assert found, text[:3000]
    return int(found.group(1).replace(",", ""))


def test_rating_on_review_is_counted_on_agreement(browser: object, dashboard: Dashboard, stack: Stack) -> None:
    """Queue → Review page (scores hidden until asked) → submit → Agreement counts the reviewer's ratings."""
    r = stack.api.http.post("/v1/review/enqueue", json={"batch_id": stack.batch_id,
                                                        "reasons": ["risk", "unsafe", "low_confidence"],
                                                        "min_uncertainty": 0.0})
    assert r.status_code == 200, r.text
    assert r.json()["created"] > 0
    query = f"?batch_id={stack.batch_id}"

    before = open_page(browser, dashboard, "agreement", query)
    try:
        text = main_text(before)
        assert "Human raters: demo_human ·" in text, text[:3000]
        n_before = _human_ratings(text)
    finally:
        before.close()  # type: ignore[attr-defined]

    page = open_page(browser, dashboard, "review")
    try:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        enter_reviewer(page, REVIEWER)
        # the last element of the item: the (off) toggle of the judges' scores, drawn after the rating form
        page.wait_for_selector('[class*="st-key-show-scores-"]', timeout=120_000)  # type: ignore[attr-defined]
        page.wait_for_timeout(1000)  # type: ignore[attr-defined]
        text = main_text(page)
        for expected in ("Why it was queued", "Context", "Candidate response", "Rubric with anchors",
                         "Your rating", "Show the judges' scores"):
            assert expected in text, f"{expected!r} missing:\n{text[:3000]}"
        # the judges' scores are hidden until the reviewer asks for them
        assert page.locator(".st-key-review-judge-scores").count() == 0  # type: ignore[attr-defined]
        page.get_by_text("Show the judges' scores").click()  # type: ignore[attr-defined]
        page.wait_for_selector(".st-key-review-judge-scores [data-testid=stDataFrame]",  # type: ignore[attr-defined]
                               timeout=120_000)
        for attribute in ATTRIBUTES:
            group = page.locator(f'[class*="st-key-score-{attribute}-"]')  # type: ignore[attr-defined]
            group.get_by_text("4", exact=True).first.click()  # the point 4 (its anchor is a caption below it)
        screenshot(page, ARTIFACTS / "review-rating.png")
        page.get_by_role("button", name="Submit and next").click()  # type: ignore[attr-defined]
        stored = f"Stored 7 ratings by {REVIEWER}"
        page.wait_for_function(  # type: ignore[attr-defined]
            f"() => document.querySelector('[data-testid=stMain]').innerText.includes('{stored}')", timeout=120_000)
        assert page.locator('[data-testid="stException"]').count() == 0  # type: ignore[attr-defined]
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "review-failed.png"), full_page=True)  # type: ignore[attr-defined]
        raise
    finally:
        page.close()  # type: ignore[attr-defined]

    status = stack.api.http.get("/v1/review/queue", params={"batch_id": stack.batch_id}).json()
    assert {"reviewer": REVIEWER, "rated": 1} in [{k: v[k] for k in ("reviewer", "rated")}
                                                  for v in status["reviewers"]]

    after = open_page(browser, dashboard, "agreement", query)
    try:
        text = main_text(after)
        assert after.locator('[data-testid="stException"]').count() == 0, text[:3000]  # type: ignore[attr-defined]
        assert REVIEWER in text and "Reference: human_consensus" in text, text[:3000]
        assert _human_ratings(text) == n_before + len(ATTRIBUTES)
        screenshot(after, ARTIFACTS / "agreement-after-review.png")
    finally:
        after.close()  # type: ignore[attr-defined]
