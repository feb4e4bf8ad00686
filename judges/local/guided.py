"""Schema-guided JSON decoding that spends model steps only where the model has a choice.

A reply to a JSON schema with fixed keys is mostly text the schema already decides: braces, key names,
quotes, separators. Token-by-token grammar sampling pays one decoding step for each of those tokens
(~2/3 of a ToM or domain reply). Here the schema is compiled into a small plan and walked:

- text the schema decides is queued and evaluated in one batch with the next step that needs logits
  (prompt-processing speed instead of one decoding step per token: "jump-forward" decoding);
- an enum value is a choice among its options' token sequences (a step only while options are still
  ambiguous; the rest of the chosen option is queued);
- whether an array gets another item is read from the logits of ``]`` against the item's first token;
- a free string is generated token by token under a mask (no quote, backslash or control character
  inside; the closing quote only once ``minLength`` is reached; nothing longer than ``maxLength``).

Greedy at temperature 0, sampled among the allowed tokens otherwise. Schemas with constructs the plan does
not cover (``anyOf``, free numbers, open objects …) return ``None`` from :func:`compile_plan`, and the engine
uses llama.cpp's grammar sampling instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Choice", "GuidedDecoder", "ListOf", "ObjectOf", "Plan", "Text", "VocabTables", "compile_plan"]


@dataclass(frozen=True)
class ObjectOf:
    """An object whose keys are written in schema order."""

    fields: tuple[tuple[str, Plan], ...]


@dataclass(frozen=True)
class ListOf:
    """An array of ``item`` with ``low`` to ``high`` entries (``high`` None: unbounded)."""

    item: Plan
    low: int
    high: int | None


@dataclass(frozen=True)
class Text:
    """A free JSON string of ``low`` to ``high`` characters."""

    low: int
    high: int | None


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of JSON literals (enum, const, boolean), each as its JSON text."""

    options: tuple[str, ...]


Plan = ObjectOf | ListOf | Text | Choice


def compile_plan(schema: dict[str, Any]) -> Plan | None:
    """The decoding plan for a JSON schema, or None when the schema uses what the plan does not cover."""
    defs = schema.get("$defs") or schema.get("definitions") or {}

    def walk(node: dict[str, Any], depth: int) -> Plan | None:
        if depth > 16:
            return None
        if "$ref" in node:
            name = str(node["$ref"]).rsplit("/", 1)[-1]
            return walk(defs[name], depth + 1) if name in defs else None
        if "const" in node:
            return Choice((json.dumps(node["const"]),))
        if "enum" in node:
            options = tuple(json.dumps(v) for v in node["enum"])
            return Choice(options) if options and len(set(options)) == len(options) else None
        kind = node.get("type")
        if kind == "boolean":
            return Choice(("true", "false"))
        if kind == "string" and not node.get("pattern") and not node.get("format"):
            return Text(int(node.get("minLength", 0)), node.get("maxLength"))
        if kind == "array" and isinstance(node.get("items"), dict):
            item = walk(node["items"], depth + 1)
            return ListOf(item, int(node.get("minItems", 0)), node.get("maxItems")) if item else None
        if kind == "object" and node.get("properties"):
            fields = []
            for key, sub in node["properties"].items():
                plan = walk(sub, depth + 1)
                if plan is None:
                    return None
                fields.append((key, plan))
            return ObjectOf(tuple(fields))
        return None

    return walk(schema, 0)


class VocabTables:
    """Per-token facts the string mask needs, computed once per model."""

    def __init__(self, pieces: list[bytes]) -> None:
        lengths = np.zeros(len(pieces), dtype=np.int32)
        inside = np.zeros(len(pieces), dtype=bool)
        for i, piece in enumerate(pieces):
            lengths[i] = len(piece.decode("utf-8", errors="ignore")) or (1 if piece else 0)
            inside[i] = bool(piece) and b'"' not in piece and b"\\" not in piece and min(piece) >= 0x20
        self.lengths = lengths
        self.inside = inside
        self._pieces = pieces
        self._starting: dict[bytes, np.ndarray] = {}
        self.exact = {piece: i for i, piece in enumerate(pieces) if piece}
        self.closers = np.array([i for i, piece in enumerate(pieces)
                                 if piece[:1] == b'"' and not piece[1:].strip(b" ,:]}\n")], dtype=np.int64)
        """Tokens that close a string: the quote alone or followed by JSON punctuation (``",`` ``"}`` …)."""

    def starting_with(self, text: bytes) -> np.ndarray:
        """Every token whose text begins with ``text`` (``{`` also counts ``{"``, ``]`` also ``],`` …)."""
        if text not in self._starting:
            self._starting[text] = np.array([i for i, piece in enumerate(self._pieces) if piece.startswith(text)],
                                            dtype=np.int64)
        return self._starting[text]


@dataclass
class Step:
    """One piece of the reply: forced text (``alternatives`` None) or a token the model chose."""

    text: bytes
    logprob: float = 0.0
    alternatives: list[tuple[int, float]] | None = None


class GuidedDecoder:
    """Walks a plan against a model; the model is reached only through the three callables given.

    ``evaluate(tokens)`` appends tokens to the sequence and returns the log-softmax at its last position;
    ``tokenize(text)`` and ``piece(token)`` convert between text and tokens.
    """

    def __init__(self, evaluate: Callable[[list[int]], np.ndarray], tokenize: Callable[[str], list[int]],
                 piece: Callable[[int], bytes], tables: VocabTables, *, temperature: float, seed: int | None,
                 max_tokens: int, prompt_tail: list[int]) -> None:
        self._evaluate = evaluate
        self._tokenize = tokenize
        self._piece = piece
        self._tables = tables
        self._temperature = temperature
        self._rng = np.random.default_rng(seed)
        self._budget = max_tokens
        self._pending_tokens = list(prompt_tail)
        self._pending_text = ""
        self.steps: list[Step] = []
        self.model_steps = 0
        """Tokens the model chose (enum options, free text)."""
        self.evaluations = 0
        self._last = np.zeros(0)

    # -- primitives ---------------------------------------------------------------------------------------

    def _force(self, text: str) -> None:
        if text:
            self._pending_text += text
            self.steps.append(Step(text.encode()))

    def _flush(self) -> np.ndarray:
        tokens = self._pending_tokens + (self._tokenize(self._pending_text) if self._pending_text else [])
        self._pending_tokens, self._pending_text = [], ""
        return self._evaluate_now(tokens) if tokens else self._last

    def _evaluate_now(self, tokens: list[int]) -> np.ndarray:
        self.evaluations += 1
        self._last = self._evaluate(tokens)
        return self._last

    def _pick(self, logprobs: np.ndarray, allowed: np.ndarray) -> int:
        if len(allowed) == 1:
            return int(allowed[0])
        scores = logprobs[allowed]
        if self._temperature <= 0:
            return int(allowed[int(np.argmax(scores))])
        weights = np.exp((scores - scores.max()) / self._temperature)
        return int(self._rng.choice(allowed, p=weights / weights.sum()))

    def _choose(self, token: int, logprobs: np.ndarray) -> None:
        self.model_steps += 1
        if self.model_steps > self._budget:
            raise _OutOfTokens
        top = np.argpartition(logprobs, -8)[-8:]
        self.steps.append(Step(self._piece(token), float(logprobs[token]),
                               [(int(t), float(logprobs[t])) for t in top[np.argsort(logprobs[top])[::-1]]]))

    # -- plan nodes ---------------------------------------------------------------------------------------

    def run(self, plan: Plan) -> bool:
        """Decode the whole reply; False when ``max_tokens`` ran out first (the text is then cut short)."""
        try:
            self._node(plan)
        except _OutOfTokens:
            return False
        return True

    def _node(self, plan: Plan) -> None:
        if isinstance(plan, ObjectOf):
            self._force("{")
            for i, (key, sub) in enumerate(plan.fields):
                self._force((", " if i else "") + json.dumps(key) + ": ")
                self._node(sub)
            self._force("}")
        elif isinstance(plan, ListOf):
            self._list(plan)
        elif isinstance(plan, Text):
            self._text(plan)
        else:
            self._option(plan.options)

    def _list(self, plan: ListOf) -> None:
        self._force("[")
        count = 0
        while plan.high is None or count < plan.high:
            if count >= plan.low and not self._another(plan.item, first=count == 0):
                break
            self._force(", " if count else "")
            self._node(plan.item)
            count += 1
        self._force("]")

    def _another(self, item: Plan, *, first: bool) -> bool:
        """Whether the model continues the array rather than closing it.

        Decided with token healing: the last token of the queued text is taken back, and the model's own
        tokens that spell the queued tail followed by ``]`` are weighed against those that spell it followed
        by the next item (``"},`` against ``"}]``), so a tokenisation the model would not have chosen does not
        push it to close the list.
        """
        tail = self._flush_all_but_tail()
        return self._decide(tail, ["]", *(_first_texts(item) if first else [","])]) != 0

    def _flush_all_but_tail(self) -> str:
        tokens = self._tokenize(self._pending_text) if self._pending_text else []
        tail = self._piece(tokens[-1]).decode("utf-8", errors="ignore") if tokens else ""
        if tail and self._tokenize(tail) == tokens[-1:]:
            tokens = tokens[:-1]
        else:
            tail = ""
        self._pending_tokens += tokens
        self._pending_text = ""
        if self._pending_tokens:
            self._flush()
        return tail

    def _decide(self, tail: str, continuations: list[str]) -> int:
        """Which continuation the model writes after the not yet evaluated ``tail`` (left queued)."""
        tables = self._tables
        while True:
            logprobs = self._last
            options = [tail + text for text in continuations]
            shared = _common_prefix(tuple(options))
            masses = []
            for option in options:
                encoded = option.encode()
                spelled = [tables.exact.get(encoded[:n]) for n in range(len(shared.encode()) + 1, len(encoded))]
                ids = np.concatenate([np.array([t for t in spelled if t is not None], dtype=np.int64),
                                      tables.starting_with(encoded)])
                masses.append(float(np.logaddexp.reduce(logprobs[ids])) if len(ids) else -np.inf)
            prefixes = [tables.exact.get(shared.encode()[:n]) for n in range(1, len(shared.encode()) + 1)]
            prefixes = [t for t in prefixes if t is not None]
            if prefixes:
                best = max(prefixes, key=lambda t: logprobs[t])
                if logprobs[best] > max(masses):
                    taken = self._piece(best).decode("utf-8", errors="ignore")
                    self._evaluate_now([best])
                    tail = tail[len(taken):]
                    continue
            if self._temperature <= 0:
                chosen = int(np.argmax(masses))
            else:
                weights = np.exp((np.array(masses) - max(masses)) / self._temperature)
                chosen = int(self._rng.choice(len(options), p=weights / weights.sum()))
            self._pending_text = tail
            return chosen

    def _binary(self, yes: float, no: float) -> bool:
        if self._temperature <= 0:
            return bool(yes > no)
        return bool(self._rng.random() < 1.0 / (1.0 + np.exp((no - yes) / self._temperature)))

    def _option(self, options: tuple[str, ...]) -> None:
        shared = _common_prefix(options)
        self._force(shared)
        rests = [o[len(shared):] for o in options]
        if len(rests) == 1:
            self._force(rests[0])
            return
        sequences = [self._tokenize(r) for r in rests]
        alive = list(range(len(rests)))
        position = 0
        logprobs = self._flush()
        while True:
            ended = [i for i in alive if len(sequences[i]) == position]
            longer = [i for i in alive if len(sequences[i]) > position]
            nexts = np.array(sorted({sequences[i][position] for i in longer}), dtype=np.int64)
            if ended and (not longer or np.exp(logprobs[nexts]).sum() < 0.5):
                return  # an option that is a prefix of others ends here (e.g. 1 among 1, 10, 11)
            token = self._pick(logprobs, nexts)
            self._choose(token, logprobs)
            alive = [i for i in longer if sequences[i][position] == token]
            position += 1
            if len(alive) == 1 and len(sequences[alive[0]]) >= position:
                self._pending_text += self._piece(token).decode("utf-8", errors="ignore")
                rest = sequences[alive[0]][position:]
                rest_text = b"".join(self._piece(t) for t in rest).decode("utf-8", errors="ignore")
                self._force(rest_text)
                return
            logprobs = self._evaluate_now([token])

    def _text(self, plan: Text) -> None:
        self._force('"')
        tables = self._tables
        candidates = np.flatnonzero(tables.inside)
        written = 0
        logprobs = self._flush()
        while True:
            token = self._pick(logprobs, candidates)
            room = None if plan.high is None else plan.high - written
            fits = room is None or tables.lengths[token] <= room
            may_close = written >= plan.low
            if may_close and (not fits or self._binary(float(np.logaddexp.reduce(logprobs[tables.closers])),
                                                       float(logprobs[token]))):
                break  # the model closes here, or its next word would not fit (never cut a word in half)
            if not fits:  # minLength not reached and the word does not fit: take the best piece that does
                token = self._pick(logprobs, candidates[tables.lengths[candidates] <= room])
            self._choose(token, logprobs)
            written += int(tables.lengths[token])
            logprobs = self._evaluate_now([token])
        self._force('"')


class _OutOfTokens(Exception):
    pass


def _first_texts(plan: Plan) -> list[str]:
    if isinstance(plan, ObjectOf):
        return ["{"]
    if isinstance(plan, ListOf):
        return ["["]
    if isinstance(plan, Text):
        return ['"']
    return sorted({o[0] for o in plan.options})


def _common_prefix(options: tuple[str, ...]) -> str:
    shared = options[0]
    for option in options[1:]:
        while not option.startswith(shared):
            shared = shared[:-1]
    return shared
