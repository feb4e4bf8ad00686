"""A pairwise batch over real HTTP (``council serve``: Ray Serve + FastAPI) judged by the real embedded judges.

Issue 9's acceptance test: the demo batch submitted with ``mode: pairwise`` to the default embedded council
ranks the empathic-with-guidance replies above the dismissive ones by Bradley–Terry strength (its CIs
printed), every pair is judged in both orders, the calls made equal the formula the estimate gives
(k(k−1) per context and judge with ToM and domain off, 2 + k(k−1) with them), and the same pairs submitted
again as another batch are answered from the LLM-call cache with no new call.

Slow (about six minutes on 2 cores): 48 real generations by the 1.5B judge.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from council.cli import DEMO_BATCH
from council.spec import default_council
from tests.service.harness import Api, Service, ServiceConfig, write_keys

pytestmark = [pytest.mark.local_llm, pytest.mark.timeout(2400)]

KEY = secrets.token_hex(16)
ITEMS = [json.loads(line) for line in Path(DEMO_BATCH).read_text().splitlines() if line.strip()]
PAIRWISE = {"mode": "pairwise", "pairs": "all", "compare": "overall"}


@pytest.fixture(scope="module")
def service(local_judges, tmp_path_factory) -> Iterator[Api]:
    """``council serve`` on its own Ray instance, its 'local' council on this session's embedded judges."""
    home = tmp_path_factory.mktemp("pairwise-http")
    keys, councils = home / "keys.json", home / "councils.yaml"
    write_keys(keys, {"alice": KEY})
    councils.write_text("{}\n")
    # ``local_judges`` set COUNCIL_LOCAL_PORT for this process; the service (and Ray's workers) inherit it
    svc = Service(ServiceConfig(home=home, db=home / "council.duckdb", keys_file=keys, councils_file=councils,
                                extra_args=["--judge-replicas", "1"]))
    svc.start()
    api = Api(svc.url, KEY)
    try:
        yield api
    finally:
        api.close()
        svc.cleanup()


def _judged(api: Api, name: str) -> tuple[str, dict]:
    """Submit the demo batch in pairwise mode under ``name`` and wait for it to finish."""
    r = api.submit(ITEMS, council="local", name=name, **PAIRWISE)
    assert r.status_code == 202, r.text
    batch_id = r.json()["batch_id"]
    status, _ = api.wait(batch_id, timeout=1800, poll_s=2)
    assert status["status"] == "completed", status
    return batch_id, status


def test_a_pairwise_demo_batch_ranks_empathic_above_dismissive_over_http(service: Api) -> None:
    council = default_council()
    k = {len(item["candidates"]) for item in ITEMS}
    assert k == {4}
    upstream = sum(int(j.agents.tom) + int(j.agents.domain) for j in council.judges)
    formula = len(ITEMS) * (upstream + len(council.judges) * 4 * 3)  # (2 +) k(k−1) per context and judge

    estimate = service.http.post("/v1/estimate", json={"protocol": "mentalalign-7", "council": "local",
                                                       "items": ITEMS, **PAIRWISE})
    assert estimate.status_code == 200, estimate.text
    assert estimate.json()["calls"] == formula

    batch_id, status = _judged(service, "demo pairwise")
    progress = status["progress"]
    print(f"pairwise demo batch: {progress}")
    assert progress["calls_made"] == formula and progress["calls_failed"] == 0 and progress["calls_cached"] == 0

    r = service.http.get(f"/v1/batches/{batch_id}/pairwise", params={"n_boot": 500, "seed": 0})
    assert r.status_code == 200, r.text
    report = r.json()
    # every ordered presentation of every pair has a verdict: 4 contexts × 6 pairs × 2 orders per judge
    assert report["verdicts"] == len(ITEMS) * 6 * 2 * len(council.judges)
    assert report["abstentions"] == 0 and report["incomplete_pairs"] == 0
    [board] = report["leaderboards"]
    assert board["attribute"] == "overall" and board["n_contexts"] == len(ITEMS)
    print(f"Bradley–Terry ({report['score']}, {board['ci_method']}):")
    for s in board["strengths"]:
        print(f"  {s['rank']}. {s['responder']:<18} {s['strength']:+.3f} [{s['ci_low']:+.3f}, {s['ci_high']:+.3f}] "
              f"rank {s['rank_low']}–{s['rank_high']}")
    strength = {s["responder"]: s for s in board["strengths"]}
    empathic, dismissive = strength["demo:empathic"], strength["demo:dismissive"]
    assert empathic["strength"] > dismissive["strength"]
    assert all(s["ci_low"] <= s["strength"] <= s["ci_high"] for s in board["strengths"])
    for rate in report["position_consistency"]:
        assert rate["n"] == len(ITEMS) * 6  # one consistency check per pair: both orders were judged

    again_id, again = _judged(service, "demo pairwise, again")
    assert again_id != batch_id
    assert again["progress"]["calls_made"] == 0 and again["progress"]["calls_cached"] == formula
