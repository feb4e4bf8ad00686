"""Cancel stops work: once ``POST /v1/batches/{id}/cancel`` answers, the provider sees no further request, the
batch stays ``cancelled`` (never ``failed``), and the calls already paid are served from the cache afterwards.

Before the fix, 8–17 more calls per batch reached the provider up to ~7 s after the cancel was acknowledged,
and the run was recorded as failed.
"""

from __future__ import annotations

import time

import pytest

from judges.testing import FakeOpenAIServer
from tests.service.harness import Api, make_items

pytestmark = pytest.mark.service


def test_no_call_starts_after_a_cancel_is_acknowledged(alice: Api, fake_slow: FakeOpenAIServer) -> None:
    items = make_items("cancel", 8, 3)
    r = alice.submit(items, council="slow2", name="to cancel")
    assert r.status_code == 202, r.text
    batch_id = r.json()["batch_id"]
    alice.wait(batch_id, until=lambda s: s["progress"]["calls_made"] >= 6, timeout=120, poll_s=0.1)

    cancelled = alice.http.post(f"/v1/batches/{batch_id}/cancel")
    at_ack = fake_slow.count
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    paid = cancelled.json()["progress"]["calls_made"]

    time.sleep(8)  # longer than the ~7 s over which late calls used to arrive
    assert fake_slow.count == at_ack, f"{fake_slow.count - at_ack} requests reached the provider after the cancel"
    status = alice.status(batch_id)
    assert status["status"] == "cancelled" and status["run_status"] == "cancelled"
    assert not any("Cancel" in e or "failed" in e.lower() for e in status["errors"]), status["errors"]
    assert status["progress"]["calls_made"] <= at_ack

    # the replies paid before the cancel stay in the cache: the same work again starts from them
    again = alice.submit(items, council="slow2", name="after cancel")
    assert again.status_code == 202 and again.json()["batch_id"] != batch_id
    final, _ = alice.wait(again.json()["batch_id"], timeout=240)
    assert final["status"] == "completed"
    assert final["progress"]["calls_cached"] >= paid > 0
