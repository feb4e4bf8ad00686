"""Retries, provider failures and the cache, through real litellm against the fake server.

Back-off is zeroed (conftest), so every wait measured here comes from the provider's Retry-After.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from judges.agents.tom import ToMInput, tom_agent, tom_reply_model
from judges.client.records import CallTags, MemoryLedger
from judges.errors import ExecutionError
from judges.structured import generate_structured
from judges.testing import FakeOpenAIServer
from judges.types import Context
from protocols import load_protocol

TAGS = CallTags(judge_id="judge-a", agent="tom", item_id="ctx-1")
CONVERSATION = "My exam results came out and I failed two subjects, my parents will be furious with me."
MESSAGES = [
    {"role": "system", "content": "You infer the seeker's mind."},
    {"role": "user", "content": f"<conversation>\n{CONVERSATION}\n</conversation>"},
]
ToMReply = tom_reply_model(1)
SCHEMA = ToMReply.model_json_schema()

MakeServer = Callable[..., FakeOpenAIServer]


async def _call(client: Any) -> Any:
    return await client.call(MESSAGES, schema_name="ToMReply", schema=SCHEMA, tags=TAGS)


async def test_429_waits_for_retry_after_then_succeeds(
    make_fake_server: MakeServer, judge_spec: Any, model_client: Any
) -> None:
    srv = make_fake_server(script=["429", "ok"], retry_after=0.6)
    ledger = MemoryLedger()
    reply = await _call(model_client(judge_spec(srv), ledger))
    ToMReply.model_validate_json(reply.text)
    first, second = srv.requests
    assert (first.status, second.status) == (429, 200)
    assert second.received_at - first.responded_at >= 0.6  # type: ignore[operator]
    [record] = ledger.records
    assert record.attempts == 2 and record.error is None and record.latency_ms >= 600


async def test_429_without_retry_after_does_not_wait(
    make_fake_server: MakeServer, judge_spec: Any, model_client: Any
) -> None:
    srv = make_fake_server(script=["429", "ok"], retry_after=None)
    await _call(model_client(judge_spec(srv)))
    first, second = srv.requests
    assert second.received_at - first.responded_at < 0.6  # type: ignore[operator]  # the wait above was the header's


async def test_retry_after_is_capped_by_the_policy(
    make_fake_server: MakeServer, judge_spec: Any, model_client: Any
) -> None:
    from judges.client.model import RetryPolicy

    srv = make_fake_server(script=["429", "ok"], retry_after=30)
    await _call(model_client(judge_spec(srv), retry=RetryPolicy(multiplier=0, max_wait=0.2)))
    first, second = srv.requests
    assert 0.2 <= second.received_at - first.responded_at < 5  # type: ignore[operator]


@pytest.mark.parametrize("script", [["500", "ok"], ["503", "ok"], ["500", "503", "ok"], ["timeout", "ok"]])
async def test_transient_failures_are_retried_until_success(
    make_fake_server: MakeServer, judge_spec: Any, model_client: Any, script: list[str]
) -> None:
    srv = make_fake_server(script=script, hang_s=10)
    ledger = MemoryLedger()
    reply = await _call(model_client(judge_spec(srv, timeout_s=0.5), ledger))
    ToMReply.model_validate_json(reply.text)
    assert srv.count == len(script)
    [record] = ledger.records
    assert record.attempts == len(script) and record.error is None and not record.cache_hit
    if "timeout" in script:
        assert record.latency_ms >= 500


@pytest.mark.parametrize(
    "outcome,kind",
    [("500", "server_error"), ("503", "server_error"), ("429", "rate_limit"), ("timeout", "timeout")],
)
async def test_after_max_attempts_the_failed_call_is_recorded_and_raised(
    make_fake_server: MakeServer, judge_spec: Any, model_client: Any, outcome: str, kind: str
) -> None:
    srv = make_fake_server(script=[outcome] * 3, hang_s=10)
    ledger = MemoryLedger()
    with pytest.raises(ExecutionError) as caught:
        await _call(model_client(judge_spec(srv, timeout_s=0.3, max_attempts=3), ledger))
    assert caught.value.kind == kind and caught.value.__cause__ is not None
    assert srv.count == 3
    [record] = ledger.records
    assert (
        record.response_text is None and record.error and record.error_kind == kind and record.attempts == 3
    )


async def test_bad_request_is_not_retried(
    make_fake_server: MakeServer, judge_spec: Any, model_client: Any
) -> None:
    srv = make_fake_server(script=["400", "ok"])
    ledger = MemoryLedger()
    with pytest.raises(ExecutionError) as caught:
        await _call(model_client(judge_spec(srv), ledger))
    assert caught.value.kind == "bad_request" and not caught.value.retryable
    assert srv.count == 1 and ledger.records[0].attempts == 1


async def test_provider_error_becomes_an_abstention_with_its_reason(
    make_fake_server: MakeServer, judge_spec: Any, model_client: Any
) -> None:
    srv = make_fake_server(script=["500", "503", "500"])
    reply = await generate_structured(model_client(judge_spec(srv)), MESSAGES, ToMReply, tags=TAGS)
    assert reply.value is None and reply.failure == "provider_error"
    assert reply.detail.startswith("server_error:") and "500" in reply.detail
    context = Context(id="ctx-1", turns=[{"role": "seeker", "text": CONVERSATION}])  # type: ignore[list-item]
    srv.enqueue(["429", "429", "429"])
    outcome = await tom_agent()(ToMInput(context=context, protocol=load_protocol("epitome"), tags=TAGS),
                                model_client(judge_spec(srv)))
    assert outcome.value is None and outcome.abstention == "provider_error" and "rate_limit" in outcome.detail


async def test_identical_call_is_served_from_the_cache(
    make_fake_server: MakeServer, judge_spec: Any, model_client: Any
) -> None:
    srv = make_fake_server()
    ledger = MemoryLedger()
    spec = judge_spec(srv)
    first = await _call(model_client(spec, ledger))
    second = await _call(model_client(spec, ledger))  # a fresh client: the cache lives in the ledger
    assert srv.count == 1
    assert second.cache_hit and second.text == first.text and second.call_id != first.call_id
    assert (second.prompt_tokens, second.completion_tokens, second.cost_usd) == (0, 0, 0.0)
    made, hit = ledger.records
    assert not made.cache_hit and made.attempts == 1
    assert hit.cache_hit and hit.cached_from == made.call_id and hit.attempts == 0 and hit.prompt_tokens == 0


async def test_failed_calls_are_not_cached(
    make_fake_server: MakeServer, judge_spec: Any, model_client: Any
) -> None:
    srv = make_fake_server(script=["500", "500", "500"])
    ledger = MemoryLedger()
    client = model_client(judge_spec(srv), ledger)
    with pytest.raises(ExecutionError):
        await _call(client)
    reply = await _call(client)
    assert srv.count == 4 and not reply.cache_hit
    assert [r.error_kind for r in ledger.records] == ["server_error", None]


async def test_usage_is_recorded_from_the_provider(
    make_fake_server: MakeServer, judge_spec: Any, model_client: Any
) -> None:
    srv = make_fake_server()
    ledger = MemoryLedger()
    reply = await _call(model_client(judge_spec(srv), ledger))
    chars = sum(len(m["content"]) for m in MESSAGES)
    assert reply.prompt_tokens == chars // 4 and reply.completion_tokens == len(reply.text) // 4
    assert ledger.records[0].prompt_tokens == chars // 4
    sent = srv.requests[0].body
    assert sent["messages"] == MESSAGES and sent["temperature"] == 0.0 and sent["seed"] == 0
    assert sent["response_format"]["json_schema"]["schema"] == json.loads(json.dumps(SCHEMA))


async def test_retry_policy_backs_off_exponentially(
    make_fake_server: MakeServer, judge_spec: Any, model_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tenacity

    from judges.client import model
    from judges.client.model import RetryPolicy

    monkeypatch.setattr(model, "wait_exponential", tenacity.wait_exponential)  # undo the suite-wide zeroing
    srv = make_fake_server(script=["500", "503", "ok"])
    await _call(model_client(judge_spec(srv), retry=RetryPolicy(multiplier=0.2, max_wait=10)))
    a, b, c = srv.requests
    assert 0.2 <= b.received_at - a.responded_at < 1.5  # type: ignore[operator]
    assert 0.4 <= c.received_at - b.responded_at < 1.5  # type: ignore[operator]


async def test_back_off_is_zeroed_in_tests_even_with_the_default_policy(
    make_fake_server: MakeServer, judge_spec: Any
) -> None:
    from judges.client.limits import LocalLimiter
    from judges.client.model import ModelClient

    srv = make_fake_server(script=["500", "ok"])
    await _call(ModelClient(judge_spec(srv), MemoryLedger(), LocalLimiter(1)))  # default RetryPolicy: 1 s
    a, b = srv.requests
    assert b.received_at - a.responded_at < 0.9  # type: ignore[operator]
