"""Service hardening through real HTTP: bad input is a 422 naming the field, every size a request controls is
bounded before allocation, a batch is validated at submission, exports cannot attack their reader, and an
unauthenticated client sees only what it should (issue 12)."""

from __future__ import annotations

import csv
import io
import json
import os
import time
from pathlib import Path

import httpx
import pytest

from judges.testing import FakeOpenAIServer
from protocols import load_protocol
from tests.service.clean import assert_clean_error
from tests.service.conftest import LIMITS
from tests.service.harness import Api, Service, fake_judge, make_items, session_pids

pytestmark = pytest.mark.service


# ---------------------------------------------------------------- class 2: bad input answered 422, not 500


@pytest.fixture(scope="module")
def rated_batch(service: Service, api_keys: dict[str, str]) -> str:
    api = Api(service.url, api_keys["alice"])
    r = api.submit(make_items("hardening-rated", 2, 2), name="rated")
    assert r.status_code == 202, r.text
    batch_id = r.json()["batch_id"]
    assert api.wait(batch_id)[0]["status"] == "completed"
    api.close()
    return batch_id


def _upload(api: Api, batch_id: str, content: str, fmt: str = "csv") -> httpx.Response:
    return api.http.post("/v1/ratings", json={"batch_id": batch_id, "format": fmt, "content": content})


def test_duplicate_item_ids_are_a_422_naming_items(alice: Api) -> None:
    items = make_items("dup-items", 2, 1)
    items[1]["id"] = items[0]["id"]
    body = assert_clean_error(alice.submit(items), 422, "items")
    assert "unique" in body["error"]
    assert_clean_error(alice.http.post("/v1/estimate", json={"council": "fake2", "items": items}), 422, "items")


@pytest.mark.parametrize(("fmt", "content", "needle"), [
    ("csv", 'target,rater,attribute,score\n"it-0:c0,ann,empathy,3\n', "CSV"),          # unterminated quote
    ("csv", "target,rater,attribute,score\nit-0:c0,ann,empathy,3,extra\n", "CSV"),     # a row with an extra field
    ("csv", "", None),
    ("jsonl", '{"target": "it-0:c0", "rater": "ann", "attribute": "empathy", "score": 3}\n{not json\n', "line 2"),
    ("jsonl", '[1, 2, 3]\n', "line 1"),
    ("jsonl", '{"target": {"nested": 1}, "rater": "ann", "attribute": "empathy", "score": 3}\n', "line 1"),
    ("csv", "target,rater,attribute,score\n" + "it-0:c0,ann,empathy,3\n" * 2, "duplicate"),
])
def test_malformed_ratings_files_are_a_422_naming_the_content(alice: Api, rated_batch: str, fmt: str, content: str,
                                                             needle: str | None) -> None:
    r = _upload(alice, rated_batch, content, fmt)
    body = assert_clean_error(r, 422)
    if content:
        assert body["field"] == "content", body
    if needle:
        assert needle in body["error"], body


def test_duplicate_rating_rows_name_the_rows(alice: Api, rated_batch: str) -> None:
    content = "target,rater,attribute,score\nit-0:c0,ann,empathy,3\nit-0:c1,ann,empathy,2\nit-0:c0,ann,empathy,4\n"
    body = assert_clean_error(_upload(alice, rated_batch, content), 422, "content")
    assert "it-0:c0" in body["error"] and "1, 3" in body["error"], body
    # the batch's agreement still works afterwards: nothing of the refused file was stored
    ok = _upload(alice, rated_batch, "target,rater,attribute,score\nit-0:c0,ann,empathy,3\nit-0:c1,ann,empathy,2\n")
    assert ok.status_code == 201, ok.text
    assert ok.json()["report"]["source"] == "<upload>" and "/tmp" not in ok.text  # not the server's temp path


def test_bad_bootstrap_and_seeds_are_422(alice: Api, rated_batch: str) -> None:
    for bootstrap in ({"n_boot": 10**9}, {"n_boot": 1}, {"n_boot": 100, "colour": 1}, {"seed": -1}):
        r = alice.http.post("/v1/agreement", json={"batch_id": rated_batch, "bootstrap": bootstrap})
        assert_clean_error(r, 422)
    assert_clean_error(alice.http.post("/v1/calibrations", json={"batch_id": rated_batch, "seed": -5}), 422)
    assert_clean_error(alice.http.get("/v1/views/agreement", params={"batch_id": rated_batch, "seed": -1}), 422)


# ---------------------------------------------------------------- class 3: limits before allocation


@pytest.mark.parametrize("maximum", [10**9, 10**7, 1e9, "1000000000"])
def test_a_huge_scale_is_refused_at_once_with_a_small_body(alice: Api, maximum: object) -> None:
    document = load_protocol("epitome").model_dump(mode="json")
    document.update(id="huge-scale", scale={"min": 0, "max": maximum})
    started = time.monotonic()
    r = alice.http.post("/v1/protocols", json=document)
    assert time.monotonic() - started < 5
    assert_clean_error(r, 422, "scale")
    assert len(r.content) < 2000
    assert alice.http.get("/healthz").status_code == 200


def test_protocol_counts_and_texts_are_bounded(alice: Api) -> None:
    document = load_protocol("epitome").model_dump(mode="json")
    first = document["attributes"][0]
    small = {**first, "definition": "d", "anchors": {k: "a" for k in first["anchors"]}}
    many = [{**small, "id": f"a{i}"} for i in range(70)]
    assert_clean_error(alice.http.post("/v1/protocols", json={**document, "id": "many", "attributes": many}),
                       422, "attributes")
    long_text = [{**document["attributes"][0], "definition": "x" * 30_000}]
    assert_clean_error(alice.http.post("/v1/protocols", json={**document, "id": "long", "attributes": long_text}),
                       422, "attributes.0.definition")
    assert_clean_error(alice.http.post("/v1/protocols", json={**document, "id": "i" * 300}), 422, "id")


def test_batch_sizes_are_bounded(alice: Api, fake_ok: FakeOpenAIServer) -> None:
    judges = [fake_judge(f"j{i}", "openai/j", fake_ok.base_url) for i in range(LIMITS["max_judges"] + 1)]
    assert_clean_error(alice.submit(make_items("sizes", 1, 1), council={"id": "big", "judges": judges}), 422,
                       "council.judges")
    judge = fake_judge("j0", "openai/j", fake_ok.base_url, samples=20)
    assert_clean_error(alice.submit(make_items("sizes", 1, 1), council={"id": "samples", "judges": [judge]}), 422,
                       "council.judges.0.samples")
    items = make_items("sizes", 1, 1)
    items[0]["candidates"][0]["responder"] = "r" * 500
    assert_clean_error(alice.submit(items), 422, "items.0.candidates.0.responder")


def test_imports_are_bounded_in_bytes_and_rows(alice: Api, rated_batch: str) -> None:
    big = "target,rater,attribute,score\n" + "it-0:c0,ann,empathy,3," + "x" * (LIMITS["max_import_bytes"] + 10) + "\n"
    assert_clean_error(_upload(alice, rated_batch, big), 413, "content")
    lines = "".join(f"t{i},r,empathy,3\n" for i in range(LIMITS["max_import_rows"] + 5))
    rows = "target,rater,attribute,score\n" + lines
    assert_clean_error(_upload(alice, rated_batch, rows), 422, "content")


def test_reports_are_bounded_in_raters(alice: Api) -> None:
    content = "target,rater,attribute,score\n" + "".join(
        f"t{t},r{r},empathy,{1 + (t + r) % 5}\n" for t in range(3) for r in range(LIMITS["max_raters"] + 1))
    r = alice.http.post("/v1/ratings", json={"dataset": "many-raters", "format": "csv", "content": content,
                                             "protocol": "mentalalign-7"})
    assert r.status_code == 201, r.text
    assert_clean_error(alice.http.post("/v1/agreement", json={"dataset": "many-raters", "pairwise": True}), 422,
                       "dataset")
    assert_clean_error(alice.http.get("/v1/views/agreement", params={"dataset": "many-raters"}), 422, "dataset")


def test_results_are_paged_within_the_limit(alice: Api, rated_batch: str) -> None:
    assert_clean_error(alice.http.get(f"/v1/batches/{rated_batch}/results", params={"limit": 10**6}), 422, "limit")
    page = alice.http.get(f"/v1/batches/{rated_batch}/results", params={"limit": 5})
    assert page.status_code == 200 and len(page.json()["scores"]) == 5 and page.json()["next_offset"] == 5
    assert page.headers["x-next-offset"] == "5"
    rest = alice.http.get(f"/v1/batches/{rated_batch}/results", params={"offset": 5}).json()
    assert rest["next_offset"] is None and len(rest["scores"]) > 0


# ---------------------------------------------------------------- class 6: validation at submission


def test_unknown_calibration_is_refused_at_submission(alice: Api, fake_ok: FakeOpenAIServer) -> None:
    council = {"id": "calibrated", "calibration_id": "cal_doesnotexist",
               "judges": [fake_judge("cal-j", "openai/cal-j", fake_ok.base_url)]}
    before = fake_ok.count
    assert_clean_error(alice.submit(make_items("calibration", 1, 1), council=council), 422, "council.calibration_id")
    assert_clean_error(alice.http.post("/v1/estimate", json={"council": council, "items": make_items("cal", 1, 1)}),
                       422, "council.calibration_id")
    assert fake_ok.count == before


@pytest.mark.parametrize("budget", ['{"max_usd": 1e999}', '{"max_usd": Infinity}', '{"max_usd": NaN}',
                                    '{"max_tokens": 1e999}', '{"max_tokens": 1e300}'])
def test_budgets_must_be_finite_numbers(alice: Api, budget: str) -> None:
    body = json.dumps({"council": "fake2", "items": make_items("budget", 1, 1)})[:-1] + f', "budget": {budget}}}'
    r = alice.http.post("/v1/batches", content=body.encode(), headers={"Content-Type": "application/json"})
    assert_clean_error(r, 422)
    assert r.json()["field"].startswith("budget"), r.json()


# ---------------------------------------------------------------- class 7: CSV exports


def test_csv_exports_neutralise_formulas(alice: Api) -> None:
    items = make_items("formula", 1, 2)
    items[0]["id"] = "=HYPERLINK(\"http://x\")"
    items[0]["candidates"][0]["responder"] = "+cmd|' /C calc'!A0"
    items[0]["candidates"][1]["responder"] = "@SUM(1+1)"
    items[0]["candidates"][1]["id"] = "-2+3"
    r = alice.submit(items, name="formula")
    assert r.status_code == 202, r.text
    batch_id = r.json()["batch_id"]
    assert alice.wait(batch_id)[0]["status"] == "completed"
    text = alice.http.get(f"/v1/batches/{batch_id}/results", params={"format": "csv"}).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "@", "\t", "\r")), value
            assert not (value.startswith("-") and not _is_number(value)), value
    assert {row["item_id"] for row in rows} == {"'=HYPERLINK(\"http://x\")"}
    assert "'@SUM(1+1)" in {row["responder"] for row in rows}
    # JSON keeps the data as given
    scores = alice.http.get(f"/v1/batches/{batch_id}/results").json()["scores"]
    assert {s["item_id"] for s in scores} == {"=HYPERLINK(\"http://x\")"}


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------- class 8: what is public


def test_health_reveals_only_the_status(anonymous: Api, service: Service) -> None:
    r = anonymous.http.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert str(service.config.db) not in r.text and "duckdb" not in r.text


def test_metrics_do_not_name_inline_judges(alice: Api, anonymous: Api, fake_ok: FakeOpenAIServer) -> None:
    secret = "secret-judge-of-alice"
    judge = fake_judge(secret, "openai/private", fake_ok.base_url)
    council = {"id": "private", "aggregation": "mean", "judges": [judge]}
    r = alice.submit(make_items("metrics", 1, 1), council=council)
    assert r.status_code == 202, r.text
    assert alice.wait(r.json()["batch_id"])[0]["status"] == "completed"
    deadline = time.monotonic() + 40
    text = ""
    while time.monotonic() < deadline:  # Ray exports counters every few seconds
        text = anonymous.http.get("/metrics").text
        if 'judge="inline"' in text:
            break
        time.sleep(2)
    assert 'judge="inline"' in text
    assert secret not in text
    assert 'judge="fake-a"' in text  # the operator's named judges keep their labels


# ---------------------------------------------------------------- class 5: egress, through HTTP


@pytest.mark.parametrize("judge", [
    {"model": "ollama_chat/x"}, {"model": "ollama/x"}, {"model": "openai/x"}, {"model": "hosted_vllm/x"},
    {"model": "lm_studio/x"}, {"model": "gpt-4o-mini"}, {"model": "openai/x", "api_key_env": "OPENAI_API_KEY"},
])
def test_inline_judges_reaching_a_default_endpoint_are_refused(alice: Api, judge: dict[str, str]) -> None:
    council = {"id": "egress", "judges": [{"id": "e0", **judge}]}
    field = "council.judges.0." + ("api_key_env" if "api_key_env" in judge else "model")
    assert_clean_error(alice.submit(make_items("egress", 1, 1), council=council), 422, field)
    assert_clean_error(alice.http.post("/v1/estimate", json={"council": council, "items": make_items("eg", 1, 1)}),
                       422, field)


# ---------------------------------------------------------------- class 8: Ray's ports with --host 127.0.0.1


def _listening_sockets(sid: int) -> list[tuple[str, int, str]]:
    """(address, port, process name) of every TCP socket listening in the service's session."""
    owners: dict[str, str] = {}
    for pid in session_pids(sid):
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    owners[link[8:-1]] = name
        except OSError:
            continue
    found = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in owners:  # 0A: LISTEN
                address, port = local.split(":")
                found.append(("any" if set(address) == {"0"} else address[:width], int(port, 16), owners[inode]))
    return found


def test_with_host_127_0_0_1_http_listens_on_loopback_only_and_no_dashboard(service: Service) -> None:
    """Serve's HTTP port is bound to loopback and Ray's dashboard is not started.

    Ray's own ports (GCS, raylet, agents, workers) listen on every interface whatever the node address —
    Ray 2.60 refuses a loopback node address — and are closed by Ray's token auth (on by default) and the
    operator's firewall (README).
    """
    sockets = _listening_sockets(service.sid)
    port = int(service.url.rsplit(":", 1)[1])
    http = [address for address, p, _ in sockets if p == port]
    assert http and set(http) == {"0100007F"}, (port, sockets)  # 127.0.0.1 as /proc/net/tcp writes it
    assert not [s for s in sockets if s[1] == 8265 or "dashboard" == s[2]], sockets
