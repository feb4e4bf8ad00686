"""Shared fixtures: the fake OpenAI server, judge specs and model clients pointed at it, zero retry back-off.

Tests are offline: every LLM call goes to :class:`judges.testing.FakeOpenAIServer` on loopback, through
the production path (litellm → OpenAI SDK → HTTP), so retries, caching and recording are tested too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from judges.client.limits import LocalLimiter
from judges.client.model import ModelClient, RetryPolicy  # imports the adapter, which keeps litellm offline
from judges.client.records import CallLedger, MemoryLedger
from judges.testing import FakeOpenAIServer
from judges.types import Candidate, Context, JudgeSpec, Turn
from tests.service.harness import leftovers, reap_session


@pytest.fixture(scope="session", autouse=True)
def _no_leftover_processes() -> Iterator[None]:
    """After the session, no process of any service or Ray node the tests started may still run.

    Defined here, at the root, so it is set up before and torn down after every other session fixture
    (the dashboard stack, the shared service): it checks what is left once they have all stopped.
    """
    yield
    left = leftovers()
    for sid in left:
        reap_session(sid)  # a pid that is a live process's session id is never reused: these are ours
    assert not left, f"processes outlived their tests (killed now): {left}"


NO_BACKOFF = RetryPolicy(multiplier=0.0, max_wait=10.0)
"""Exponential back-off of zero; a provider's Retry-After is still honoured (up to max_wait)."""


@pytest.fixture(autouse=True)
def _zero_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Zero the exponential back-off of every ModelClient, including ones built with the default policy."""
    from judges.client import model

    monkeypatch.setattr(model, "wait_exponential", lambda **_: lambda state: 0.0)


@pytest.fixture
def make_fake_server() -> Iterator[Callable[..., FakeOpenAIServer]]:
    """Start fake servers with any :class:`FakeOpenAIServer` arguments; all are stopped after the test."""
    servers: list[FakeOpenAIServer] = []

    def make(**kwargs: Any) -> FakeOpenAIServer:
        server = FakeOpenAIServer(**kwargs).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def fake_server(make_fake_server: Callable[..., FakeOpenAIServer]) -> FakeOpenAIServer:
    """A fake server that answers every request with schema-valid JSON, no latency, seed 0."""
    return make_fake_server()


def _judge_spec(server: FakeOpenAIServer, **overrides: Any) -> JudgeSpec:
    """A judge on the fake server: json_schema output, 2 s timeout, 3 attempts."""
    fields: dict[str, Any] = {
        "id": "judge-a",
        "model": "openai/fake-judge-a",
        "api_base": server.base_url,
        "structured_output": "json_schema",
        "timeout_s": 2.0,
        "max_attempts": 3,
    }
    return JudgeSpec(**{**fields, **overrides})


def _model_client(spec: JudgeSpec, ledger: CallLedger | None = None, **kwargs: Any) -> ModelClient:
    """A model client for the spec with a memory ledger, a local limiter and no back-off."""
    kwargs.setdefault("retry", NO_BACKOFF)
    return ModelClient(
        spec, ledger if ledger is not None else MemoryLedger(), LocalLimiter(spec.max_concurrency), **kwargs
    )


@pytest.fixture
def judge_spec() -> Callable[..., JudgeSpec]:
    """``judge_spec(server, **overrides)``: a JudgeSpec on the fake server (2 s timeout, 3 attempts)."""
    return _judge_spec


@pytest.fixture
def model_client() -> Callable[..., ModelClient]:
    """``model_client(spec, ledger=None, **kwargs)``: a ModelClient with a memory ledger and no back-off."""
    return _model_client


@pytest.fixture
def seeker_context() -> Context:
    """A single-turn help-seeking context."""
    return Context(
        id="ctx-1",
        turns=[
            Turn(
                role="seeker",
                text=(
                    "I failed my driving test for the third time today and I feel like such an idiot. "
                    "Everyone else in my family passed first time and I keep thinking "
                    "I will never be able to drive."
                ),
            )
        ],
    )


@pytest.fixture
def candidates() -> list[Candidate]:
    """Three candidate replies with distinct, quotable texts."""
    return [
        Candidate(
            id="c1",
            responder="model-x",
            text=(
                "Failing three times sounds really discouraging, and it makes sense you feel frustrated. "
                "Many people need several attempts; it says nothing about your intelligence."
            ),
        ),
        Candidate(
            id="c2",
            responder="model-y",
            text=("Just practise more and you will pass next time. Book another test soon."),
        ),
        Candidate(
            id="c3",
            responder="human",
            text=(
                "That is a hard day. What part of the test went wrong this time, and what would help you "
                "feel more prepared for the next one?"
            ),
        ),
    ]
