"""Inline councils (sent with a batch) must not turn the service into a proxy: no server-side key to the
caller's URL, and prompts only to URL prefixes the operator allows (SSRF). No Ray needed."""

import pytest

from council.service.core import CouncilCore, RequestError
from council.store.store import Store
from council.types import CouncilSpec
from judges.types import JudgeSpec


def core(allowed=()):
    return CouncilCore(Store(), executor=None, councils={}, allowed_api_bases=allowed)  # type: ignore[arg-type]


def inline(**judge):
    return CouncilSpec(judges=[JudgeSpec(id="j0", model="openai/gpt-4o-mini"),
                               JudgeSpec(id="j1", model="openai/m", **judge)])


def test_hosted_models_without_api_base_are_fine():
    spec = inline()
    assert core().council(spec) is spec


def test_api_base_outside_the_allowlist_is_refused_naming_the_field():
    with pytest.raises(RequestError, match="not allowed for inline councils") as caught:
        core().council(inline(api_base="http://169.254.169.254/latest/v1"))
    assert caught.value.field == "council.judges.1.api_base"


def test_allowed_prefix_passes():
    spec = inline(api_base="http://vllm.internal:8000/v1")
    assert core(("http://vllm.internal:8000/",)).council(spec) is spec


def test_server_keys_never_go_to_a_callers_url():
    with pytest.raises(RequestError) as caught:
        core(("http://vllm.internal:8000/",)).council(inline(api_base="http://vllm.internal:8000/v1",
                                                            api_key_env="OPENAI_API_KEY"))
    assert caught.value.field == "council.judges.1.api_key_env"
