"""Fixtures for the HTTP tests: fake providers in this process, the real service (``council serve``) as a subprocess.

One service is shared by most tests (package scope): Ray Serve with two judge replicas, its own Ray
instance and DuckDB file, councils on two in-process fake OpenAI servers — ``fake2`` (always answers)
and ``flaky2`` (30 % of calls fail: 429, 500, 503, timeouts, garbage). Tests that crash a service or
build a two-node cluster start their own and run first, so two Ray instances never compete for the two
cores. The schemathesis run goes last. Nothing survives the session: see ``harness.py``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from judges.testing import FakeOpenAIServer
from tests.service.harness import Api, Service, ServiceConfig, fake_judge, write_keys

ORDER = {"service_isolated": 0, "service": 1, "service_fuzz": 2}
"""Run order inside tests/service: own-cluster tests, then the shared service, then fuzzing."""

LIMITS = {"max_body_bytes": 65536, "max_items": 20, "max_candidates": 4, "max_import_bytes": 16384,
          "max_import_rows": 400, "max_judges": 4, "max_raters": 20}
"""Request limits the shared service runs with (small, so the tests can cross them cheaply)."""

GARBLE = "GARBLE-ME"
"""A candidate whose text holds this gets garbage (not JSON) from the fake judges: an invalid_output abstention."""
DOWN = "DOWN-500"
"""A candidate whose text holds this gets HTTP 500 on every scoring call: a provider_error abstention."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "service: HTTP tests against the real service (Ray Serve subprocess); slow")
    config.addinivalue_line("markers", "service_isolated: starts its own service or Ray cluster (runs first)")
    config.addinivalue_line("markers", "service_fuzz: schemathesis against the shared service (runs last)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Reorder only this directory's tests, within the slots they already hold."""
    here = Path(__file__).parent
    slots = [i for i, item in enumerate(items) if here in item.path.parents]

    def rank(item: pytest.Item) -> int:
        names = {m.name for m in item.iter_markers()}
        return next((ORDER[name] for name in ("service_isolated", "service_fuzz") if name in names), 1)

    ordered = sorted((items[i] for i in slots), key=rank)  # stable: file order within a group
    for slot, item in zip(slots, ordered, strict=True):
        items[slot] = item


def _marked_outcome(body: dict[str, Any], _nth: int) -> str | None:
    """Outcome hook of the fake servers: markers in a candidate's text force a failure of its scoring calls."""
    text = json.dumps(body.get("messages", []))
    if GARBLE in text:
        return "malformed_text"
    if DOWN in text:
        return "500"
    return None


@pytest.fixture(scope="package")
def fake_ok() -> Iterator[FakeOpenAIServer]:
    """A fake provider that answers every call with schema-valid JSON (20 ms), except marked candidates."""
    with FakeOpenAIServer(latency_ms=20, seed=7, outcome_hook=_marked_outcome) as server:
        yield server


@pytest.fixture(scope="package")
def fake_flaky() -> Iterator[FakeOpenAIServer]:
    """A fake provider failing 30 % of calls: 429 (Retry-After 0.05 s), 500, 503, hangs, garbage, empty replies."""
    with FakeOpenAIServer(latency_ms=10, failure_rate=0.3, retry_after=0.05, hang_s=10, seed=1,
                          failure_kinds=("429", "500", "503", "timeout", "malformed", "empty"),
                          outcome_hook=_marked_outcome) as server:
        yield server


@pytest.fixture(scope="package")
def fake_slow() -> Iterator[FakeOpenAIServer]:
    """A fake provider that always answers, slowly (400 ms): calls are in flight when a test cancels."""
    with FakeOpenAIServer(latency_ms=400, seed=3) as server:
        yield server


@pytest.fixture(scope="package")
def fake_truth() -> Iterator[FakeOpenAIServer]:
    """Judges that read each candidate's true quality from its text (see tests/gating/truth.py)."""
    from tests.gating.truth import responder

    with FakeOpenAIServer(responder=responder) as server:
        yield server


@pytest.fixture(scope="package")
def api_keys() -> dict[str, str]:
    """A fresh key per owner for this session."""
    return {"alice": f"ac_alice_{secrets.token_hex(8)}", "bob": f"ac_bob_{secrets.token_hex(8)}"}


def councils(ok_url: str, flaky_url: str | None = None, slow_url: str | None = None, truth_url: str | None = None,
             **judge_overrides: Any) -> dict[str, Any]:
    """The councils file: ``fake2`` on the reliable fake, ``flaky2`` on the failing one (1 s client timeout),
    ``slow2`` on the slow one, ``tiered`` (judges ``cheap`` and ``strong``, scoring only) on the truth-reading one."""
    data: dict[str, Any] = {"fake2": {"aggregation": "mean", "judges": [
        fake_judge("fake-a", "openai/fake-a", ok_url, **judge_overrides),
        fake_judge("fake-b", "openai/fake-b", ok_url, **judge_overrides)]}}
    if flaky_url:
        data["flaky2"] = {"aggregation": "mean", "judges": [
            fake_judge("flaky-a", "openai/flaky-a", flaky_url, timeout_s=1),
            fake_judge("flaky-b", "openai/flaky-b", flaky_url, timeout_s=1)]}
    if slow_url:
        data["slow2"] = {"aggregation": "mean", "judges": [
            fake_judge("slow-a", "openai/slow-a", slow_url, max_concurrency=3, timeout_s=10),
            fake_judge("slow-b", "openai/slow-b", slow_url, max_concurrency=3, timeout_s=10)]}
    if truth_url:
        scoring_only = {"tom": False, "domain": False}
        data["tiered"] = {"judges": [fake_judge(j, f"openai/{j}", truth_url, agents=scoring_only)
                                     for j in ("cheap", "strong")]}
    return data


def service_config(home: Path, keys: dict[str, str], council_data: dict[str, Any],
                   extra_args: list[str] | None = None, address: str | None = None) -> ServiceConfig:
    """Write the keys and councils files under ``home`` and describe a service on them."""
    home.mkdir(parents=True, exist_ok=True)
    write_keys(home / "keys.yaml", keys)
    (home / "councils.yaml").write_text(yaml.safe_dump(council_data))
    return ServiceConfig(home=home, db=home / "service.duckdb", keys_file=home / "keys.yaml",
                         councils_file=home / "councils.yaml", extra_args=extra_args or [], address=address)


@pytest.fixture(scope="package")
def service(tmp_path_factory: pytest.TempPathFactory, api_keys: dict[str, str], fake_ok: FakeOpenAIServer,
            fake_flaky: FakeOpenAIServer, fake_slow: FakeOpenAIServer,
            fake_truth: FakeOpenAIServer) -> Iterator[Service]:
    """The shared running service (two judge replicas, small limits); stopped and reaped after this package."""
    limits = [f"--{name.replace('_', '-')}={value}" for name, value in LIMITS.items()]
    config = service_config(tmp_path_factory.mktemp("service"), api_keys,
                            councils(fake_ok.base_url, fake_flaky.base_url, fake_slow.base_url, fake_truth.base_url),
                            ["--judge-replicas=2", *limits, f"--allow-api-base={fake_ok.base_url}"])
    svc = Service(config).start()
    try:
        yield svc
    finally:
        svc.cleanup(graceful=False)  # nobody reads its store afterwards; a graceful stop waits for running batches


@pytest.fixture
def alice(service: Service, api_keys: dict[str, str]) -> Iterator[Api]:
    """A client with alice's key."""
    api = Api(service.url, api_keys["alice"])
    yield api
    api.close()


@pytest.fixture
def bob(service: Service, api_keys: dict[str, str]) -> Iterator[Api]:
    """A client with bob's key."""
    api = Api(service.url, api_keys["bob"])
    yield api
    api.close()


@pytest.fixture
def anonymous(service: Service) -> Iterator[Api]:
    """A client without a key."""
    api = Api(service.url, None)
    yield api
    api.close()
