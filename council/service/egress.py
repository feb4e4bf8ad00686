"""The egress policy for inline judges: where a client's judge may send prompts, and with whose credentials.

Decided on the request litellm would actually make, not on the fields the client sent: the provider and
endpoint come from :func:`litellm.get_llm_provider` (which applies provider defaults and the server's
``*_API_BASE`` environment), and "server credentials" means any key the server would contribute — an
``api_key_env``, or, without an ``api_base`` of the judge's own, whatever key litellm finds in the
server's environment for that provider. Default deny:

- an endpoint is allowed only when it matches one of the operator's ``allowed_api_bases`` (scheme,
  host and port equal, path a prefix), and then the judge gets no server key;
- a provider's default endpoint, or any use of the server's credentials, needs the provider in the
  operator's ``allow_server_credentials``; a server key never goes to a client-chosen ``api_base``.

Named councils are the operator's own and are not checked.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from council.service.errors import RequestError
from judges.types import JudgeSpec

__all__ = ["EgressPolicy", "Resolved", "resolve"]

# Providers that take the key litellm is given: with an explicit api_base the adapter passes a dummy key,
# so no credential of the server's reaches the endpoint. Other providers (bedrock, vertex_ai, azure AD
# ...) sign requests with ambient server credentials whatever api_base says.
KEYED_PROVIDERS = frozenset({
    "openai", "custom_openai", "text-completion-openai", "openai_like", "hosted_vllm", "lm_studio", "ollama",
    "ollama_chat", "llamafile", "litellm_proxy", "anthropic", "groq", "together_ai", "deepseek", "mistral",
    "fireworks_ai", "openrouter", "xai", "deepinfra", "perplexity", "cohere", "cohere_chat",
})


class Resolved(NamedTuple):
    """Where litellm would send a judge's calls."""

    provider: str
    endpoint: str | None
    """The resolved endpoint URL; None for the provider's built-in default."""
    server_key: bool
    """Whether a key from the server's environment would be sent."""


def _litellm() -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True  # an unknown provider must not print litellm's banner to stdout
    return litellm


def _env_key_present(litellm: Any, model: str) -> bool:
    try:
        found = litellm.validate_environment(model=model)
    except Exception:  # noqa: BLE001 - unknown to the validator: assume it would find a key
        return True
    return bool(found.get("keys_in_environment"))


def resolve(judge: JudgeSpec) -> Resolved:
    """The provider, endpoint and credential source litellm would use for this judge's calls.

    Raises:
        RequestError: naming ``model`` when litellm cannot resolve a provider for it.
    """
    litellm = _litellm()
    try:
        _, provider, dynamic_key, api_base = litellm.get_llm_provider(model=judge.model, api_base=judge.api_base)
    except Exception as e:  # noqa: BLE001 - litellm raises several types for an unknown provider
        raise RequestError(f"model {judge.model!r}: litellm knows no provider for it", field="model") from e
    endpoint = api_base or judge.api_base
    if judge.api_key_env is not None:
        server_key = True
    elif judge.api_base is not None and provider in KEYED_PROVIDERS:
        server_key = False  # the adapter sends a dummy key: nothing of the server's goes along
    else:
        server_key = bool(dynamic_key) or _env_key_present(litellm, judge.model) or provider not in KEYED_PROVIDERS
    return Resolved(str(provider), str(endpoint) if endpoint else None, server_key)


def _matches(url: str, prefix: str) -> bool:
    """``url`` is ``prefix`` or below it: same scheme, host and port, path a prefix on a segment boundary."""
    try:
        u, p = urlsplit(url), urlsplit(prefix)
        same_origin = (u.scheme, u.hostname, u.port) == (p.scheme, p.hostname, p.port)
    except ValueError:
        return False
    if not same_origin or not u.hostname or u.username or u.password:
        return False
    base = p.path.rstrip("/")
    return u.path == base or u.path.startswith(base + "/") or (not base and u.path in ("", "/"))


class EgressPolicy:
    """The operator's allow rules, applied to every judge of an inline council at submission."""

    def __init__(self, allowed_api_bases: Sequence[str] = (), allow_server_credentials: Sequence[str] = ()) -> None:
        self.allowed_api_bases = tuple(allowed_api_bases)
        self.allow_server_credentials = frozenset(allow_server_credentials)

    def endpoint_allowed(self, url: str) -> bool:
        """Whether an endpoint matches one of the operator's allowed prefixes."""
        return any(_matches(url, prefix) for prefix in self.allowed_api_bases)

    def check(self, judge: JudgeSpec, field: str) -> None:
        """Refuse the judge (422 naming ``{field}.<attribute>``) unless the operator allowed its resolved request."""
        try:
            resolved = resolve(judge)
        except RequestError as e:
            raise RequestError(e.message, field=f"{field}.model") from e
        credentials_ok = resolved.provider in self.allow_server_credentials
        if judge.api_key_env is not None and judge.api_base is not None:
            raise RequestError("an inline judge cannot send a key from the server's environment to an api_base "
                               "of its own; ask the operator for a named council", field=f"{field}.api_key_env")
        if resolved.server_key and not credentials_ok:
            culprit = "api_key_env" if judge.api_key_env else "model"
            raise RequestError(f"judge {judge.id!r} would use the server's credentials for provider "
                               f"{resolved.provider!r}, which the operator does not allow for inline councils; "
                               "give an allowed api_base", field=f"{field}.{culprit}")
        if resolved.endpoint is None:
            if not credentials_ok:
                raise RequestError(f"judge {judge.id!r} resolves to the default endpoint of provider "
                                   f"{resolved.provider!r}, which the operator does not allow for inline councils; "
                                   "give an allowed api_base", field=f"{field}.model")
            return
        if self.endpoint_allowed(resolved.endpoint) and (judge.api_base is None or
                                                         self.endpoint_allowed(judge.api_base)):
            return
        if judge.api_base is None and credentials_ok:
            return  # the server's own configuration for a provider the operator allowed
        culprit = "api_base" if judge.api_base is not None else "model"
        raise RequestError(f"judge {judge.id!r}: its endpoint is not one the operator allows for inline councils",
                           field=f"{field}.{culprit}")
