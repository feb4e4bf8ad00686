"""The thin adapter: our request → one ``litellm.acompletion`` call → a :class:`RawReply`.

Nothing else in the code base calls litellm. litellm is imported lazily (it takes seconds) and is told
to use its bundled price map so that importing it never touches the network.
"""

from __future__ import annotations

import copy
import logging
import os
from dataclasses import dataclass
from typing import Any

from judges.client.records import TokenLogprobs
from judges.errors import ConfigError, ExecutionError
from judges.types import JudgeSpec

__all__ = ["RawReply", "complete", "response_format_for", "resolve_structured_output", "supports_logprobs"]

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_LOG", "ERROR")


@dataclass(frozen=True)
class RawReply:
    """The provider's answer reduced to what we keep."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    finish_reason: str | None
    logprobs: TokenLogprobs | None = None


def _litellm() -> Any:
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    return litellm


_PRICED: set[str] = set()


def _price_self_hosted(litellm: Any, spec: JudgeSpec) -> None:
    """Give a model on a self-hosted endpoint (llama.cpp, vLLM, Ollama) a zero price once.

    litellm prices every reply; for a model missing from its price map that lookup fails slowly on every
    call (about 2 ms of CPU, a third of litellm's overhead). Calls to one's own server cost nothing per token.
    """
    if spec.model in _PRICED or not spec.api_base:
        return
    _PRICED.add(spec.model)
    if spec.model in litellm.model_cost:
        return
    provider = spec.model.split("/", 1)[0] if "/" in spec.model else "openai"
    logger = logging.getLogger("LiteLLM")
    level = logger.level
    logger.setLevel(logging.ERROR)  # its warning about cache-token prices does not apply here
    try:
        litellm.register_model({spec.model: {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0,
                                             "litellm_provider": provider, "mode": "chat"}})
    finally:
        logger.setLevel(level)


def resolve_structured_output(spec: JudgeSpec) -> str:
    """Decide how the schema reaches this judge's provider (``auto`` asks litellm's model map)."""
    if spec.structured_output != "auto":
        return spec.structured_output
    try:
        if _litellm().supports_response_schema(model=spec.model):
            return "json_schema"
    except Exception:  # noqa: BLE001 - unknown models are simply not in litellm's map
        pass
    return "prompt"


def supports_logprobs(spec: JudgeSpec) -> bool | None:
    """Whether the judge's provider returns top logprobs: True/False where litellm knows, None where it cannot.

    A self-hosted OpenAI-compatible endpoint (``api_base``) may or may not return them; only a call tells.
    """
    if spec.api_base:
        return None
    try:
        model, provider, _, _ = _litellm().get_llm_provider(spec.model)
        params = _litellm().get_supported_openai_params(model=model, custom_llm_provider=provider) or []
    except Exception:  # noqa: BLE001 - a model litellm cannot resolve is judged by its first call
        return None
    return "top_logprobs" in params or "logprobs" in params


def response_format_for(mode: str, name: str, schema: dict[str, Any]) -> dict[str, Any] | None:
    """The ``response_format`` parameter for a structured-output mode (with its own copy of the schema)."""
    schema = copy.deepcopy(schema)  # providers' transforms must never touch the cached schema
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": False}}
    if mode == "llama_cpp":
        # llama-cpp-python's server turns this schema into a grammar: the output is always valid JSON.
        return {"type": "json_object", "schema": schema}
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def _api_key(spec: JudgeSpec) -> str | None:
    if spec.api_key_env is None:
        return None
    key = os.environ.get(spec.api_key_env)
    if not key:
        raise ConfigError(f"judge {spec.id!r}: environment variable {spec.api_key_env} is not set")
    return key


async def complete(
    spec: JudgeSpec, messages: list[dict[str, str]], response_format: dict[str, Any] | None, top_logprobs: int = 0,
    extra_body: dict[str, Any] | None = None,
) -> RawReply:
    """Make one chat-completion call for this judge; raise :class:`ExecutionError` on failure.

    With ``top_logprobs`` > 0 the OpenAI-style ``logprobs`` / ``top_logprobs`` parameters are sent and the
    reply's per-token alternatives are kept (None when the provider returns none). ``extra_body`` goes to
    the provider as is (the embedded runtime's ``score_readout``).
    """
    litellm = _litellm()
    _price_self_hosted(litellm, spec)
    kwargs: dict[str, Any] = {
        "model": spec.model,
        "messages": messages,
        "temperature": spec.params.temperature,
        "max_tokens": spec.params.max_tokens,
        "timeout": spec.timeout_s,
        "num_retries": 0,  # retries belong to our tenacity policy, not to litellm
    }
    if spec.params.seed is not None:
        kwargs["seed"] = spec.params.seed
    if spec.params.top_p is not None:
        kwargs["top_p"] = spec.params.top_p
    if spec.api_base:
        kwargs["api_base"] = spec.api_base
    key = _api_key(spec)
    if key:
        kwargs["api_key"] = key
    elif spec.api_base:
        kwargs["api_key"] = "not-needed"  # local OpenAI-compatible servers ignore it; the SDK demands one
    if response_format is not None:
        kwargs["response_format"] = response_format
    if top_logprobs > 0:
        kwargs["logprobs"] = True
        kwargs["top_logprobs"] = top_logprobs
    if extra_body:
        kwargs["extra_body"] = extra_body
    try:
        response = await litellm.acompletion(**kwargs)
    except Exception as e:  # noqa: BLE001 - classified below, original kept as __cause__
        raise classify_exception(e) from e
    return _reply(litellm, response)


def _reply(litellm: Any, response: Any) -> RawReply:
    choice = response.choices[0]
    text = choice.message.content or ""
    usage = getattr(response, "usage", None)
    # litellm priced the call already (None for local and unknown models): no second cost lookup per call
    cost = (getattr(response, "_hidden_params", None) or {}).get("response_cost") or 0.0
    return RawReply(
        text=text,
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        cost_usd=float(cost),
        finish_reason=getattr(choice, "finish_reason", None),
        logprobs=_token_logprobs(getattr(choice, "logprobs", None)),
    )


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _token_logprobs(logprobs: Any) -> TokenLogprobs | None:
    """The OpenAI ``choices[].logprobs.content`` list as compact tuples, or None when absent."""
    content = _field(logprobs, "content") if logprobs is not None else None
    if not content:
        return None
    return [(str(_field(t, "token")), float(_field(t, "logprob")),
             [(str(_field(a, "token")), float(_field(a, "logprob"))) for a in (_field(t, "top_logprobs") or [])])
            for t in content]


def _retry_after(e: Exception) -> float | None:
    # litellm keeps the provider's headers in ``litellm_response_headers``; its ``response`` is a stub
    # without them, so reading only ``headers`` / ``response.headers`` never sees Retry-After.
    candidates = (getattr(e, "litellm_response_headers", None), getattr(e, "headers", None),
                  getattr(getattr(e, "response", None), "headers", None))
    for headers in candidates:
        if not headers:
            continue
        value = headers.get("retry-after") or headers.get("Retry-After")
        if value is None:
            continue
        try:
            return max(0.0, float(value))
        except ValueError:
            return None
    return None


def classify_exception(e: Exception) -> ExecutionError:
    """Map a litellm / OpenAI SDK exception to an :class:`ExecutionError` with a retry decision."""
    import litellm

    message = f"{type(e).__name__}: {str(e)[:500]}"
    if isinstance(e, ConfigError):
        raise e
    if isinstance(e, litellm.RateLimitError):
        return ExecutionError(message, kind="rate_limit", retryable=True, retry_after=_retry_after(e))
    if isinstance(e, litellm.Timeout):
        return ExecutionError(message, kind="timeout", retryable=True)
    if isinstance(e, (litellm.AuthenticationError, litellm.PermissionDeniedError)):
        return ExecutionError(message, kind="auth", retryable=False)
    if isinstance(e, (litellm.BadRequestError, litellm.NotFoundError, litellm.UnprocessableEntityError)):
        return ExecutionError(message, kind="bad_request", retryable=False)
    if isinstance(e, litellm.APIConnectionError):
        return ExecutionError(message, kind="connection", retryable=True)
    status = getattr(e, "status_code", None)
    if isinstance(status, int) and status >= 500:
        return ExecutionError(message, kind="server_error", retryable=True, retry_after=_retry_after(e))
    if isinstance(e, (litellm.InternalServerError, litellm.ServiceUnavailableError, litellm.APIError)):
        return ExecutionError(message, kind="server_error", retryable=True, retry_after=_retry_after(e))
    return ExecutionError(message, kind="other", retryable=False)
