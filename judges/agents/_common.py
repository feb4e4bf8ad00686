"""Helpers shared by the three agents: the shared prompt prefix, the numbered conversation, outcomes.

All three agents of a judge send the same system message (the panel brief with the rubric) and start
their user message with the same conversation block, so a local model reuses that prefix's KV cache
across every call and a hosted one can use its prompt cache. What differs comes last.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from string import Template
from typing import Any, TypeVar

from pydantic import BaseModel

from judges.client.model import ModelClient
from judges.injection import DEFAULT_DEFENCES, Defences, Role, shield
from judges.prompts import load_prompt, neutralise
from judges.spans import numbered, split_spans
from judges.structured import StructuredReply
from judges.types import Context, Outcome
from protocols import Protocol

__all__ = ["ConversationView", "brief", "conversation_view", "failed", "format_hint", "prompt_version",
           "succeeded", "untrusted_parts"]

T = TypeVar("T")

_BRIEF = "panel.v2"


def format_hint(client: ModelClient, model: type[BaseModel]) -> str:
    """Tell the model the reply format; spell out the schema where the provider does not enforce it."""
    if client.structured_output in ("prompt", "json_object"):
        schema = json.dumps(model.model_json_schema(), separators=(",", ":"))
        return f"\nAnswer with one JSON object that follows this JSON schema, and nothing else:\n{schema}"
    return "\nAnswer with one JSON object."


def brief(protocol: Protocol) -> str:
    """The system message every agent of every judge sends for this protocol: the panel brief and the rubric."""
    return _brief(protocol.rubric_text())


@cache
def _brief(rubric: str) -> str:
    return Template(load_prompt(_BRIEF).system).substitute(rubric=rubric).strip()


def prompt_version(agent_template_version: str) -> str:
    """The version stored with a call: the agent's template and the shared brief it is sent with."""
    return f"{agent_template_version}+{load_prompt(_BRIEF).version}"


@dataclass(frozen=True)
class ConversationView:
    """The conversation as the judge sees it, and the seeker's spans it can cite by number (1-based)."""

    block: str
    spans: list[str]

    def span(self, number: int) -> str | None:
        """The span with this number, or None when there is none."""
        return self.spans[number - 1] if 1 <= number <= len(self.spans) else None


def untrusted_parts(text: str, parts: list[str], defences: Defences, *, role: Role) -> list[str]:
    """How the judge sees each part (exact substrings, in order) of an untrusted text under ``defences``.

    With no defence on, the parts as they are; otherwise their shielded view (:func:`judges.injection.shield`:
    spans addressed to the judge withheld, and in a candidate reply (``role="reply"``) authority claims, stuffed
    and repeated sentences too; hidden characters removed). Callers delimit the result.
    """
    if not defences.any:
        return list(parts)
    return shield(text, defences, role=role).show_parts(parts)


def conversation_view(context: Context, defences: Defences = DEFAULT_DEFENCES) -> ConversationView:
    """The conversation delimited as untrusted data, the seeker's sentences numbered for citation.

    Every turn is shown through ``defences`` (see :mod:`judges.injection.defend`); the spans the judge cites
    are kept as written.
    """
    spans: list[str] = []
    lines = []
    for turn in context.turns:
        if turn.role == "seeker":
            parts = split_spans(turn.text)
            shown = untrusted_parts(turn.text, parts, defences, role="context")
            text = numbered([neutralise("conversation", p) for p in shown], start=len(spans) + 1)
            spans.extend(parts)
        else:
            text = neutralise("conversation", untrusted_parts(turn.text, [turn.text], defences, role="context")[0])
        lines.append(f"{turn.role.upper()}: {text}")
    return ConversationView(block="<conversation>\n" + "\n".join(lines) + "\n</conversation>", spans=spans)


def failed(reply: StructuredReply[Any]) -> Outcome[Any]:
    """The abstention for a reply that produced no usable value."""
    return Outcome(abstention=reply.failure or "invalid_output", detail=reply.detail, calls=reply.calls,
                   repaired=reply.repaired)


def succeeded(value: T, reply: StructuredReply[Any]) -> Outcome[T]:
    """The outcome carrying a value."""
    return Outcome(value=value, calls=reply.calls, repaired=reply.repaired)
