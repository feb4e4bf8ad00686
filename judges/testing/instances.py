"""Deterministic instances of JSON schemas as pydantic emits them, for the fake OpenAI server.

Handles objects (properties, required, ``$defs`` / ``$ref``, ``allOf``), arrays (``items``,
``prefixItems``, ``minItems`` / ``maxItems``, ``uniqueItems``), strings (``minLength`` / ``maxLength``,
a few formats), ``enum`` / ``const`` (pydantic's ``Literal``), integers and numbers with bounds,
booleans, null, ``anyOf`` / ``oneOf`` (the first non-null branch) and list-valued ``type``.

Strings that must be quotes are real quotes: a field whose name is in ``quotes`` gets a short span of
the text mapped to it, so validators that check a quote really occurs accept the answer.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from typing import Any, Literal

__all__ = ["Choice", "schema_instance"]

Choice = Literal["random", "first", "last"]
"""How enum values, array lengths, numbers and booleans are picked: seeded RNG, or always the low/high end."""

_WORDS = (
    "steady",
    "calm",
    "clear",
    "brief",
    "kind",
    "plain",
    "warm",
    "open",
    "fair",
    "gentle",
    "short",
    "note",
)
_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "email": "fake@example.org",
    "uri": "https://example.org/",
}
_MAX_DEPTH = 32
_SHALLOW = 8


class _Generator:
    def __init__(
        self,
        root: dict[str, Any],
        rng: random.Random,
        choice: Choice,
        quotes: Mapping[str, str],
        quote_words: int,
    ) -> None:
        self.root = root
        self.rng = rng
        self.choice = choice
        self.quotes = quotes
        self.quote_words = quote_words

    def value(self, schema: Any, name: str | None, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise ValueError("schema nests too deeply (recursive $ref?)")
        if not isinstance(schema, dict):  # `true` or a bare value: anything goes
            return self._string({}, name)
        if "$ref" in schema:
            return self.value(self._resolve(schema["$ref"]), name, depth + 1)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return self._pick(list(schema["enum"]))
        for key in ("anyOf", "oneOf"):
            if key in schema:
                branches = [b for b in schema[key] if not (isinstance(b, dict) and b.get("type") == "null")]
                return self.value((branches or schema[key])[0], name, depth + 1)
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged.update(self._resolve(part["$ref"]) if "$ref" in part else part)
            merged.update({k: v for k, v in schema.items() if k != "allOf"})
            return self.value(merged, name, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
        return self._typed(kind, schema, name, depth)

    def _typed(self, kind: str, schema: dict[str, Any], name: str | None, depth: int) -> Any:
        if kind == "object":
            props = schema.get("properties", {})
            return {key: self.value(sub, key, depth + 1) for key, sub in props.items()}
        if kind == "array":
            return self._array(schema, name, depth)
        if kind == "string":
            return self._string(schema, name)
        if kind in ("integer", "number"):
            return self._number(schema, integer=kind == "integer")
        if kind == "boolean":
            return self._pick([True, False])
        return None

    def _resolve(self, ref: str) -> dict[str, Any]:
        if not ref.startswith("#/"):
            raise ValueError(f"only local $ref is supported, got {ref!r}")
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def _pick(self, options: list[Any]) -> Any:
        if self.choice == "first":
            return options[0]
        if self.choice == "last":
            return options[-1]
        return self.rng.choice(options)

    def _array(self, schema: dict[str, Any], name: str | None, depth: int) -> list[Any]:
        prefix = schema.get("prefixItems", [])
        low = max(int(schema.get("minItems", 0)), len(prefix))
        high = int(schema.get("maxItems", low + 3))
        if depth > _SHALLOW:  # deep inside a (recursive) schema: the fewest items allowed, so it ends
            n = low
        elif self.choice == "random":
            n = self.rng.randint(low, max(low, min(high, low + 2)))
        else:
            n = min(max(low, 1), high)
        item_schema = schema.get("items", {})
        if isinstance(item_schema, dict) and "$ref" in item_schema:
            item_schema = self._resolve(item_schema["$ref"])
        if (
            schema.get("uniqueItems")
            and not prefix
            and isinstance(item_schema, dict)
            and "enum" in item_schema
        ):
            options = list(item_schema["enum"])  # distinct enum values, taken from the chosen end
            n = min(n, len(options))
            return (
                options[:n]
                if self.choice == "first"
                else options[-n:]
                if self.choice == "last"
                else (self.rng.sample(options, n))
            )
        items = [self.value(p, name, depth + 1) for p in prefix[:n]]
        seen = {json.dumps(i, sort_keys=True) for i in items}
        for _ in range(n - len(items)):
            for _try in range(16):  # uniqueItems: draw again a few times before giving up
                item = self.value(item_schema, name, depth + 1)
                key = json.dumps(item, sort_keys=True)
                if not schema.get("uniqueItems") or key not in seen:
                    break
            seen.add(key)
            items.append(item)
        return items

    def _string(self, schema: dict[str, Any], name: str | None) -> str:
        low = int(schema.get("minLength", 0))
        high = schema.get("maxLength")
        if name in self.quotes:
            quote = self._quote(self.quotes[name], high)
            if len(quote) >= low:
                return quote
        if schema.get("format") in _FORMATS:
            return _FORMATS[schema["format"]]
        target = max(low, 12) if high is None else min(max(low, 12), int(high))
        words: list[str] = []
        while len(" ".join(words)) < target:
            words.append(
                self._pick(list(_WORDS)) if self.choice == "random" else _WORDS[len(words) % len(_WORDS)]
            )
        text = " ".join(words)
        if high is not None:
            text = text[: int(high)].rstrip() or text[: int(high)]
        return text.ljust(low, "x")

    def _quote(self, text: str, max_length: int | None) -> str:
        words = text.split()
        if not words:
            return ""
        n = min(self.quote_words, len(words))
        start = self.rng.randint(0, len(words) - n) if self.choice == "random" else 0
        span = " ".join(words[start : start + n])
        if max_length is not None:
            span = span[: int(max_length)]
        return span.strip()

    def _number(self, schema: dict[str, Any], *, integer: bool) -> int | float:
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        step = 1 if integer else 0.01
        if "exclusiveMinimum" in schema and "minimum" not in schema:
            low += step
        if "exclusiveMaximum" in schema and "maximum" not in schema:
            high -= step
        low = 0 if low is None else low
        high = low + 10 if high is None else high
        if self.choice == "first":
            value = low
        elif self.choice == "last":
            value = high
        else:
            value = self.rng.uniform(low, high)
        if integer:
            return int(min(max(round(value), int(-(-low // 1))), int(high // 1)))
        return round(min(max(value, low), high), 4)


def schema_instance(
    schema: dict[str, Any],
    *,
    rng: random.Random | None = None,
    choice: Choice = "random",
    quotes: Mapping[str, str] | None = None,
    quote_words: int = 6,
) -> Any:
    """Build a value that validates against ``schema``.

    Args:
        schema: A JSON schema as pydantic's ``model_json_schema()`` emits it (``$defs`` at the root).
        rng: The random source for ``choice="random"`` (a fresh ``Random(0)`` when omitted).
        choice: ``random`` draws enum values, lengths and numbers from ``rng``; ``first`` / ``last`` always
            take the low / high end (the first / last enum value, the fewest items above zero).
        quotes: Field name → text: string fields with that name get a span of the text (e.g.
            ``{"evidence": conversation, "quote": candidate}``).
        quote_words: Words in a quoted span.

    Returns:
        A JSON-ready value.

    Raises:
        ValueError: for a non-local ``$ref`` or a recursive schema.

    Example:
        >>> schema_instance({"type": "object", "properties": {"n": {"enum": [1, 2]}}}, choice="first")
        {'n': 1}

    """
    gen = _Generator(schema, rng or random.Random(0), choice, quotes or {}, quote_words)
    return gen.value(schema, None, 0)
