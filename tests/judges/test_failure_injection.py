"""Failure injection end to end: ``council.run.run_batch`` with a real DuckDB store and a council of two
judges on the fake server, which fails ~30% of requests (429, 500, timeout, malformed output).

The batch must complete; retries must happen and be accounted for; abstentions must be stored with a
reason and a NULL score (never a default); and re-running the batch must cost no new request once every
call has succeeded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from council.run import LocalExecutor, prepare_batch, run_batch
from council.store.store import Store
from council.types import Batch, BatchItem, CouncilSpec, RunSummary
from judges.client.model import RetryPolicy
from judges.testing import FakeOpenAIServer
from judges.types import Candidate, JudgeSpec
from protocols import Protocol, load_protocol

SEEKERS = [
    "My partner left me last month and I still cannot sleep or eat properly most days.",
    "I keep getting panic attacks before meetings at work and I am scared my boss will notice.",
    "Since the baby arrived I feel like a failure as a mother and I cry every evening.",
    "My best friend stopped replying to my messages and I do not know what I did wrong.",
]
REPLIES = [
    (
        "That sounds exhausting, and grief after a breakup can really disrupt sleep and appetite.",
        "You should move on, there are plenty of other people out there for you.",
    ),
    (
        "Panic before meetings is common and very treatable; would breathing exercises beforehand help?",
        "Everyone gets nervous at work, just try to ignore it and focus on the meeting.",
    ),
    (
        "Many new mothers feel this way, and crying every evening deserves attention from your doctor.",
        "Being a mother is hard but you will get used to it soon enough.",
    ),
    (
        "Silence from a close friend hurts; it may not be about something you did at all.",
        "Maybe they are just busy, I would not worry about it too much.",
    ),
]
FAILURE_KINDS = ["429", "500", "timeout", "malformed"]
SEED = 1
N_ATTRIBUTES = 7
TOTAL_JUDGMENTS = len(SEEKERS) * 2 * 2 * N_ATTRIBUTES  # items × candidates × judges × attributes
ABSTENTION_REASONS = {"invalid_output", "quote_not_found", "provider_error", "upstream_failed"}


@pytest.fixture
def protocol() -> Protocol:
    protocol = load_protocol("mentalalign-7")
    assert len(protocol.attribute_ids) == N_ATTRIBUTES
    return protocol


@pytest.fixture
def batch() -> Batch:
    return Batch(
        name="failure-injection",
        items=[
            BatchItem(
                id=f"item-{i}",
                context=seeker,
                candidates=[
                    Candidate(id="warm", text=warm, responder="model-x"),
                    Candidate(id="cold", text=cold, responder="model-y"),
                ],
            )
            for i, (seeker, (warm, cold)) in enumerate(zip(SEEKERS, REPLIES, strict=True))
        ],
    )


def _always_failing(body: dict[str, Any], nth: int) -> str | None:
    """Two calls that fail on every attempt, whatever the seed: judge b's ToM call on item 3 and judge a's
    scoring call on item 2's cold candidate; everything else is left to the random draw."""
    text = "\n".join(m["content"] for m in body["messages"])
    if body["model"] == "fake-judge-b" and "Stage 1: read" in text and SEEKERS[3] in text:
        return "500"
    if body["model"] == "fake-judge-a" and "Stage 3: score" in text and REPLIES[2][1] in text:
        return "503"
    return None


def _council(srv: FakeOpenAIServer) -> CouncilSpec:
    judges = [
        JudgeSpec(
            id=f"judge-{x}",
            model=f"openai/fake-judge-{x}",
            api_base=srv.base_url,
            structured_output="json_schema",
            timeout_s=2.0,
            max_attempts=3,
            max_concurrency=16,
        )
        for x in ("a", "b")
    ]
    return CouncilSpec(id="fake-council", judges=judges, aggregation="median")


async def _run(
    store: Store, batch_id: str, batch: Batch, protocol: Protocol, council: CouncilSpec
) -> RunSummary:
    executor = LocalExecutor(store, retry=RetryPolicy(multiplier=0.0))
    return await run_batch(store, batch_id, batch, protocol, council, executor)


def _calls(store: Store, run_id: str) -> pd.DataFrame:
    return store.query("SELECT * FROM llm_calls WHERE run_id = ?", [run_id])


def _request_key(model: str, messages: Any) -> str:
    """What makes a request unique here: the model (without litellm's provider prefix) and the messages."""
    return json.dumps([model.removeprefix("openai/"), messages], sort_keys=True)


async def test_failures_are_retried_recorded_and_abstained_never_defaulted(
    make_fake_server: Callable[..., FakeOpenAIServer], tmp_path: Path, batch: Batch, protocol: Protocol
) -> None:
    srv = make_fake_server(
        failure_rate=0.3,
        failure_kinds=FAILURE_KINDS,
        seed=SEED,
        retry_after=0.01,
        hang_s=30,
        outcome_hook=_always_failing,
    )
    council = _council(srv)
    store = Store(tmp_path / "council.duckdb")
    batch_id = prepare_batch(store, batch, protocol, council)

    # ---- run 1: ~30% of requests fail
    first = await _run(store, batch_id, batch, protocol, council)
    assert first.status == "completed"
    calls = _calls(store, first.run_id)
    made = calls[~calls.cache_hit]
    assert srv.count == int(made.attempts.sum())  # every request the server saw is one recorded attempt
    succeeded = made[made.error.isna()]
    assert srv.count > len(succeeded)  # retries happened ...
    assert (made.attempts > 1).any()  # ... and are counted per call
    outcomes = srv.stats()["outcomes"]
    assert {"429", "500", "timeout"} <= set(outcomes) and {"malformed_text", "malformed_schema"} & set(
        outcomes
    )
    assert (first.calls_made, first.calls_failed) == (len(made), int(made.error.notna().sum()))

    failed = made[made.error.notna()]
    assert failed.response_text.isna().all() and (failed.attempts == 3).all()
    assert set(failed.error_kind) <= {"rate_limit", "server_error", "timeout"}
    forced = {
        (
            r.judge_id,
            r.agent,
            r.item_id,
            r.candidate_id if isinstance(r.candidate_id, str) else None,
            r.error_kind,
        )
        for r in failed.itertuples()
    }
    assert {
        ("judge-b", "tom", "item-3", None, "server_error"),
        ("judge-a", "scoring", "item-2", "cold", "server_error"),
    } <= forced
    repaired = store.query("SELECT * FROM agent_outputs WHERE batch_id = ? AND repaired", [batch_id])
    assert len(repaired) > 0  # malformed output went through the repair re-prompt

    judgments = store.query("SELECT * FROM judgments WHERE batch_id = ?", [batch_id])
    assert len(judgments) == TOTAL_JUDGMENTS == first.judgments
    abstained = judgments[judgments.score.isna()]
    scored = judgments[judgments.score.notna()]
    assert len(abstained) == first.abstentions > 0
    assert abstained.abstention.notna().all() and (abstained.detail.str.len() > 0).all()
    assert set(abstained.abstention) <= ABSTENTION_REASONS
    blocked = judgments[(judgments.judge_id == "judge-b") & (judgments.item_id == "item-3")]
    assert len(blocked) == 2 * N_ATTRIBUTES and blocked.score.isna().all()
    assert (blocked.abstention == "upstream_failed").all()
    assert blocked.detail.str.contains("ToM agent abstained (provider_error)", regex=False).all()
    lost = judgments[
        (judgments.judge_id == "judge-a")
        & (judgments.item_id == "item-2")
        & (judgments.candidate_id == "cold")
    ]
    assert (
        len(lost) == N_ATTRIBUTES and lost.score.isna().all() and (lost.abstention == "provider_error").all()
    )
    assert lost.detail.str.startswith("server_error:").all()
    other_judge = judgments[(judgments.judge_id == "judge-b") & (judgments.item_id == "item-2")]
    assert other_judge.score.notna().any()  # one judge's failure is not the council's
    assert scored.abstention.isna().all()  # a score never carries an abstention, an abstention never a score
    assert scored.score.between(protocol.scale.min, protocol.scale.max).all()
    assert (scored.score == scored.score.round()).all()
    assert scored.score.nunique() >= 3  # real, varied answers, not a constant default

    outputs = store.query("SELECT output, abstention FROM agent_outputs WHERE batch_id = ?", [batch_id])
    assert (outputs.output.isna() == outputs.abstention.notna()).all()

    # ---- run 2, the provider healthy again: only what failed is asked again
    srv.outcome_hook = None
    srv.configure(failure_rate=0.0)
    before = srv.count
    succeeded_before = {
        _request_key(m, json.loads(r)["messages"])
        for m, r in zip(succeeded.model, succeeded.request, strict=True)
    }
    second = await _run(store, batch_id, batch, protocol, council)
    assert second.status == "completed" and second.calls_failed == 0
    assert second.calls_cached == len(succeeded)  # every call that succeeded before is a cache hit
    new_requests = srv.requests[before:]
    assert len(new_requests) == second.calls_made > 0
    assert not {_request_key(r.body["model"], r.messages) for r in new_requests} & succeeded_before
    judgments = store.query("SELECT * FROM judgments WHERE batch_id = ?", [batch_id])
    assert len(judgments) == TOTAL_JUDGMENTS  # rewritten in place, not duplicated
    assert not {"provider_error", "upstream_failed"} & set(judgments.abstention.dropna())

    # ---- run 3: everything is cached, the server sees nothing
    before = srv.count
    third = await _run(store, batch_id, batch, protocol, council)
    assert srv.count == before
    assert third.calls_made == 0 and third.calls_cached == second.calls_cached + second.calls_made
    again = store.query("SELECT * FROM judgments WHERE batch_id = ?", [batch_id])
    key = ["item_id", "candidate_id", "judge_id", "attribute_id", "sample"]
    pd.testing.assert_frame_equal(
        judgments.sort_values(key)[[*key, "score", "abstention"]].reset_index(drop=True),
        again.sort_values(key)[[*key, "score", "abstention"]].reset_index(drop=True),
    )
    store.close()
