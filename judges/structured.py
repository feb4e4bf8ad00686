"""Structured output: parse a reply into a pydantic model, check its content, repair once, or abstain.

Parsing (bad structure) and checking (bad content, e.g. a quote that does not occur) are separate
steps so they give different errors. A reply that still fails after one repair re-prompt becomes an
abstention with the reason, never a default value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from judges.client.model import ModelClient
from judges.client.records import CallTags, TokenLogprobs
from judges.errors import BudgetExceeded, ExecutionError

__all__ = ["Problem", "StructuredReply", "extract_json", "generate_structured", "parse_reply"]

M = TypeVar("M", bound=BaseModel)

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a parsed reply."""

    field: str
    """Dotted path of the offending field."""
    message: str
    """What is wrong, phrased for the model to fix."""
    kind: str = "invalid_output"
    """Abstention reason this problem leads to if it persists (e.g. ``quote_not_found``)."""


@dataclass
class StructuredReply(Generic[M]):
    """The outcome of asking for structured output."""

    value: M | None = None
    """The parsed reply (possibly with remaining content problems), or None."""
    problems: list[Problem] = field(default_factory=list)
    """Problems left after the repair re-prompt."""
    calls: list[str] = field(default_factory=list)
    """Call ids, in order."""
    repaired: bool = False
    """Whether the repair re-prompt was used."""
    failure: str | None = None
    """Abstention reason when there is no usable value (``provider_error``, ``invalid_output`` ...)."""
    detail: str = ""
    """Human-readable detail of the failure."""
    text: str = ""
    """The raw text of the reply that ``value`` was parsed from."""
    logprobs: TokenLogprobs | None = None
    """That reply's top logprobs per generated token, when they were asked for and returned."""


@cache
def _schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema, computed once per class (agents' reply models are cached classes)."""
    return model.model_json_schema()


def extract_json(text: str) -> str:
    """The JSON object inside a reply: strips code fences and any prose around the outermost braces."""
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1)
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end < start:
        return text.strip()
    return text[start : end + 1]


def parse_reply(text: str, model: type[M]) -> tuple[M | None, list[Problem]]:
    """Parse and validate a reply; return the value or the structural problems."""
    try:
        data = json.loads(extract_json(text), strict=False)  # tolerate raw newlines inside strings
    except json.JSONDecodeError as e:
        return None, [Problem("<root>", f"the reply is not valid JSON ({e.msg} at position {e.pos})")]
    try:
        return model.model_validate(data), []
    except ValidationError as e:
        return None, [
            Problem(".".join(str(p) for p in err["loc"]) or "<root>", err["msg"]) for err in e.errors()[:10]
        ]


def _better(value: BaseModel | None, problems: list[Problem], current: StructuredReply[M]) -> bool:
    """Whether a reply beats the one held: parsed beats unparsed, then fewer problems (ties: the newer)."""
    if current.value is None:
        return True
    return value is not None and len(problems) <= len(current.problems)


def _repair_message(problems: list[Problem]) -> str:
    listed = "\n".join(f"- {p.field}: {p.message}" for p in problems[:10])
    return (
        "Your previous answer has these problems:\n"
        f"{listed}\n"
        "Answer again with the complete corrected JSON object only. Quotes must be copied exactly."
    )


async def generate_structured(
    client: ModelClient,
    messages: list[dict[str, str]],
    model: type[M],
    *,
    tags: CallTags,
    check: Callable[[M], list[Problem]] = lambda _: [],
    sample: int = 0,
    top_logprobs: int = 0,
    extra_body: dict[str, Any] | None = None,
) -> StructuredReply[M]:
    """Ask for a reply matching ``model``; check it; re-prompt once with the problems; report the rest.

    The caller decides what remaining content problems mean (drop a hypothesis, abstain on one
    attribute); a reply that never parsed is an ``invalid_output`` failure.
    """
    out: StructuredReply[M] = StructuredReply()
    schema = _schema(model)
    conversation = list(messages)
    for attempt in range(2):
        try:
            reply = await client.call(conversation, schema_name=model.__name__, schema=schema, tags=tags,
                                      sample=sample, top_logprobs=top_logprobs, extra_body=extra_body)
        except ExecutionError as e:
            out.failure, out.detail = "provider_error", f"{e.kind}: {e}"
            return out
        except BudgetExceeded as e:
            out.failure, out.detail = "budget_exceeded", str(e)
            return out
        out.calls.append(reply.call_id)
        value, problems = parse_reply(reply.text, model)
        if value is not None:
            problems = check(value)
        if _better(value, problems, out):  # a repair that makes things worse keeps the first reply
            out.value, out.problems, out.text, out.logprobs = value, problems, reply.text, reply.logprobs
        if not problems:
            return out
        if attempt == 0:
            out.repaired = True
            conversation = [*messages, {"role": "assistant", "content": reply.text},
                            {"role": "user", "content": _repair_message(problems)}]
    if out.value is None:
        out.failure = "invalid_output"
        out.detail = "; ".join(f"{p.field}: {p.message}" for p in out.problems)[:1000]
    return out
