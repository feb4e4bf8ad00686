"""The pairwise agent through the real client path (litellm → the fake server's planted pairwise judge).

The planted judge (judges.testing.planted) answers with P(A) = b + (1 − b)·σ(s_A − s_B), P(B) = (1 − b)·(1 −
σ), a tie floor of 1e-3, and logprobs whose alternatives at each verdict are exactly those probabilities, so
the agent's probability reading can be checked to the digit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from judges.agents.pairwise import PairwiseInput, pairwise_agent
from judges.client.records import CallTags
from judges.distribution import option_distributions
from judges.testing import FakeOpenAIServer
from judges.testing.planted import TIE_FLOOR, verdict_probabilities
from judges.types import Candidate, Context
from protocols import load_protocol

TAGS = CallTags(judge_id="judge-a", agent="test")
STRENGTHS = {"[good]": 1.0, "[bad]": -1.0}


def _pair(candidates: list[Candidate]) -> tuple[Candidate, Candidate]:
    good = Candidate(id="g", responder="r-good", text=candidates[0].text + " [good]")
    bad = Candidate(id="b", responder="r-bad", text=candidates[1].text + " [bad]")
    return good, bad


def _expected(bias: float, first_good: bool) -> dict[str, float]:
    merit = 1 / (1 + math.exp(-2.0 if first_good else 2.0))
    p = {"A": bias + (1 - bias) * merit, "B": (1 - bias) * (1 - merit), "tie": TIE_FLOOR}
    total = sum(p.values())
    return {k: v / total for k, v in p.items()}


@pytest.mark.parametrize("rationales", [False, True])
async def test_overall_verdict_reads_p_a_p_b_p_tie_at_the_verdict(
    make_fake_server: Callable[..., FakeOpenAIServer], judge_spec: Any, model_client: Any,
    seeker_context: Context, candidates: list[Candidate], rationales: bool,
) -> None:
    srv = make_fake_server(planted_strengths=STRENGTHS, first_position_bias=0.3)
    spec = judge_spec(srv, rationales=rationales, top_logprobs=5)
    good, bad = _pair(candidates)
    protocol = load_protocol("mentalalign-7")
    for first, second, first_good in ((good, bad, True), (bad, good, False)):
        inp = PairwiseInput(context=seeker_context, first=first, second=second, protocol=protocol, tags=TAGS)
        outcome = await pairwise_agent()(inp, model_client(spec))
        assert outcome.ok, outcome.detail
        [v] = outcome.value.verdicts
        want = _expected(0.3, first_good)
        assert v.attribute == "overall" and v.verdict in ("A", "B", "tie")
        assert (v.p_first, v.p_second, v.p_tie) == pytest.approx((want["A"], want["B"], want["tie"]))
        assert bool(v.rationale) == rationales
    body = srv.requests[-1].body
    user = body["messages"][-1]["content"]
    assert "<candidate_a>" in user and "<candidate_b>" in user and "Stage 3, compare" in user
    assert body["messages"][0]["content"].startswith("You are one judge on a panel")  # the shared panel.v2 brief


async def test_per_attribute_verdicts_and_readout_judges_write_no_rationale(
    make_fake_server: Callable[..., FakeOpenAIServer], judge_spec: Any, model_client: Any,
    seeker_context: Context, candidates: list[Candidate],
) -> None:
    srv = make_fake_server(planted_strengths=STRENGTHS)
    spec = judge_spec(srv, score_readout=True, scoring="expected")  # an embedded judge's switches
    good, bad = _pair(candidates)
    protocol = load_protocol("epitome")
    inp = PairwiseInput(context=seeker_context, first=good, second=bad, protocol=protocol,
                        attributes=protocol.attribute_ids, tags=TAGS)
    outcome = await pairwise_agent()(inp, model_client(spec))
    assert outcome.ok, outcome.detail
    assert [v.attribute for v in outcome.value.verdicts] == protocol.attribute_ids
    assert all(v.rationale == "" and v.p_first == pytest.approx(_expected(0.0, True)["A"])
               for v in outcome.value.verdicts)
    [request] = srv.requests
    assert request.body["top_logprobs"] == 20 and "score_readout" not in request.body  # generation with logprobs
    schema = request.body["response_format"]["json_schema"]["schema"]
    assert set(schema["properties"]) == set(protocol.attribute_ids)


async def test_without_logprobs_the_written_verdict_stays_and_probabilities_are_none(
    make_fake_server: Callable[..., FakeOpenAIServer], judge_spec: Any, model_client: Any,
    seeker_context: Context, candidates: list[Candidate],
) -> None:
    srv = make_fake_server(planted_strengths=STRENGTHS, logprobs=False)
    good, bad = _pair(candidates)
    inp = PairwiseInput(context=seeker_context, first=good, second=bad, protocol=load_protocol("epitome"), tags=TAGS)
    outcome = await pairwise_agent()(inp, model_client(judge_spec(srv, top_logprobs=5)))
    [v] = outcome.value.verdicts
    assert v.verdict in ("A", "B") and v.p_first is None and v.p_second is None and v.p_tie is None


async def test_a_reply_that_never_parses_is_an_abstention_not_a_verdict(
    make_fake_server: Callable[..., FakeOpenAIServer], judge_spec: Any, model_client: Any,
    seeker_context: Context, candidates: list[Candidate],
) -> None:
    srv = make_fake_server(planted_strengths=STRENGTHS, script=["malformed_text", "malformed_schema"])
    good, bad = _pair(candidates)
    inp = PairwiseInput(context=seeker_context, first=good, second=bad, protocol=load_protocol("epitome"), tags=TAGS)
    outcome = await pairwise_agent()(inp, model_client(judge_spec(srv)))
    assert outcome.value is None and outcome.abstention == "invalid_output" and len(outcome.calls) == 2


def test_option_distribution_handles_merged_quotes_and_a_split_tie() -> None:
    text = '{"overall": "A"}'
    # a provider that merges the opening quote into the verdict token, and splits "tie" into "t" + "ie"
    logprobs = [('{"overall": ', 0.0, None),
                ('"A', math.log(0.6), [('"A', math.log(0.6)), ('"B', math.log(0.3)), ('"t', math.log(0.1)),
                                       ('"The', math.log(0.05))]),
                ('"}', 0.0, None)]
    dist = option_distributions(text, logprobs, ["overall"], ("A", "B", "tie"), nested=False)
    assert dist["overall"] == pytest.approx({"A": 0.6, "B": 0.3, "tie": 0.1})
    assert option_distributions(text, None, ["overall"], ("A", "B", "tie"), nested=False) == {"overall": None}


def test_planted_probabilities_have_first_position_bias_b_over_both_orders() -> None:
    for b in (0.0, 0.3):
        ab = verdict_probabilities("x [good]", "y [bad]", STRENGTHS, b)
        ba = verdict_probabilities("y [bad]", "x [good]", STRENGTHS, b)
        bias = ((ab["A"] - ab["B"]) + (ba["A"] - ba["B"])) / 2 / (1 - TIE_FLOOR / (1 + TIE_FLOOR))
        assert bias == pytest.approx(b, abs=1e-9)
