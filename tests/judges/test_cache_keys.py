"""Cache keys hold exactly what changes a reply: model, messages, sampling params, schema, sample index.

Timeouts, retry counts, limits and the endpoint do not change a reply, so they must not change the key
(otherwise raising a timeout would silently re-pay a whole batch).
"""

from __future__ import annotations

from typing import Any

import pytest

from judges.client.adapter import RawReply
from judges.client.limits import LocalLimiter
from judges.client.model import ModelClient, RetryPolicy, cache_key
from judges.client.records import CallTags, MemoryLedger
from judges.types import JudgeSpec, ModelParams

MODEL = "openai/fake-judge-a"
MESSAGES = [
    {"role": "system", "content": "Score the reply."},
    {"role": "user", "content": "<candidate>hi</candidate>"},
]
PARAMS = ModelParams(temperature=0.0, max_tokens=256, seed=0, top_p=None)
SCHEMA = {"type": "object", "properties": {"score": {"enum": [1, 2, 3]}}, "required": ["score"]}
BASE = (MODEL, MESSAGES, PARAMS, SCHEMA, 0)


def test_same_inputs_give_the_same_key() -> None:
    key = cache_key(*BASE)
    assert key == cache_key(
        MODEL,
        [dict(m) for m in MESSAGES],
        ModelParams(**PARAMS.model_dump()),
        {"required": ["score"], "properties": {"score": {"enum": [1, 2, 3]}}, "type": "object"},
        0,
    )  # equal values, fresh objects, other key order
    assert len(key) == 64 and int(key, 16) >= 0


CHANGES: dict[str, tuple[Any, ...]] = {
    "model": ("openai/fake-judge-b", MESSAGES, PARAMS, SCHEMA, 0),
    "message text": (
        MODEL,
        [MESSAGES[0], {"role": "user", "content": "<candidate>hi!</candidate>"}],
        PARAMS,
        SCHEMA,
        0,
    ),
    "message role": (
        MODEL,
        [{"role": "user", "content": MESSAGES[0]["content"]}, MESSAGES[1]],
        PARAMS,
        SCHEMA,
        0,
    ),
    "extra message (repair)": (MODEL, [*MESSAGES, {"role": "assistant", "content": "{}"}], PARAMS, SCHEMA, 0),
    "temperature": (MODEL, MESSAGES, PARAMS.model_copy(update={"temperature": 0.7}), SCHEMA, 0),
    "max_tokens": (MODEL, MESSAGES, PARAMS.model_copy(update={"max_tokens": 512}), SCHEMA, 0),
    "seed": (MODEL, MESSAGES, PARAMS.model_copy(update={"seed": 1}), SCHEMA, 0),
    "seed none": (MODEL, MESSAGES, PARAMS.model_copy(update={"seed": None}), SCHEMA, 0),
    "top_p": (MODEL, MESSAGES, PARAMS.model_copy(update={"top_p": 0.9}), SCHEMA, 0),
    "schema": (MODEL, MESSAGES, PARAMS, {**SCHEMA, "properties": {"score": {"enum": [1, 2, 3, 4]}}}, 0),
    "no schema": (MODEL, MESSAGES, PARAMS, None, 0),
    "sample": (MODEL, MESSAGES, PARAMS, SCHEMA, 1),
}


@pytest.mark.parametrize("what", sorted(CHANGES))
def test_each_output_relevant_input_changes_the_key(what: str) -> None:
    assert cache_key(*CHANGES[what]) != cache_key(*BASE)


def test_all_changed_keys_are_distinct() -> None:
    keys = {cache_key(*args) for args in CHANGES.values()} | {cache_key(*BASE)}
    assert len(keys) == len(CHANGES) + 1


class _StubProvider:
    """Stands in for the adapter: counts calls and answers a fixed text."""

    def __init__(self) -> None:
        self.calls: list[JudgeSpec] = []

    async def __call__(self, spec: JudgeSpec, messages: list[dict[str, str]], fmt: Any,
                       top_logprobs: int = 0) -> RawReply:
        self.calls.append(spec)
        return RawReply(
            text='{"score": 2}', prompt_tokens=10, completion_tokens=3, cost_usd=0.0, finish_reason="stop"
        )


SPEC = JudgeSpec(
    id="judge-a",
    model=MODEL,
    api_base="http://127.0.0.1:1/v1",
    structured_output="json_schema",
    params=PARAMS,
    timeout_s=30,
    max_attempts=3,
    max_concurrency=4,
)

SAME_REPLY = {
    "timeout": {"timeout_s": 5.0},
    "retry count": {"max_attempts": 7},
    "api_base": {"api_base": "http://10.0.0.9:8000/v1"},
    "concurrency": {"max_concurrency": 64},
    "rate limits": {"requests_per_minute": 10.0, "tokens_per_minute": 1000.0},
    "api key variable": {"api_key_env": "SOME_KEY"},
    "family": {"family": "qwen"},
}
OTHER_REPLY = {
    "model": {"model": "openai/fake-judge-b"},
    "temperature": {"params": PARAMS.model_copy(update={"temperature": 1.0})},
    "max_tokens": {"params": PARAMS.model_copy(update={"max_tokens": 100})},
    "seed": {"params": PARAMS.model_copy(update={"seed": 42})},
    "top_p": {"params": PARAMS.model_copy(update={"top_p": 0.5})},
}


async def _call_twice(second: JudgeSpec, *, sample: int = 0) -> tuple[_StubProvider, MemoryLedger]:
    provider, ledger = _StubProvider(), MemoryLedger()
    tags = CallTags(judge_id="judge-a", agent="scoring")
    for spec, s in ((SPEC, 0), (second, sample)):
        client = ModelClient(
            spec, ledger, LocalLimiter(4), retry=RetryPolicy(multiplier=0), complete=provider
        )
        await client.call(MESSAGES, schema_name="Score", schema=SCHEMA, tags=tags, sample=s)
    return provider, ledger


@pytest.mark.parametrize("what", sorted(SAME_REPLY))
async def test_client_settings_that_do_not_change_the_reply_hit_the_cache(what: str) -> None:
    provider, ledger = await _call_twice(SPEC.model_copy(update=SAME_REPLY[what]))
    assert len(provider.calls) == 1
    first, second = ledger.records
    assert second.cache_hit and second.cached_from == first.call_id and second.cache_key == first.cache_key


@pytest.mark.parametrize("what", sorted(OTHER_REPLY))
async def test_client_settings_that_change_the_reply_miss_the_cache(what: str) -> None:
    provider, ledger = await _call_twice(SPEC.model_copy(update=OTHER_REPLY[what]))
    assert len(provider.calls) == 2
    assert not any(r.cache_hit for r in ledger.records)
    assert ledger.records[0].cache_key != ledger.records[1].cache_key


async def test_another_sample_index_misses_the_cache() -> None:
    provider, ledger = await _call_twice(SPEC, sample=1)
    assert len(provider.calls) == 2 and not ledger.records[1].cache_hit


async def test_the_client_key_is_cache_key_of_its_inputs() -> None:
    _, ledger = await _call_twice(SPEC)
    assert ledger.records[0].cache_key == cache_key(MODEL, MESSAGES, PARAMS, SCHEMA, 0)
