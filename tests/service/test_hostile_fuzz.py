"""Property-based fuzzing beyond the OpenAPI schema: hostile batches, protocols and ratings files.

Hypothesis builds documents a schema-driven fuzzer does not reach — duplicate ids, unicode edge cases (lone
surrogates, NUL, bidi overrides, combining marks, astral emoji), huge and non-finite numbers, scale spans in
the billions, malformed CSV quoting and ragged rows, JSONL lines that are not objects — and sends them to the
real running service. Every answer must be below 500, and every error body clean (no path, pid, IP, actor
id or traceback). ``COUNCIL_HOSTILE_EXAMPLES`` (default 12) examples per strategy, derandomized.
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from protocols import load_protocol
from tests.service.clean import assert_clean_error
from tests.service.harness import Api, Service, make_items

pytestmark = [pytest.mark.service, pytest.mark.service_fuzz]

EXAMPLES = int(os.environ.get("COUNCIL_HOSTILE_EXAMPLES", "12"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))

EDGE_TEXT = ["\ud800", "\udfff", "a\x00b", "\u202eevil", "e\u0301\u0301\u0301", "\U0001F600" * 3, "\ufeff", " ",
             "=cmd|' /C calc'!A0", "../../etc/passwd", "", "x" * 5000, "\r\n", "\"", "'", "\\", "%s%n"]
text = st.one_of(st.sampled_from(EDGE_TEXT), st.text(max_size=40))
ids = st.one_of(st.sampled_from(["a", "a", "b"]), text)
numbers = st.one_of(st.integers(min_value=-10**30, max_value=10**30),
                    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0, -1, 2**63, 1e308]))


def _send(api: Api, path: str, body: Any) -> httpx.Response:
    """POST a body as JSON text (NaN/Infinity and lone surrogates included, as a hostile client can)."""
    content = json.dumps(body, allow_nan=True).encode()
    return api.http.post(path, content=content, headers={"Content-Type": "application/json"})


def _check(r: httpx.Response) -> None:
    assert r.status_code < 500, (r.status_code, r.text[:1000])
    if r.status_code >= 400:
        assert_clean_error(r)


candidates = st.lists(st.fixed_dictionaries({"id": ids, "text": text},
                                            optional={"responder": text}), min_size=0, max_size=3)
items = st.lists(st.fixed_dictionaries({"id": ids, "context": st.one_of(text, st.lists(
    st.fixed_dictionaries({"role": st.sampled_from(["seeker", "supporter", "x"]), "text": text}), max_size=3)),
    "candidates": candidates}, optional={"meta": st.dictionaries(text, text, max_size=2)}), min_size=0, max_size=4)
budgets = st.one_of(st.none(), st.fixed_dictionaries({}, optional={"max_tokens": numbers, "max_usd": numbers}))


@pytest.mark.parametrize("dry_run", [True, False])
def test_hostile_batches(service: Service, alice: Api, dry_run: bool) -> None:
    @given(items=items, budget=budgets, name=text, council=st.sampled_from(["fake2", "nope", "local"]))
    @SETTINGS
    def run(items: list[Any], budget: Any, name: str, council: str) -> None:
        body = {"council": council, "items": items, "name": name, "dry_run": dry_run}
        if budget is not None:
            body["budget"] = budget
        _check(_send(alice, "/v1/batches", body))

    run()


def test_hostile_protocols(service: Service, alice: Api) -> None:
    base = load_protocol("epitome").model_dump(mode="json")

    @given(low=numbers, high=numbers, pid=ids, n_attributes=st.integers(0, 80),
           anchor_keys=st.lists(numbers, max_size=6), composite=st.lists(ids, max_size=3))
    @SETTINGS
    def run(low: Any, high: Any, pid: str, n_attributes: int, anchor_keys: list[Any], composite: list[str]) -> None:
        anchors = {str(k): "x" for k in anchor_keys} or base["attributes"][0]["anchors"]
        attribute = {**base["attributes"][0], "anchors": anchors}
        document = {**base, "id": pid, "scale": {"min": low, "max": high},
                    "attributes": [{**attribute, "id": f"a{i}"} for i in range(n_attributes)],
                    "composites": {"c": composite}}
        _check(_send(alice, "/v1/protocols", document))

    run()


def _json(value: Any) -> str:
    return json.dumps(value, allow_nan=True)


def _csv_row(cells: list[str]) -> str:
    return ",".join(cells)


@pytest.fixture(scope="module")
def fuzz_batch(service: Service, api_keys: dict[str, str]) -> str:
    api = Api(service.url, api_keys["alice"])
    r = api.submit(make_items("hostile-ratings", 2, 2), name="hostile ratings")
    assert r.status_code == 202, r.text
    batch_id = r.json()["batch_id"]
    assert api.wait(batch_id)[0]["status"] == "completed"
    api.close()
    return batch_id


def test_hostile_ratings_files(alice: Api, fuzz_batch: str) -> None:
    cell = st.one_of(st.sampled_from(["it-0:c0", "it-1:c1", "ann", "empathy", "3", "9e999", "nan", "-1", '"', '"a',
                                      "a,b", "\n", ""]), text)
    csv_text = st.lists(st.lists(cell, min_size=1, max_size=6).map(_csv_row), max_size=8).map(
        lambda rows: "target,rater,attribute,score\n" + "\n".join(rows))
    json_line = st.one_of(st.sampled_from(["{", "[]", "null", "3", '"s"', '{"target": {"a": 1}}', "\ud800"]),
                          st.dictionaries(st.sampled_from(["target", "rater", "attribute", "score", "x"]),
                                          st.one_of(cell, numbers), max_size=5).map(_json))
    jsonl_text = st.lists(json_line, max_size=6).map("\n".join)

    @given(content=st.one_of(csv_text.map(lambda c: ("csv", c)), jsonl_text.map(lambda c: ("jsonl", c))),
           target=st.sampled_from(["batch", "dataset"]), layout=st.sampled_from(["long", "wide"]),
           columns=st.one_of(st.none(), st.dictionaries(text, text, max_size=3)))
    @SETTINGS
    def run(content: tuple[str, str], target: str, layout: str, columns: Any) -> None:
        fmt, data = content
        body: dict[str, Any] = {"format": fmt, "content": data or "x", "layout": layout}
        body.update({"batch_id": fuzz_batch} if target == "batch" else {"dataset": "hostile", "rater": "ann"})
        if columns is not None:
            body["columns"] = columns
        _check(_send(alice, "/v1/ratings", body))

    run()
