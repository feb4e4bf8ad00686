"""Output parsing and the repair re-prompt, through the real client path (litellm → fake server).

A reply that still fails after one repair is an abstention with its reason, never a default score; a
repair that is worse than the first reply keeps the first.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from judges.agents.scoring import ScoringInput, scoring_agent, scoring_reply_model
from judges.agents.tom import ToMInput, tom_agent, tom_reply_model
from judges.client.records import CallTags, MemoryLedger
from judges.pipeline import CandidateJudgment
from judges.structured import extract_json, generate_structured, parse_reply
from judges.testing import FakeOpenAIServer, schema_instance
from judges.types import Candidate, ChecklistItem, Context, DomainResult
from protocols import Protocol, load_protocol

TAGS = CallTags(judge_id="judge-a", agent="test")
CONVERSATION = "I moved to a new city for work and I have not made a single friend in six months."
MESSAGES = [
    {"role": "system", "content": "You infer the seeker's mind."},
    {"role": "user", "content": f"<conversation>\n{CONVERSATION}\n</conversation>"},
]

GOOD_TOM = {
    "hypotheses": [{"type": "emotion", "content": "feels lonely", "evidence": 1, "confidence": "high"}],
    "surface_request": "wants to make friends",
    "support_preference": "emotional",
    "risk_signals": [],
}
ToMReply = tom_reply_model(1)  # the conversation above is one span


def queued(*replies: str) -> Callable[[dict[str, Any]], str]:
    """A responder answering the given texts in order."""
    pending = list(replies)

    def responder(body: dict[str, Any]) -> str:
        return pending.pop(0)

    return responder


@pytest.fixture
def protocol() -> Protocol:
    return load_protocol("mentalalign-7")


# ---------------------------------------------------------------- parsing, without a server


@pytest.mark.parametrize(
    "text",
    [
        '```json\n{"a": 1}\n```',
        '```JSON\n{"a": 1}\n```',
        '```\n{"a": 1}\n```',
        'Sure, here you go: {"a": 1} Hope that helps!',
        'Thinking...\n```json\n{"a": 1}\n```\nDone.',
    ],
)
def test_extract_json_strips_fences_and_prose(text: str) -> None:
    assert json.loads(extract_json(text)) == {"a": 1}


def test_extract_json_keeps_nested_braces_and_raw_newlines() -> None:
    text = 'Answer: {"outer": {"inner": "a {curly} value"}, "note": "line one\nline two"} end'
    assert extract_json(text) == '{"outer": {"inner": "a {curly} value"}, "note": "line one\nline two"}'
    value, problems = parse_reply(text, _Nested)
    assert problems == [] and value is not None
    assert (value.outer, value.note) == ({"inner": "a {curly} value"}, "line one\nline two")


class _Nested(BaseModel):
    outer: dict[str, str]
    note: str


def test_parse_reply_names_the_offending_fields() -> None:
    value, problems = parse_reply("not json at all", ToMReply)
    assert value is None and problems[0].field == "<root>" and "not valid JSON" in problems[0].message
    bad = copy.deepcopy(GOOD_TOM)
    bad["hypotheses"][0]["confidence"] = "certain"
    del bad["support_preference"]
    value, problems = parse_reply(json.dumps(bad), ToMReply)
    assert value is None
    assert {p.field for p in problems} == {"hypotheses.0.confidence", "support_preference"}


# ---------------------------------------------------------------- the repair loop, through the fake server


async def test_fenced_reply_with_prose_parses_without_repair(
    make_fake_server: Callable[..., FakeOpenAIServer], judge_spec: Any, model_client: Any
) -> None:
    srv = make_fake_server(responder=queued(f"Sure!\n```json\n{json.dumps(GOOD_TOM)}\n```\nAnything else?"))
    reply = await generate_structured(model_client(judge_spec(srv)), MESSAGES, ToMReply, tags=TAGS)
    assert reply.value == ToMReply.model_validate(GOOD_TOM)
    assert (len(reply.calls), reply.repaired, reply.failure, srv.count) == (1, False, None, 1)


async def test_invalid_json_gets_one_repair_prompt_listing_the_problems(
    make_fake_server: Callable[..., FakeOpenAIServer], judge_spec: Any, model_client: Any
) -> None:
    first = '{"surface_request": "friends", "hypotheses": [ oops'
    srv = make_fake_server(responder=queued(first, json.dumps(GOOD_TOM)))
    reply = await generate_structured(model_client(judge_spec(srv)), MESSAGES, ToMReply, tags=TAGS)
    assert reply.value == ToMReply.model_validate(GOOD_TOM)
    assert reply.repaired and len(reply.calls) == 2 and reply.failure is None
    repair = srv.requests[1].messages
    assert repair[:2] == MESSAGES  # the original prompt, unchanged
    assert repair[2] == {"role": "assistant", "content": first}
    assert repair[3]["role"] == "user"
    assert "<root>: the reply is not valid JSON" in repair[3]["content"]
    assert "previous answer has these problems" in repair[3]["content"]


async def test_schema_violations_are_listed_by_field_in_the_repair(
    make_fake_server: Callable[..., FakeOpenAIServer], judge_spec: Any, model_client: Any
) -> None:
    bad = copy.deepcopy(GOOD_TOM)
    bad["hypotheses"][0]["type"] = "mood"
    srv = make_fake_server(responder=queued(json.dumps(bad), json.dumps(GOOD_TOM)))
    reply = await generate_structured(model_client(judge_spec(srv)), MESSAGES, ToMReply, tags=TAGS)
    assert reply.value == ToMReply.model_validate(GOOD_TOM) and reply.repaired
    assert "hypotheses.0.type:" in srv.requests[1].messages[-1]["content"]


@pytest.mark.parametrize("first,second", [("no json here", "still no json"), ("", "{}")])
async def test_still_invalid_after_repair_is_an_invalid_output_abstention(
    make_fake_server: Callable[..., FakeOpenAIServer],
    judge_spec: Any,
    model_client: Any,
    first: str,
    second: str,
) -> None:
    srv = make_fake_server(responder=queued(first, second))
    reply = await generate_structured(model_client(judge_spec(srv)), MESSAGES, ToMReply, tags=TAGS)
    assert reply.value is None and reply.failure == "invalid_output"
    assert reply.detail  # the reason travels with the abstention
    assert srv.count == 2  # one repair, never a third call
    assert len(reply.calls) == 2


async def test_tom_agent_abstains_with_the_reason_and_no_value(
    make_fake_server: Callable[..., FakeOpenAIServer],
    judge_spec: Any,
    model_client: Any,
    seeker_context: Context,
) -> None:
    srv = make_fake_server(responder=queued("I'd rather not.", "Still no."))
    outcome = await tom_agent()(ToMInput(context=seeker_context, protocol=load_protocol("epitome"), tags=TAGS),
                                model_client(judge_spec(srv)))
    assert outcome.value is None and not outcome.ok
    assert outcome.abstention == "invalid_output" and "not valid JSON" in outcome.detail
    assert outcome.repaired and len(outcome.calls) == 2


def _scoring_reply(protocol: Protocol, checklist_ids: tuple[str, ...] = (), seed: int = 0) -> dict[str, Any]:
    model = scoring_reply_model(tuple(protocol.attribute_ids), tuple(protocol.scale.points), checklist_ids)
    return schema_instance(model.model_json_schema(), rng=random.Random(seed))


async def _score(
    srv: FakeOpenAIServer, spec: Any, client: Any, protocol: Protocol, context: Context, candidate: Candidate,
    domain: DomainResult | None = None,
) -> CandidateJudgment:
    inp = ScoringInput(context=context, candidate=candidate, protocol=protocol, tags=TAGS, domain=domain)
    outcome = await scoring_agent()(inp, client)
    return CandidateJudgment(candidate_id=candidate.id, sample=0, outcome=outcome)


async def test_scoring_agent_failure_abstains_on_every_attribute_with_null_scores(
    make_fake_server: Callable[..., FakeOpenAIServer],
    judge_spec: Any,
    model_client: Any,
    protocol: Protocol,
    seeker_context: Context,
    candidates: list[Candidate],
) -> None:
    srv = make_fake_server(responder=queued('{"score": 3}', '{"empathy": 5}'))
    judged = await _score(srv, None, model_client(judge_spec(srv)), protocol, seeker_context, candidates[0])
    scores = judged.attribute_scores(protocol)
    assert [s.attribute for s in scores] == protocol.attribute_ids
    assert all(s.score is None and s.abstention == "invalid_output" and s.detail for s in scores)


def _must(attribute: str) -> DomainResult:
    """A domain output whose one checklist item is a "must" tied to ``attribute``."""
    return DomainResult(refined=[], rules_applied=[], risk_level="low",
                        checklist=[ChecklistItem(id="c1", kind="must", attribute=attribute, text="name the loss")])


async def test_a_worse_repair_keeps_the_first_reply(
    make_fake_server: Callable[..., FakeOpenAIServer],
    judge_spec: Any,
    model_client: Any,
    protocol: Protocol,
    seeker_context: Context,
    candidates: list[Candidate],
) -> None:
    broken = protocol.attribute_ids[1]
    first = _scoring_reply(protocol, ("c1",))
    first["checklist"] = {"c1": "unmet"}
    first[broken] = protocol.scale.max  # a top score although its "must" item is unmet
    for second in ("not JSON any more", "{}"):
        srv = make_fake_server(responder=queued(json.dumps(first), second))
        judged = await _score(srv, None, model_client(judge_spec(srv, rationales=False)), protocol, seeker_context,
                              candidates[0], _must(broken))
        assert judged.outcome.repaired and len(judged.outcome.calls) == 2
        assert "cannot get the top score" in srv.requests[1].messages[-1]["content"]
        by_attribute = {s.attribute: s for s in judged.attribute_scores(protocol)}
        assert by_attribute[broken].score is None and by_attribute[broken].abstention == "invalid_output"
        for aid in protocol.attribute_ids:  # everything else is the first reply's, untouched
            if aid != broken:
                assert by_attribute[aid].score == first[aid]


async def test_a_repair_that_lowers_the_capped_score_scores_every_attribute(
    make_fake_server: Callable[..., FakeOpenAIServer],
    judge_spec: Any,
    model_client: Any,
    protocol: Protocol,
    seeker_context: Context,
    candidates: list[Candidate],
) -> None:
    capped = protocol.attribute_ids[0]
    fixed = _scoring_reply(protocol, ("c1",), seed=1)
    fixed["checklist"], fixed[capped] = {"c1": "unmet"}, protocol.scale.max - 1
    first = {**fixed, capped: protocol.scale.max}
    srv = make_fake_server(responder=queued(json.dumps(first), json.dumps(fixed)))
    judged = await _score(srv, None, model_client(judge_spec(srv, rationales=False)), protocol, seeker_context,
                          candidates[0], _must(capped))
    scores = judged.attribute_scores(protocol)
    assert [s.score for s in scores] == [float(fixed[a]) for a in protocol.attribute_ids]
    assert all(s.abstention is None for s in scores)


async def test_a_hypothesis_citing_no_span_is_dropped_without_a_repair(
    make_fake_server: Callable[..., FakeOpenAIServer], judge_spec: Any, model_client: Any
) -> None:
    context = Context(id="c", turns=[{"role": "seeker", "text": CONVERSATION}])  # type: ignore[list-item]
    reply = copy.deepcopy(GOOD_TOM)
    reply["hypotheses"].append({"type": "need", "content": "wants company", "evidence": 7, "confidence": "low"})
    srv = make_fake_server(responder=queued(json.dumps(reply)))
    outcome = await tom_agent()(ToMInput(context=context, protocol=load_protocol("epitome"), tags=TAGS),
                                model_client(judge_spec(srv)))
    assert srv.count == 1 and outcome.ok and not outcome.repaired
    assert [h.evidence for h in outcome.value.hypotheses] == [CONVERSATION]  # type: ignore[union-attr]
    assert outcome.value.dropped_hypotheses == 1  # type: ignore[union-attr]


async def test_tom_abstains_when_no_hypothesis_cites_a_span(
    make_fake_server: Callable[..., FakeOpenAIServer], judge_spec: Any, model_client: Any
) -> None:
    context = Context(id="c", turns=[{"role": "seeker", "text": CONVERSATION}])  # type: ignore[list-item]
    reply = copy.deepcopy(GOOD_TOM)
    reply["hypotheses"][0]["evidence"] = 3
    srv = make_fake_server(responder=queued(json.dumps(reply)))
    outcome = await tom_agent()(ToMInput(context=context, protocol=load_protocol("epitome"), tags=TAGS),
                                model_client(judge_spec(srv)))
    assert outcome.abstention == "quote_not_found" and outcome.value is None and srv.count == 1


async def test_replies_and_repairs_are_recorded_in_the_ledger(
    make_fake_server: Callable[..., FakeOpenAIServer], judge_spec: Any, model_client: Any
) -> None:
    srv = make_fake_server(responder=queued("nope", json.dumps(GOOD_TOM)))
    ledger = MemoryLedger()
    reply = await generate_structured(model_client(judge_spec(srv), ledger), MESSAGES, ToMReply, tags=TAGS)
    assert [r.call_id for r in ledger.records] == reply.calls
    assert [r.response_text for r in ledger.records] == ["nope", json.dumps(GOOD_TOM)]
    assert len(ledger.records[1].request["messages"]) == 4
