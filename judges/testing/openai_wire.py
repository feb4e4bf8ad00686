"""The OpenAI chat-completions wire format as the fake server needs it: recorded requests, schemas, bodies."""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

__all__ = ["RecordedRequest", "body_key", "completion_body", "find_schema", "message_text", "quote_sources"]


@dataclass
class RecordedRequest:
    """One chat-completion request the server received."""

    index: int
    """Arrival order, from 0."""
    body: dict[str, Any]
    """The JSON body."""
    outcome: str
    """The outcome the server chose."""
    received_at: float
    """``time.monotonic()`` at arrival."""
    responded_at: float | None = None
    """``time.monotonic()`` when the answer was sent (None while hanging or in flight)."""
    status: int | None = None
    """HTTP status sent."""

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages."""
        return list(self.body.get("messages", []))

    @property
    def text(self) -> str:
        """Every message's text, joined by blank lines."""
        return "\n\n".join(message_text(m) for m in self.messages)


def message_text(message: dict[str, Any]) -> str:
    """Return the text of a chat message (plain string or OpenAI content parts)."""
    content = message.get("content") or ""
    if isinstance(content, list):  # OpenAI content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def find_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """Find the schema a request wants: OpenAI ``json_schema``, llama.cpp ``json_object``, or the prompt."""
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else None
    if fmt.get("type") == "json_object" and isinstance(fmt.get("schema"), dict):
        return fmt["schema"]
    decoder = json.JSONDecoder()
    for message in body.get("messages", []):
        text = message_text(message)
        for match in re.finditer(r"\{\s*\"", text):
            try:
                value, _ = decoder.raw_decode(text, match.start())
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict) and ("properties" in value or "$defs" in value):
                return value
    return None


def _between(tag: str, messages: list[dict[str, Any]]) -> str | None:
    for message in reversed(messages):  # the last user message holding the block (repairs come after it)
        if message.get("role") != "user":
            continue
        found = re.search(rf"<{tag}>\n?(.*?)\n?</{tag}>", message_text(message), flags=re.S)
        if found and found.group(1).strip():
            return found.group(1).strip()
    return None


def quote_sources(messages: list[dict[str, Any]]) -> dict[str, str]:
    """Map field name → text its quotes copy: ``evidence`` the conversation, ``quote`` the candidate.

    ``quote`` falls back to the conversation when the prompt has no candidate (the ToM agent's risk quotes).
    """
    conversation, candidate = _between("conversation", messages), _between("candidate", messages)
    sources: dict[str, str] = {}
    if conversation:
        sources["evidence"] = conversation
    if candidate or conversation:
        sources["quote"] = candidate or conversation  # type: ignore[assignment]
    return sources


def body_key(body: dict[str, Any]) -> str:
    """Hash a request body (canonical JSON)."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


_TOKENS = re.compile(r"\d|\D+")


def digit_logprobs(content: str, top: int, spread: float = 0.25) -> dict[str, Any]:
    """OpenAI-style ``logprobs`` for ``content``, a digit a token.

    Each digit's alternatives are the digits 0-9, the written one most likely and its neighbours sharing
    ``spread`` of the mass (so the expected value of a score stays near the point written); other text is
    one token per run, certain.
    """
    entries = []
    for token in _TOKENS.findall(content):
        if token.isdigit():
            d = int(token)
            weights = {str(k): (1 - spread) if k == d else spread / 2 if abs(k - d) == 1 else 1e-4 for k in range(10)}
            total = sum(weights.values())
            alternatives = sorted(((t, math.log(w / total)) for t, w in weights.items()), key=lambda a: -a[1])[:top]
        else:
            alternatives = [(token, 0.0)]
        entries.append({"token": token, "logprob": dict(alternatives).get(token, 0.0), "bytes": None,
                        "top_logprobs": [{"token": t, "logprob": lp, "bytes": None} for t, lp in alternatives]})
    return {"content": entries}


def completion_body(body: dict[str, Any], content: str, *, logprobs: bool = True,
                    logprobs_content: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build an OpenAI chat completion carrying ``content``; usage counts about four characters a token.

    When the request asks for ``logprobs`` (and ``logprobs`` here is True) the choice carries them:
    ``logprobs_content`` when given (a simulated judge's), else :func:`digit_logprobs`.
    """
    wanted = logprobs and bool(body.get("logprobs"))
    prompt_chars = sum(len(message_text(m)) for m in body.get("messages", []))
    usage = {"prompt_tokens": max(1, prompt_chars // 4), "completion_tokens": max(1, len(content) // 4)}
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "system_fingerprint": "fake-openai",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
                "logprobs": (logprobs_content or digit_logprobs(content, int(body.get("top_logprobs") or 1)))
                if wanted else None,
            }
        ],
        "usage": {**usage, "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"]},
    }
