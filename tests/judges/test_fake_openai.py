"""The fake OpenAI server itself, over plain HTTP: outcomes, determinism, answers, stats, latency, CLI."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from judges.agents._common import format_hint
from judges.agents.tom import tom_reply_model
from judges.client.adapter import response_format_for
from judges.structured import extract_json, parse_reply
from judges.testing import FakeOpenAIServer

CONVERSATION = "My sister stopped talking to me after an argument and I do not know how to fix it."
ToMReply = tom_reply_model(3)
TOM_SCHEMA = ToMReply.model_json_schema()

MakeServer = Callable[..., FakeOpenAIServer]


def _body(
    text: str = CONVERSATION, response_format: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "fake-judge-a",
        "messages": [
            {"role": "system", "content": "You are the Theory-of-Mind stage."},
            {"role": "user", "content": f"Read this.\n\n<conversation>\n{text}\n</conversation>"},
        ],
        **extra,
    }
    if response_format is not None:
        body["response_format"] = response_format
    return body


_HTTP = httpx.Client()  # one client: a fresh one per request costs ~40 ms of TLS set-up


def _post(srv: FakeOpenAIServer, body: dict[str, Any], timeout: float = 5.0) -> httpx.Response:
    return _HTTP.post(f"{srv.base_url}/chat/completions", json=body, timeout=timeout)


def _content(response: httpx.Response) -> str:
    return response.json()["choices"][0]["message"]["content"]


def test_models_endpoint_and_base_url(fake_server: FakeOpenAIServer) -> None:
    assert fake_server.base_url.startswith("http://127.0.0.1:") and fake_server.base_url.endswith("/v1")
    response = _HTTP.get(f"{fake_server.base_url}/models")
    assert response.status_code == 200
    assert response.json()["object"] == "list" and response.json()["data"][0]["object"] == "model"
    assert fake_server.count == 0  # only chat completions are recorded as requests
    assert fake_server.stats()["other"] == {"models": 1}


@pytest.mark.parametrize("mode", ["json_schema", "llama_cpp"])
def test_ok_answers_valid_json_for_the_response_format_schema(
    fake_server: FakeOpenAIServer, mode: str
) -> None:
    response = _post(fake_server, _body(response_format=response_format_for(mode, "ToMReply", TOM_SCHEMA)))
    assert response.status_code == 200
    reply = ToMReply.model_validate_json(_content(response))
    assert reply.hypotheses and all(1 <= h.evidence <= 3 for h in reply.hypotheses)  # a span number
    usage = response.json()["usage"]
    prompt_chars = sum(len(m["content"]) for m in _body()["messages"])
    assert usage["prompt_tokens"] == prompt_chars // 4
    assert usage["completion_tokens"] == len(_content(response)) // 4


def test_schema_in_the_prompt_is_found_when_there_is_no_response_format(
    fake_server: FakeOpenAIServer,
) -> None:
    hint = "\nAnswer with one JSON object that follows this JSON schema, and nothing else:\n" + json.dumps(
        TOM_SCHEMA
    )
    body = _body()
    body["messages"][0]["content"] += hint
    ToMReply.model_validate_json(_content(_post(fake_server, body)))
    assert _content(_post(fake_server, _body(text="no schema anywhere here"))) == "{}"


def test_scripted_outcomes_in_order(make_fake_server: MakeServer) -> None:
    script = ["429", "500", "503", "400", "malformed_text", "malformed_schema", "empty", "fenced", "ok"]
    srv = make_fake_server(script=script, retry_after=0.25)
    fmt = response_format_for("json_schema", "ToMReply", TOM_SCHEMA)
    responses = [_post(srv, _body(response_format=fmt, n=i)) for i in range(len(script))]
    assert [r.status_code for r in responses] == [429, 500, 503, 400, 200, 200, 200, 200, 200]
    assert responses[0].headers["retry-after"] == "0.25"
    assert responses[0].json()["error"]["type"] == "rate_limit_exceeded"
    with pytest.raises(json.JSONDecodeError):
        json.loads(_content(responses[4]))
    assert parse_reply(_content(responses[5]), ToMReply)[0] is None  # JSON, but not the schema
    assert _content(responses[6]) == ""
    fenced = _content(responses[7])
    assert fenced.startswith("Here is") and "```json" in fenced
    ToMReply.model_validate_json(extract_json(fenced))
    ToMReply.model_validate_json(_content(responses[8]))
    assert [r.outcome for r in srv.requests] == script
    assert [r.status for r in srv.requests] == [r.status_code for r in responses]


def test_timeout_outcome_hangs_past_the_client_timeout(make_fake_server: MakeServer) -> None:
    srv = make_fake_server(script=["timeout"], hang_s=30)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        _post(srv, _body(), timeout=0.3)
    assert time.monotonic() - started >= 0.3
    assert srv.requests[0].outcome == "timeout" and srv.requests[0].responded_at is None


def test_stop_releases_hanging_requests_promptly(make_fake_server: MakeServer) -> None:
    srv = make_fake_server(script=["timeout"], hang_s=30)
    statuses: list[int] = []
    waiter = threading.Thread(target=lambda: statuses.append(_post(srv, _body(), timeout=20).status_code))
    waiter.start()
    while srv.count == 0:
        time.sleep(0.01)
    started = time.monotonic()
    srv.stop()
    waiter.join(timeout=10)
    assert time.monotonic() - started < 5
    assert statuses == [504]


def _outcomes(srv: FakeOpenAIServer, bodies: list[dict[str, Any]]) -> list[str]:
    for body in bodies:
        _post(srv, body)
    return [r.outcome for r in srv.requests]


def test_random_failures_are_seeded_and_independent_of_arrival_order(make_fake_server: MakeServer) -> None:
    kinds = ["429", "500", "malformed", "empty"]
    bodies = [_body(text=f"{CONVERSATION} ({i})") for i in range(120)]
    a = _outcomes(make_fake_server(failure_rate=0.3, failure_kinds=kinds, seed=7), bodies)
    b = _outcomes(make_fake_server(failure_rate=0.3, failure_kinds=kinds, seed=7), bodies[::-1])
    c = _outcomes(make_fake_server(failure_rate=0.3, failure_kinds=kinds, seed=8), bodies)
    assert a == b[::-1]  # same body, same outcome, whatever the order
    assert a != c
    failures = [o for o in a if o != "ok"]
    assert 0.18 <= len(failures) / len(a) <= 0.42
    assert set(failures) <= {"429", "500", "malformed_text", "malformed_schema", "empty"}
    assert len(set(failures)) >= 4


def test_a_repeated_body_draws_again_on_each_attempt(make_fake_server: MakeServer) -> None:
    srv = make_fake_server(failure_rate=0.5, failure_kinds=["500"], seed=1)
    statuses = [_post(srv, _body()).status_code for _ in range(20)]
    assert 200 in statuses and 500 in statuses


def test_answers_are_deterministic_per_body_and_vary_across_bodies(make_fake_server: MakeServer) -> None:
    fmt = response_format_for("json_schema", "ToMReply", TOM_SCHEMA)
    srv = make_fake_server(seed=3)
    first = [_content(_post(srv, _body(text=f"{CONVERSATION} {i}", response_format=fmt))) for i in range(8)]
    again = [_content(_post(srv, _body(text=f"{CONVERSATION} {i}", response_format=fmt))) for i in range(8)]
    assert first == again
    assert len({json.loads(a)["support_preference"] for a in first}) >= 2
    fixed = make_fake_server(seed=3, choice="first")
    prefs = {
        json.loads(_content(_post(fixed, _body(text=f"x {i}", response_format=fmt))))["support_preference"]
        for i in range(5)
    }
    assert prefs == {"emotional"}


def test_responder_hook(make_fake_server: MakeServer) -> None:
    answers: list[Any] = [{"answer": 42}, "plain text", None]

    def responder(body: dict[str, Any]) -> Any:
        if not answers:
            raise RuntimeError("out of answers")
        return answers.pop(0)

    srv = make_fake_server(responder=responder, script=["ok", "ok", "ok", "ok", "500"])
    fmt = response_format_for("json_schema", "ToMReply", TOM_SCHEMA)
    assert json.loads(_content(_post(srv, _body()))) == {"answer": 42}
    assert _content(_post(srv, _body())) == "plain text"
    ToMReply.model_validate_json(
        _content(_post(srv, _body(response_format=fmt)))
    )  # None: the default generator
    broken = _post(srv, _body())
    assert broken.status_code == 500 and "out of answers" in broken.text
    assert srv.errors == ["RuntimeError: out of answers"]
    assert _post(srv, _body()).status_code == 500  # scripted failures bypass the responder
    assert srv.errors == ["RuntimeError: out of answers"]


def test_async_responder(make_fake_server: MakeServer) -> None:
    async def responder(body: dict[str, Any]) -> str:
        await asyncio.sleep(0)
        return body["model"]

    assert _content(_post(make_fake_server(responder=responder), _body())) == "fake-judge-a"


def test_stats_script_config_and_reset_over_http(make_fake_server: MakeServer) -> None:
    srv = make_fake_server()
    base = srv.base_url.removesuffix("/v1")
    assert _HTTP.post(f"{base}/_script", json={"outcomes": ["503", "429"]}).status_code == 200
    assert _HTTP.post(f"{base}/_script", json={"outcomes": ["nope"]}).status_code == 400
    statuses = [_post(srv, _body(n=i)).status_code for i in range(3)]
    assert statuses == [503, 429, 200]
    stats = _HTTP.get(f"{base}/_stats").json()
    assert stats["requests"] == 3
    assert stats["outcomes"] == {"503": 1, "429": 1, "ok": 1}
    assert stats["statuses"] == {"503": 1, "429": 1, "200": 1}
    assert stats["models"] == {"fake-judge-a": 3}
    assert (
        _HTTP.post(f"{base}/_config", json={"failure_rate": 1.0, "failure_kinds": ["500"]}).status_code == 200
    )
    assert _post(srv, _body(n=9)).status_code == 500
    assert _HTTP.post(f"{base}/_config", json={"no_such_field": 1}).status_code == 400
    assert _HTTP.post(f"{base}/_reset").status_code == 200
    assert srv.count == 0 and _HTTP.get(f"{base}/_stats").json()["requests"] == 0


def test_invalid_settings_are_rejected() -> None:
    with pytest.raises(ValueError):
        FakeOpenAIServer(failure_kinds=["418"])
    with pytest.raises(ValueError):
        FakeOpenAIServer(failure_rate=1.5)
    with pytest.raises(ValueError):
        FakeOpenAIServer(script=["teapot"])


async def test_fixed_latency_overlaps_hundreds_of_requests(make_fake_server: MakeServer) -> None:
    import aiohttp  # httpx's async client is itself too slow at 300 concurrent requests to measure the server

    srv = make_fake_server(latency_ms=300)

    async def one(session: aiohttp.ClientSession, i: int) -> int:
        async with session.post(f"{srv.base_url}/chat/completions", json=_body(n=i)) as response:
            await response.read()
            return response.status

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=400)) as session:
        started = time.monotonic()
        statuses = await asyncio.gather(*[one(session, i) for i in range(300)])
        elapsed = time.monotonic() - started
    assert statuses == [200] * 300
    assert elapsed >= 0.3
    assert elapsed < 10.0  # one at a time would take 90 s (generous: CI machines are shared)
    assert srv.stats()["max_in_flight"] >= 100
    assert all(r.responded_at - r.received_at >= 0.3 for r in srv.requests)  # type: ignore[operator]


def test_format_hint_schema_is_what_the_fake_finds(
    fake_server: FakeOpenAIServer, judge_spec: Callable[..., Any], model_client: Callable[..., Any]
) -> None:
    client = model_client(judge_spec(fake_server, structured_output="prompt"))
    body = _body()
    body["messages"][0]["content"] += format_hint(client, ToMReply)
    ToMReply.model_validate_json(_content(_post(fake_server, body)))


def test_cli_runs_the_server_as_a_separate_process() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "judges.testing.fake_openai",
            "--port",
            "0",
            "--script",
            "500,429",
            "--retry-after",
            "0.5",
            "--latency-ms",
            "10",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()  # type: ignore[union-attr]
        assert line.startswith("FAKE_OPENAI_URL=http://127.0.0.1:"), proc.stderr.read() if not line else line  # type: ignore[union-attr]
        base_url = line.split("=", 1)[1]
        statuses = [_HTTP.post(f"{base_url}/chat/completions", json=_body(n=i), timeout=5) for i in range(3)]
        assert [r.status_code for r in statuses] == [500, 429, 200]
        assert statuses[1].headers["retry-after"] == "0.5"
        stats = _HTTP.get(base_url.removesuffix("/v1") + "/_stats").json()
        assert stats["requests"] == 3 and stats["outcomes"] == {"500": 1, "429": 1, "ok": 1}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_outcome_hook_forces_outcomes_before_script_and_draws(make_fake_server: MakeServer) -> None:
    seen: list[int] = []

    def hook(body: dict[str, Any], nth: int) -> str | None:
        seen.append(nth)
        if "doomed" in body["messages"][-1]["content"]:
            return "503"
        return "teapot" if "broken" in body["messages"][-1]["content"] else None

    srv = make_fake_server(outcome_hook=hook, script=["429"], failure_rate=0.0)
    assert [_post(srv, _body(text="doomed")).status_code for _ in range(3)] == [503, 503, 503]
    assert _post(srv, _body(text="fine")).status_code == 429  # the script still applies when the hook passes
    assert _post(srv, _body(text="fine")).status_code == 200
    assert seen == [0, 1, 2, 0, 1]  # nth counts earlier arrivals of the same body
    assert _post(srv, _body(text="broken")).status_code == 500  # an unknown outcome is reported, answered 500
    assert srv.errors == ["outcome_hook returned unknown outcome 'teapot'; answered 500"]
