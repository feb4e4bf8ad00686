"""The egress policy of inline councils, decided on litellm's resolved request (no Ray needed).

An inline judge may reach only endpoints the operator allowed, and may use the server's credentials only for
providers the operator allowed for that — whatever the client's fields say. Before the fix, a judge without
``api_base`` passed unchecked: ``ollama_chat/x`` sent the prompt to litellm's default ``localhost:11434`` and
``openai/x`` went to OpenAI with the server's own key.
"""

from __future__ import annotations

import pytest

from council.service.core import CouncilCore, RequestError
from council.service.egress import EgressPolicy, resolve
from council.store.store import Store
from council.types import CouncilSpec
from judges.types import JudgeSpec

# litellm provider prefixes that resolve to a default endpoint (local or hosted) or to ambient credentials
# when the judge names no api_base
DEFAULT_ENDPOINT_MODELS = [
    "ollama_chat/x", "ollama/x", "openai/x", "gpt-4o-mini", "hosted_vllm/x", "lm_studio/x", "llamafile/x",
    "text-completion-openai/x", "anthropic/claude-3-5-haiku-latest", "groq/llama3-8b-8192", "together_ai/x",
    "openrouter/x", "mistral/x", "deepseek/x", "xai/x", "fireworks_ai/x", "deepinfra/x", "perplexity/x",
    "cohere_chat/x", "huggingface/x", "azure/x", "bedrock/anthropic.claude-v2", "vertex_ai/gemini-pro",
    "gemini/gemini-pro", "litellm_proxy/x", "custom_openai/x",
]


def core(allowed: tuple[str, ...] = (), credentials: tuple[str, ...] = ()) -> CouncilCore:
    return CouncilCore(Store(), executor=None, councils={},  # type: ignore[arg-type]
                       egress=EgressPolicy(allowed, credentials))


def inline(**judge: object) -> CouncilSpec:
    first = JudgeSpec(id="j0", model="openai/m", api_base="http://vllm.internal:8000/v1")
    return CouncilSpec(judges=[first, JudgeSpec(id="j1", **judge)])  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def server_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server has provider keys in its environment (what an attacker wants to spend)."""
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GROQ_API_KEY", "TOGETHERAI_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.setenv(name, "sk-server-secret")


@pytest.mark.parametrize("model", DEFAULT_ENDPOINT_MODELS)
def test_every_provider_default_is_refused_without_a_rule(model: str) -> None:
    with pytest.raises(RequestError) as caught:
        core(("http://vllm.internal:8000/",)).council(inline(model=model))
    assert caught.value.field in ("council.judges.1.model", "council.judges.1.api_base")


@pytest.mark.parametrize("model", ["hosted_vllm/x", "lm_studio/x", "ollama_chat/x", "openai/x"])
def test_an_endpoint_from_the_servers_environment_is_refused(model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HOSTED_VLLM_API_BASE", "LM_STUDIO_API_BASE", "OLLAMA_API_BASE", "OPENAI_API_BASE"):
        monkeypatch.setenv(name, "http://10.0.0.5:8000/v1")
    with pytest.raises(RequestError) as caught:
        core(("http://vllm.internal:8000/",)).council(inline(model=model))
    assert caught.value.field == "council.judges.1.model"


def test_server_credentials_need_an_explicit_rule() -> None:
    with pytest.raises(RequestError) as caught:
        core(("http://vllm.internal:8000/",)).council(inline(model="openai/gpt-4o-mini"))
    assert caught.value.field == "council.judges.1.model" and "credentials" in caught.value.message
    with pytest.raises(RequestError) as caught:
        core(("http://vllm.internal:8000/",)).council(inline(model="openai/gpt-4o-mini", api_key_env="OPENAI_API_KEY"))
    assert caught.value.field == "council.judges.1.api_key_env"
    spec = inline(model="openai/gpt-4o-mini")
    assert core(("http://vllm.internal:8000/",), ("openai",)).council(spec) is spec
    keyed = inline(model="openai/gpt-4o-mini", api_key_env="OPENAI_API_KEY")
    assert core(("http://vllm.internal:8000/",), ("openai",)).council(keyed) is keyed
    with pytest.raises(RequestError):  # a rule for one provider is not a rule for another
        core(("http://vllm.internal:8000/",), ("openai",)).council(inline(model="anthropic/claude-3-5-haiku-latest"))


def test_server_keys_never_go_to_a_callers_url() -> None:
    with pytest.raises(RequestError) as caught:
        core(("http://vllm.internal:8000/",), ("openai",)).council(
            inline(model="openai/m", api_base="http://vllm.internal:8000/v1", api_key_env="OPENAI_API_KEY"))
    assert caught.value.field == "council.judges.1.api_key_env"


def test_providers_signing_with_ambient_credentials_are_refused_even_on_an_allowed_endpoint() -> None:
    for model in ("bedrock/anthropic.claude-v2", "vertex_ai/gemini-pro"):
        with pytest.raises(RequestError) as caught:
            core(("http://vllm.internal:8000/",)).council(inline(model=model, api_base="http://vllm.internal:8000/v1"))
        assert caught.value.field == "council.judges.1.model"


def test_allowed_endpoint_passes_without_server_credentials() -> None:
    spec = inline(model="openai/m", api_base="http://vllm.internal:8000/v1")
    assert core(("http://vllm.internal:8000/",)).council(spec) is spec
    assert resolve(spec.judges[1]).server_key is False
    ollama = inline(model="ollama_chat/llama3", api_base="http://vllm.internal:8000")
    assert core(("http://vllm.internal:8000/",)).council(ollama) is ollama


@pytest.mark.parametrize("api_base", [
    "http://169.254.169.254/latest/v1",
    "http://vllm.internal:8000.evil.example/v1",
    "http://vllm.internal:8000@evil.example/v1",
    "http://user:pw@vllm.internal:8000/v1",
    "https://vllm.internal:8000/v1",
    "http://vllm.internal:8001/v1",
    "http://vllm.internal:8000/v10",
])
def test_endpoints_outside_the_allowlist_are_refused(api_base: str) -> None:
    with pytest.raises(RequestError) as caught:
        core(("http://vllm.internal:8000/v1",)).council(inline(model="openai/m", api_base=api_base))
    assert caught.value.field == "council.judges.1.api_base"
    assert "evil" not in caught.value.message and "169.254" not in caught.value.message


def test_unknown_provider_names_the_model() -> None:
    with pytest.raises(RequestError) as caught:
        core(("http://vllm.internal:8000/",)).council(inline(model="no-such-provider/x",
                                                            api_base="http://vllm.internal:8000/v1"))
    assert caught.value.field == "council.judges.1.model"
