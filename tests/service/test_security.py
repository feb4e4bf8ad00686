"""Auth, per-key isolation, request limits and error bodies that name the field, through real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from judges.testing import FakeOpenAIServer
from protocols import load_protocol
from tests.service.conftest import LIMITS
from tests.service.harness import Api, Service, fake_judge, make_items

pytestmark = pytest.mark.service


def _error(r: httpx.Response, status: int, field: str | None = None) -> dict[str, object]:
    """Check an error answer: its status, a JSON body with a message, the field it names, no stack trace."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert isinstance(body["error"], str) and body["error"]
    assert "Traceback" not in r.text and 'File "' not in r.text
    if field is not None:
        assert body.get("field") == field, body
    return dict(body)


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v1/batches"), ("POST", "/v1/batches"), ("GET", "/v1/batches/b_0000000000000000"),
    ("GET", "/v1/batches/b_0000000000000000/results"), ("POST", "/v1/batches/b_0000000000000000/cancel"),
    ("POST", "/v1/estimate"), ("GET", "/v1/protocols"), ("POST", "/v1/protocols"),
])
def test_every_v1_route_needs_a_valid_bearer_key(service: Service, method: str, path: str) -> None:
    body = {"protocol": "mentalalign-7", "council": "fake2", "items": make_items("auth", 1, 1)}
    for headers in ({}, {"Authorization": "Bearer not-a-key"}, {"Authorization": "Basic YWxpY2U6cHc="},
                    {"Authorization": "Bearer"}, {"Authorization": "Token abc"}):
        r = httpx.request(method, f"{service.url}{path}", headers=headers,
                          json=body if method == "POST" else None, timeout=30)
        _error(r, 401, "Authorization")
        assert r.headers["www-authenticate"] == "Bearer"


def test_health_and_openapi_are_public(anonymous: Api) -> None:
    health = anonymous.http.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    spec = anonymous.http.get("/openapi.json").json()
    assert "/v1/batches" in spec["paths"]


@pytest.fixture(scope="module")
def alices_batch(service: Service, api_keys: dict[str, str]) -> Iterator[str]:
    api = Api(service.url, api_keys["alice"])
    r = api.submit(make_items("isolation", 2, 2), name="alice only")
    assert r.status_code == 202, r.text
    batch_id = r.json()["batch_id"]
    assert api.wait(batch_id)[0]["status"] == "completed"
    yield batch_id
    api.close()


def test_a_key_cannot_see_or_touch_another_keys_batch(alice: Api, bob: Api, alices_batch: str) -> None:
    before = alice.status(alices_batch)
    for r in (bob.http.get(f"/v1/batches/{alices_batch}"),
              bob.http.get(f"/v1/batches/{alices_batch}/results"),
              bob.http.get(f"/v1/batches/{alices_batch}/results", params={"format": "csv"}),
              bob.http.get(f"/v1/batches/{alices_batch}/results", params={"format": "parquet", "traces": "true"}),
              bob.http.post(f"/v1/batches/{alices_batch}/cancel")):
        body = _error(r, 404)
        assert "alice" not in json.dumps(body)
    # the same answer as for a batch that does not exist: nothing tells bob that the id is taken
    assert bob.http.get("/v1/batches/b_doesnotexist0000").json().keys() == body.keys()
    assert alice.status(alices_batch) == before  # bob's cancel did nothing

    assert alices_batch in [b["batch_id"] for b in alice.http.get("/v1/batches").json()]
    assert alices_batch not in [b["batch_id"] for b in bob.http.get("/v1/batches").json()]
    assert all(b["batch_id"] != alices_batch for b in bob.http.get("/v1/batches").json())

    # the same content submitted by bob is bob's own batch, not alice's
    own = bob.submit(make_items("isolation", 2, 2), name="alice only")
    assert own.status_code == 202 and own.json()["batch_id"] != alices_batch and own.json()["created"] is True
    assert bob.wait(own.json()["batch_id"])[0]["status"] == "completed"


def test_custom_protocols_are_per_key(alice: Api, bob: Api) -> None:
    document = load_protocol("epitome").model_dump(mode="json")
    document["id"] = "bobs-rubric"
    r = bob.http.post("/v1/protocols", json=document)
    assert r.status_code == 201, r.text
    assert r.json()["id"] == "bobs-rubric" and r.json()["shipped"] is False
    assert "bobs-rubric" in [p["id"] for p in bob.http.get("/v1/protocols").json()]
    assert "bobs-rubric" not in [p["id"] for p in alice.http.get("/v1/protocols").json()]
    _error(alice.submit(make_items("protocols", 1, 1), protocol="bobs-rubric"), 422, "protocol")
    _error(bob.http.post("/v1/protocols", json={**document, "id": "epitome"}), 422, "id")
    broken = {**document, "id": "broken", "scale": {"min": 0, "max": 9}}  # anchors no longer cover the scale
    _error(bob.http.post("/v1/protocols", json=broken), 422)


def test_oversized_bodies_are_refused_with_413(alice: Api) -> None:
    items = make_items("too-big", 1, 1)
    items[0]["candidates"][0]["text"] = "x" * (LIMITS["max_body_bytes"] + 1)
    _error(alice.submit(items), 413, "body")

    # without Content-Length (chunked): counted while streaming
    payload = json.dumps({"protocol": "mentalalign-7", "council": "fake2", "items": items}).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 8192):
            yield payload[start:start + 8192]

    r = alice.http.post("/v1/batches", content=chunks(), headers={"Content-Type": "application/json"})
    _error(r, 413, "body")
    assert alice.http.get("/healthz").status_code == 200


def test_limits_and_schema_errors_name_the_field(alice: Api) -> None:
    too_many_items = make_items("limits", LIMITS["max_items"] + 1, 1)
    _error(alice.submit(too_many_items), 422, "items")
    _error(alice.http.post("/v1/estimate", json={"council": "fake2", "items": too_many_items}), 422, "items")
    too_many_candidates = make_items("limits", 2, LIMITS["max_candidates"] + 1)
    _error(alice.submit(too_many_candidates), 422, "items.0.candidates")

    no_candidates = make_items("schema", 2, 1)
    del no_candidates[1]["candidates"]
    body = _error(alice.submit(no_candidates), 422, "items.1.candidates")
    assert any(p["field"] == "items.1.candidates" for p in body["problems"])  # type: ignore[union-attr]
    empty_candidates = make_items("schema", 1, 1)
    empty_candidates[0]["candidates"] = []
    _error(alice.submit(empty_candidates), 422, "items.0.candidates")
    _error(alice.submit([]), 422, "items")
    blank_context = make_items("schema", 1, 1)
    blank_context[0]["context"] = "   "
    _error(alice.submit(blank_context), 422)
    duplicate = make_items("schema", 1, 2)
    duplicate[0]["candidates"][1]["id"] = duplicate[0]["candidates"][0]["id"]
    _error(alice.submit(duplicate), 422)

    _error(alice.submit(make_items("schema", 1, 1), protocol="no-such-rubric"), 422, "protocol")
    _error(alice.submit(make_items("schema", 1, 1), council="no-such-council"), 422, "council")
    _error(alice.submit(make_items("schema", 1, 1), colour="blue"), 422, "colour")
    _error(alice.submit(make_items("schema", 1, 1), budget={"max_tokens": 0}), 422, "budget.max_tokens")
    r = alice.http.post("/v1/batches", content=b"{not json", headers={"Content-Type": "application/json"})
    _error(r, 422)
    _error(alice.http.get("/v1/batches/whatever/results", params={"format": "xml"}), 422, "query.format")
    _error(alice.submit(make_items("schema", 1, 1), idempotency_key="k" * 201), 422, "header.idempotency-key")


def test_inline_councils_cannot_send_a_server_key_to_their_own_url(alice: Api, fake_ok: FakeOpenAIServer,
                                                                   fake_flaky: FakeOpenAIServer) -> None:
    elsewhere = {"id": "mine", "judges": [fake_judge("inline", "openai/inline", fake_flaky.base_url)]}
    _error(alice.submit(make_items("inline", 1, 1), council=elsewhere), 422, "council.judges.0.api_base")
    judge = fake_judge("inline", "openai/inline", fake_ok.base_url, api_key_env="OPENAI_API_KEY")
    council = {"id": "mine", "aggregation": "mean", "judges": [judge]}
    requests_before = fake_ok.count
    _error(alice.submit(make_items("inline", 1, 1), council=council), 422, "council.judges.0.api_key_env")
    _error(alice.http.post("/v1/estimate", json={"council": council, "items": make_items("inline", 1, 1)}), 422,
           "council.judges.0.api_key_env")
    assert fake_ok.count == requests_before

    del judge["api_key_env"]  # an inline council on an allowed endpoint, without server secrets, is fine
    r = alice.submit(make_items("inline", 1, 1), council=council)
    assert r.status_code == 202, r.text
    status, _ = alice.wait(r.json()["batch_id"])
    assert status["status"] == "completed" and status["council"] == "mine" and status["abstentions"] == 0
