"""One error contract for every route: ``{error, field, correlation_id}``, nothing internal, through real HTTP.

Walks every operation of the running service's OpenAPI schema with requests built to fail (no key, unknown
ids, empty and wrong-typed bodies), then triggers each exception type the core raises (not found, unknown
protocol/council, Idempotency conflict, protocol validation, the analysis layer's errors). Before the fix,
errors raised in the core reached the client with the whole Ray traceback (pid, node IP, actor id, paths).
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from council.analysis import AnalysisError, NotFoundError
from protocols import load_protocol
from tests.service.clean import assert_clean_error
from tests.service.harness import Api, Service, make_items

pytestmark = pytest.mark.service

BODIES: list[Any] = [{}, [], "x", {"items": "nope"}, {"batch_id": 7, "dataset": ["a"]}]


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "b_0000000000000000", path)


def test_every_route_answers_errors_under_the_contract(service: Service, alice: Api) -> None:
    spec = httpx.get(f"{service.url}/openapi.json", timeout=30).json()
    operations = [(method.upper(), path) for path, item in spec["paths"].items() for method in item
                  if method in ("get", "post", "put", "delete", "patch")]
    assert len(operations) >= 20, operations
    checked = 0
    for method, path in operations:
        url = _fill(path)
        if path.startswith("/v1"):
            assert_clean_error(httpx.request(method, f"{service.url}{url}", timeout=30), 401, "Authorization")
            checked += 1
        answers = [alice.http.request(method, url, params={"dataset": "no-such-dataset"})]
        if method == "POST":
            answers += [alice.http.request(method, url, json=body) for body in BODIES]
            answers.append(alice.http.request(method, url, content=b"{broken",
                                              headers={"Content-Type": "application/json"}))
        for r in answers:
            assert r.status_code < 500, (method, path, r.status_code, r.text[:500])
            if r.status_code >= 400:
                assert_clean_error(r)
                checked += 1
    assert checked > 2 * len(operations)
    assert_clean_error(alice.http.get("/v1/no-such-route"), 404)
    assert_clean_error(alice.http.delete("/v1/batches"), 405)


def _exception_types(root: type[Exception]) -> set[type[Exception]]:
    found = {root}
    for sub in root.__subclasses__():
        found |= _exception_types(sub)
    return found


def test_each_core_exception_type_is_answered_cleanly(alice: Api, bob: Api) -> None:
    """Every exception type the core and the analysis layer raise, triggered through HTTP."""
    from council.service.errors import Conflict, NotFound, RequestError, ServiceError

    triggered: dict[type[Exception], httpx.Response] = {}
    r = alice.submit(make_items("contract", 1, 1), name="contract")
    assert r.status_code == 202, r.text
    batch_id = r.json()["batch_id"]
    triggered[NotFound] = bob.http.get(f"/v1/batches/{batch_id}")
    triggered[RequestError] = alice.submit(make_items("contract", 1, 1), council="no-such-council")
    alice.submit(make_items("contract", 1, 1), idempotency_key="contract-key")
    triggered[Conflict] = alice.submit(make_items("contract-2", 1, 1), idempotency_key="contract-key")
    triggered[NotFoundError] = alice.http.post("/v1/agreement", json={"dataset": "no-such-dataset"})
    triggered[AnalysisError] = alice.http.post("/v1/ratings", json={
        "batch_id": batch_id, "format": "csv", "content": "target,rater,attribute,score\nnope:x,ann,empathy,3\n"})
    document = load_protocol("epitome").model_dump(mode="json")
    triggered[ServiceError] = alice.http.post("/v1/protocols", json={**document, "id": "broken-contract",
                                                                    "scale": {"min": 0, "max": 9}})
    expected = {NotFound: 404, RequestError: 422, Conflict: 409, NotFoundError: 404, AnalysisError: 422,
                ServiceError: 422}
    for kind, response in triggered.items():
        assert_clean_error(response, expected[kind])
    assert _exception_types(ServiceError) <= set(triggered) | {ServiceError}
    assert {AnalysisError, NotFoundError} <= set(triggered)
    assert triggered[Conflict].json()["field"] == "Idempotency-Key"
    assert triggered[RequestError].json()["field"] == "council"


def test_a_correlation_id_ties_the_answer_to_the_log(alice: Api) -> None:
    r = alice.http.get("/v1/batches/b_doesnotexist0000", headers={"X-Correlation-ID": "client-trace-12345"})
    body = assert_clean_error(r, 404)
    assert body["correlation_id"] == "client-trace-12345"
    r = alice.http.get("/v1/batches/b_doesnotexist0000", headers={"X-Correlation-ID": "bad id with spaces"})
    assert assert_clean_error(r, 404)["correlation_id"].startswith("req_")
    ok = alice.http.get("/v1/batches")
    assert ok.status_code == 200 and ok.headers["x-correlation-id"].startswith("req_")
