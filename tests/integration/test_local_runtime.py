"""The embedded runtime over real HTTP with a real (small) llama.cpp model: OpenAI-shaped logprobs, prefix
reuse, schema-guided decoding (and the grammar where it does not apply), and the independent score readout.

Uses SmolLM2-135M (fast) on its own port; the default council's model is exercised by test_local_council.
"""

import json
import os

import httpx
import pytest

from judges.client.adapter import complete
from judges.local import server
from judges.types import ModelParams
from tests.integration.conftest import local_servers

pytestmark = [pytest.mark.local_llm, pytest.mark.timeout(600)]

ALIAS = "smollm2-135m-instruct"
SYSTEM = "You rate replies to people who seek support. " * 20  # a long shared prefix
POINTS = [1, 2, 3, 4, 5]


@pytest.fixture(scope="module")
def runtime(local_extra):
    with local_servers(os.environ.get("COUNCIL_TEST_RUNTIME_PORT", "18831"), [ALIAS]):
        yield server.local_judge_spec(ALIAS)


def _post(spec, **body):
    reply = httpx.post(f"{spec.api_base}/chat/completions", json={"model": ALIAS, **body}, timeout=300)
    assert reply.status_code == 200, reply.text
    return reply.json()


def _messages(question: str, system: str = SYSTEM) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": question}]


async def test_logprobs_come_back_in_the_openai_shape_through_litellm(runtime):
    spec = runtime.model_copy(update={"params": ModelParams(temperature=0, max_tokens=24)})
    reply = await complete(spec, _messages("Name three colours."), None, 5)
    assert reply.completion_tokens > 0 and reply.logprobs
    assert "".join(token for token, _, _ in reply.logprobs) == reply.text  # tokens concatenate to the reply
    for _, logprob, top in reply.logprobs:
        assert 1 <= len(top) <= 5 and logprob <= 0
        assert [lp for _, lp in top] == sorted((lp for _, lp in top), reverse=True)
        assert top[0][1] >= logprob - 1e-6  # greedy: the chosen token is the most likely one


def test_a_request_sharing_the_prefix_reuses_its_kv_cache(runtime):
    system = "A prefix no earlier request used. " + SYSTEM
    first = _post(runtime, messages=_messages("Say hello.", system), max_tokens=4)
    second = _post(runtime, messages=_messages("Say goodbye.", system), max_tokens=4)
    assert first["timings"]["prompt_n"] > 100
    assert second["timings"]["prompt_cached"] >= first["timings"]["prompt_n"] - 20  # the system prompt
    assert second["timings"]["prompt_n"] < 20  # only what differs is processed


def test_the_grammar_keeps_the_schema_order_of_keys(runtime):
    schema = {"type": "object", "properties": {"zeta": {"type": "integer", "enum": [1, 2]},
                                               "alpha": {"type": "integer", "enum": [1, 2]}},
              "required": ["zeta", "alpha"]}
    reply = _post(runtime, messages=_messages("Answer with JSON."), max_tokens=32,
                  response_format={"type": "json_object", "schema": schema})
    text = reply["choices"][0]["message"]["content"]
    assert list(json.loads(text)) == ["zeta", "alpha"]


def test_the_score_readout_reads_every_field_independently_and_deterministically(runtime):
    body = {"messages": _messages("Rate the reply 'ok' from 1 to 5 on warmth and clarity."), "logprobs": True,
            "top_logprobs": 3, "score_readout": {"fields": ["warmth", "clarity"], "points": POINTS}}
    first, second = _post(runtime, **body), _post(runtime, **body)
    text = first["choices"][0]["message"]["content"]
    assert set(json.loads(text)) == {"warmth", "clarity"} and all(v in POINTS for v in json.loads(text).values())
    content = first["choices"][0]["logprobs"]["content"]
    assert "".join(t["token"] for t in content) == text
    digits = [t for t in content if t["token"].isdigit()]
    assert len(digits) == 2
    for entry in digits:
        alternatives = {a["token"]: a["logprob"] for a in entry["top_logprobs"]}
        assert {str(p) for p in POINTS} <= set(alternatives)  # every scale point, however unlikely
        assert entry["token"] == max((str(p) for p in POINTS), key=alternatives.get)
    assert second["choices"][0]["logprobs"] == first["choices"][0]["logprobs"]  # the KV was rolled back
    assert second["timings"]["prompt_cached"] == second["usage"]["prompt_tokens"]  # the prompt stayed cached
    assert first["timings"]["predicted_n"] == 2


def test_a_schema_reply_is_valid_and_the_model_is_asked_only_where_it_has_a_choice(runtime):
    from judges.agents.tom import tom_reply_model

    model = tom_reply_model(3)
    reply = _post(runtime, messages=_messages("Seeker: [1] I lost my job. [2] I can't sleep. [3] I feel useless. "
                                              "Answer with JSON about the seeker."), max_tokens=300,
                  response_format={"type": "json_schema", "json_schema": {"name": "tom",
                                                                          "schema": model.model_json_schema()}})
    text = reply["choices"][0]["message"]["content"]
    parsed = model.model_validate_json(text)  # every key, enum and bound of the schema holds
    assert list(json.loads(text)) == list(model.model_fields)
    assert 1 <= len(parsed.hypotheses) <= 3
    timings = reply["timings"]
    assert 0 < timings["guided_model_steps"] < timings["predicted_n"] / 2  # keys and punctuation were forced


def test_a_schema_the_guided_decoder_does_not_cover_falls_back_to_the_grammar(runtime):
    schema = {"type": "object", "properties": {"count": {"type": "integer"}}, "required": ["count"]}
    reply = _post(runtime, messages=_messages("How many days are in a week? Answer with JSON."), max_tokens=16,
                  response_format={"type": "json_object", "schema": schema})
    assert isinstance(json.loads(reply["choices"][0]["message"]["content"])["count"], int)
    assert "guided_model_steps" not in reply["timings"]
