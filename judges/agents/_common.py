"""Helpers shared by the three agents: prompt rendering pieces and outcome building."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel

from judges.client.model import ModelClient
from judges.prompts import delimit
from judges.structured import StructuredReply
from judges.types import Context, Outcome

T = TypeVar("T")


def format_hint(client: ModelClient, model: type[BaseModel]) -> str:
    """Tell the model the reply format; spell out the schema where the provider does not enforce it."""
    if client.structured_output in ("prompt", "json_object"):
        schema = json.dumps(model.model_json_schema(), separators=(",", ":"))
        return f"\nAnswer with one JSON object that follows this JSON schema, and nothing else:\n{schema}"
    return "\nAnswer with one JSON object."


def context_block(context: Context) -> str:
    """The conversation, delimited as untrusted data."""
    return delimit("conversation", context.transcript())


def failed(reply: StructuredReply[Any]) -> Outcome[Any]:
    """The abstention for a reply that produced no usable value."""
    return Outcome(abstention=reply.failure or "invalid_output", detail=reply.detail, calls=reply.calls,
                   repaired=reply.repaired)


def succeeded(value: T, reply: StructuredReply[Any]) -> Outcome[T]:
    """The outcome carrying a value."""
    return Outcome(value=value, calls=reply.calls, repaired=reply.repaired)
