"""The error contract, limits and export rules without Ray: the ingress app over a fake core handle.

Fast checks of what the HTTP tests show end to end: an unexpected failure in the core or the ingress is a
bare 500 with a correlation id (the details only in the log), client errors keep their message and field,
messages are scrubbed and bounded, posted protocols are refused before their scale is built, CSV cells
cannot start a formula.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from council.service.api import make_api
from council.service.config import hash_key
from council.service.errors import ErrorAnswer, NotFound, RequestError, answer_for, scrub
from council.service.export import neutralise_formulas
from council.service.limits import Limits, check_protocol_document
from tests.service.clean import assert_clean_error

KEY = "ac_test_key"


class _Call:
    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def remote(self, *args: Any) -> Any:
        return self.fn(*args)


class FakeCore:
    """A core handle whose ``call`` runs a function of (method, correlation id, args)."""

    def __init__(self, answer: Any) -> None:
        self.seen: list[tuple[str, str]] = []

        async def call(method: str, cid: str, *args: Any) -> Any:
            self.seen.append((method, cid))
            if isinstance(answer, Exception):
                raise answer
            return answer

        self.call = _Call(call)


def client(answer: Any) -> tuple[TestClient, FakeCore]:
    core = FakeCore(answer)
    app = make_api(core, {hash_key(KEY): "alice"}, max_body_bytes=4096)
    return TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {KEY}"}), core


def test_a_refusal_from_the_core_keeps_message_and_field() -> None:
    http, core = client(ErrorAnswer(status=404, error="no batch 'b_x'", field="batch_id"))
    r = http.get("/v1/batches/b_x")
    body = assert_clean_error(r, 404, "batch_id")
    assert body["error"] == "no batch 'b_x'"
    assert core.seen == [("status", body["correlation_id"])]  # the core logged under the id the client got


def test_an_unexpected_failure_is_a_bare_500_with_the_id_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    secret = "Traceback (most recent call last): File \"/work/x.py\", pid=123 ip=10.1.2.3"
    http, _ = client(RuntimeError(secret))
    with caplog.at_level(logging.ERROR):
        r = http.get("/v1/batches")
    body = assert_clean_error(r, 500)
    assert "pid" not in r.text and body["error"].startswith("internal error")
    assert body["correlation_id"] in caplog.text and "RuntimeError" in caplog.text


def test_the_core_turns_exceptions_into_answers(caplog: pytest.LogCaptureFixture) -> None:
    assert answer_for(NotFound("no batch 'b'", field="batch_id"), "req_1", "status") == ErrorAnswer(
        status=404, error="no batch 'b'", field="batch_id")
    assert answer_for(RequestError("bad", field="items"), "req_1", "submit").status == 422
    with caplog.at_level(logging.ERROR):
        internal = answer_for(KeyError("/srv/secret/path"), "req_42", "submit")
    assert internal.status == 500 and "secret" not in internal.error and "req_42" in caplog.text


def test_messages_are_scrubbed_and_bounded() -> None:
    text = scrub("failed at /home/ray/session_2026/logs/x.log on 10.0.0.7:6379 pid=4242 actor "
                 "a94fa3e2fe86f740e037615d01000000 " + "y" * 5000)
    assert "/home" not in text and "10.0.0.7" not in text and "4242" not in text and "a94fa3e2" not in text
    assert len(text) < 1100
    assert scrub("expected item_id:candidate_id, e.g. it-0:c0") == "expected item_id:candidate_id, e.g. it-0:c0"


def test_framework_errors_and_the_body_limit_follow_the_contract() -> None:
    http, _ = client({"status": "ok"})
    assert_clean_error(http.get("/nope"), 404)
    assert_clean_error(http.post("/v1/batches", content=b"x" * 5000, headers={"Content-Type": "application/json"}),
                       413, "body")
    assert_clean_error(http.post("/v1/batches", content=b"{", headers={"Content-Type": "application/json"}), 422)
    assert_clean_error(http.post("/v1/protocols", content=b'{"id": "\\ud800"}',
                                 headers={"Content-Type": "application/json"}), 422, "body")
    r = http.get("/healthz", headers={"Authorization": ""})
    assert r.status_code == 200 and r.headers["x-correlation-id"].startswith("req_")


@pytest.mark.parametrize(("document", "field"), [
    ({"scale": {"min": 0, "max": 1e9}}, "scale"),
    ({"scale": {"min": -(10**12), "max": 5}}, "scale"),
    ({"scale": {"min": "0", "max": "1000000000"}}, "scale"),
    ({"attributes": [{}] * 65}, "attributes"),
    ({"attributes": [{"anchors": {str(i): "a" for i in range(200)}}]}, "attributes.0.anchors"),
    ({"composites": {f"c{i}": ["a"] for i in range(65)}}, "composites"),
    ({"id": "x" * 201}, "id"),
])
def test_protocol_documents_are_bounded_before_parsing(document: dict[str, Any], field: str) -> None:
    with pytest.raises(RequestError) as caught:
        check_protocol_document(document, Limits())
    assert caught.value.field == field


def test_csv_cells_cannot_start_a_formula() -> None:
    table = pd.DataFrame({"id": ["=1+1", "+x", "-x", "@x", "\tx", "\rx", "ok", None], "score": [-1.0] * 8})
    out = neutralise_formulas(table)
    assert out["id"].tolist()[:7] == ["'=1+1", "'+x", "'-x", "'@x", "'\tx", "'\rx", "ok"]
    assert pd.isna(out["id"].iloc[7])
    assert out["score"].tolist() == [-1.0] * 8
