"""Probability-weighted scoring through the real client path (litellm → fake server with logprobs).

The fake server answers ``logprobs`` with the written digit most likely and its neighbours sharing a
quarter of the mass (judges.testing.openai_wire.digit_logprobs), so the expected value of every score
is known exactly and can be checked against what the agent stored.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from council.spec import check_scoring
from council.types import CouncilSpec
from judges.agents.scoring import ScoringInput, scoring_agent
from judges.client.records import CallTags, MemoryLedger
from judges.distribution import confidence, expected, score_distributions
from judges.errors import ConfigError
from judges.testing import FakeOpenAIServer
from judges.types import Candidate, Context, JudgeSpec
from protocols import Protocol, load_protocol, parse_protocol

TAGS = CallTags(judge_id="judge-a", agent="test")


def _fake_distribution(written: int, points: list[int], spread: float = 0.25) -> dict[str, float]:
    """What the fake server's logprobs say about a written digit, renormalised over the scale points."""
    weights = {p: (1 - spread) if p == written else spread / 2 if abs(p - written) == 1 else 1e-4 for p in range(10)}
    total = sum(weights[p] for p in points)
    return {str(p): weights[p] / total for p in points}


async def _score(srv: FakeOpenAIServer, spec: JudgeSpec, model_client: Any, protocol: Protocol,
                 context: Context, candidate: Candidate, ledger: MemoryLedger | None = None) -> Any:
    inp = ScoringInput(context=context, candidate=candidate, protocol=protocol, tags=TAGS)
    return await scoring_agent()(inp, model_client(spec, ledger))


@pytest.mark.parametrize("rationales", [False, True])
async def test_expected_scores_are_the_mean_of_the_distribution_at_each_score_position(
    make_fake_server: Callable[..., FakeOpenAIServer], judge_spec: Any, model_client: Any,
    seeker_context: Context, candidates: list[Candidate], rationales: bool,
) -> None:
    protocol = load_protocol("mentalalign-7")
    srv = make_fake_server(choice="random", seed=3)
    spec = judge_spec(srv, scoring="expected", rationales=rationales)
    outcome = await _score(srv, spec, model_client, protocol, seeker_context, candidates[0])
    assert outcome.ok, outcome.detail
    [request] = srv.requests
    assert request.body["logprobs"] is True and request.body["top_logprobs"] == 20
    points = protocol.scale.points
    for s in outcome.value.scores:
        assert s.distribution is not None and s.abstention is None
        mode = int(max(s.distribution, key=s.distribution.get))
        want = _fake_distribution(mode, points)
        assert s.distribution == pytest.approx(want)
        assert s.score == pytest.approx(sum(int(p) * v for p, v in want.items()))
        assert 0 < s.confidence < 1 and s.confidence == pytest.approx(confidence(want))


async def test_argmax_keeps_the_written_point_and_records_the_distribution_beside_it(
    make_fake_server: Callable[..., FakeOpenAIServer], judge_spec: Any, model_client: Any,
    seeker_context: Context, candidates: list[Candidate],
) -> None:
    protocol = load_protocol("epitome")
    srv = make_fake_server(choice="last")
    spec = judge_spec(srv, scoring="argmax", top_logprobs=5, rationales=False)
    outcome = await _score(srv, spec, model_client, protocol, seeker_context, candidates[0])
    assert [s.score for s in outcome.value.scores] == [2.0, 2.0, 2.0]
    assert all(s.distribution == pytest.approx(_fake_distribution(2, [0, 1, 2])) for s in outcome.value.scores)


async def test_a_provider_without_logprobs_gives_no_logprobs_abstentions_not_argmax(
    make_fake_server: Callable[..., FakeOpenAIServer], judge_spec: Any, model_client: Any,
    seeker_context: Context, candidates: list[Candidate],
) -> None:
    protocol = load_protocol("epitome")
    srv = make_fake_server(choice="first", logprobs=False)
    outcome = await _score(srv, judge_spec(srv, scoring="expected"), model_client, protocol, seeker_context,
                           candidates[0])
    assert outcome.ok  # the reply parsed; only its scores cannot be read
    assert all(s.score is None and s.abstention == "no_logprobs" and "no logprobs" in s.detail
               for s in outcome.value.scores)


async def test_logprobs_are_cached_with_the_reply(
    make_fake_server: Callable[..., FakeOpenAIServer], judge_spec: Any, model_client: Any,
    seeker_context: Context, candidates: list[Candidate],
) -> None:
    protocol, ledger = load_protocol("epitome"), MemoryLedger()
    srv = make_fake_server(choice="random", seed=1)
    spec = judge_spec(srv, scoring="expected", rationales=False)
    first = await _score(srv, spec, model_client, protocol, seeker_context, candidates[1], ledger)
    second = await _score(srv, spec, model_client, protocol, seeker_context, candidates[1], ledger)
    assert srv.count == 1 and ledger.records[1].cache_hit
    assert first.value == second.value  # the same distributions, from the cached logprobs


def test_distributions_are_read_where_the_score_digit_sits_in_the_reply() -> None:
    text = '{"a": 2, "b": {"rationale": "x", "score": 1}}'
    tokens = [('{"a":', 0.0, [('{"a":', 0.0)]), (" 2", math.log(0.6), [(" 2", math.log(0.6)), (" 1", math.log(0.3)),
                                                                        (" 0", math.log(0.05)), ("x", -1.0)]),
              (', "b": {"rationale": "x", "score": ', 0.0, []), ("1", math.log(0.5), [("1", math.log(0.5)),
                                                                                    ("2", math.log(0.5))]),
              ("}}", 0.0, [])]
    flat = score_distributions(text, tokens, ["a"], [0, 1, 2], nested=False)
    assert flat["a"] == pytest.approx({"0": 0.05 / 0.95, "1": 0.3 / 0.95, "2": 0.6 / 0.95})
    nested = score_distributions(text, tokens, ["b"], [0, 1, 2], nested=True)
    assert nested["b"] == pytest.approx({"0": 0.0, "1": 0.5, "2": 0.5})
    assert expected(nested["b"]) == pytest.approx(1.5) and confidence(nested["b"]) == pytest.approx(
        1 - math.log(2) / math.log(3))
    assert score_distributions(text, tokens[:-1], ["a"], [0, 1, 2], nested=False) == {"a": None}  # text mismatch


def test_expected_scoring_is_refused_where_it_cannot_work() -> None:
    anthropic = CouncilSpec(judges=[JudgeSpec(id="c", model="anthropic/claude-3-5-haiku-latest",
                                              scoring="expected")])
    with pytest.raises(ConfigError, match=r"council.judges.0.scoring: .* returns no logprobs"):
        check_scoring(anthropic, load_protocol("epitome"))
    ten = parse_protocol({**load_protocol("epitome").model_dump(mode="json"), "scale": {"min": 0, "max": 10},
                          "attributes": [{**a, "anchors": {str(i): "x" for i in range(11)}, "exemplars": {}}
                                         for a in load_protocol("epitome").model_dump(mode="json")["attributes"]]})
    local = CouncilSpec(judges=[JudgeSpec(id="l", model="openai/m", api_base="http://127.0.0.1:9/v1",
                                          scoring="expected")])
    with pytest.raises(ConfigError, match="one digit per score"):
        check_scoring(local, ten)
    check_scoring(local, load_protocol("epitome"))  # a self-hosted endpoint: only a call can tell
    check_scoring(anthropic.model_copy(update={"judges": [anthropic.judges[0].model_copy(
        update={"scoring": "argmax"})]}), ten)
