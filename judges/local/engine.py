"""One GGUF model in this process: chat completions with per-token top logprobs, prefix reuse and grammars.

llama-cpp-python returns logprobs only when a model is loaded with ``logits_all=True``, which computes
the logits of every prompt token (a 151k-wide row per token) and made prompt processing several times
slower. Here the model is loaded with ``logits_all=False``: prompt processing computes only the last
position's logits, and while generating we read the logits of each sampled position and turn them into
the top-k logprobs ourselves. ``Llama.generate`` keeps the KV cache of the longest common token prefix
with the previous request, so requests that share their first messages (the rubric, the conversation)
only process what differs.

:meth:`Engine.readout` reads scores without generating: after the prompt, for each score field it
evaluates the tokens of ``{"field": `` (the ``{"`` they share once, the rest in one batch per field) and
reads the model's distribution over the scale points at the next position, then rolls the KV cache back.
Each field is read independently of the others (no score anchors the next one).

A reply to a JSON schema is decoded by :class:`~judges.local.guided.GuidedDecoder` (text the schema
decides is evaluated in batches, the model is asked only where it has a choice); schemas it does not
cover fall back to llama.cpp's grammar sampling, token by token.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from judges.local.guided import GuidedDecoder, Plan, VocabTables, compile_plan

__all__ = ["Completion", "Engine", "TokenLogprobs"]


@dataclass(frozen=True)
class TokenLogprobs:
    """One generated token with its logprob and the top alternatives at its position (raw model distribution)."""

    token: str
    logprob: float
    top: list[tuple[str, float]]


@dataclass
class Completion:
    """A finished generation and what it cost."""

    text: str
    finish_reason: str
    prompt_tokens: int
    """Tokens of the whole prompt (as the OpenAI usage counts them)."""
    cached_tokens: int
    """Prompt tokens reused from the KV cache of the previous request (not processed again)."""
    completion_tokens: int
    prompt_seconds: float
    """Wall time spent processing the prompt tokens that were not cached."""
    generation_seconds: float
    """Wall time spent generating (from the first sampled token to the last)."""
    logprobs: list[TokenLogprobs] = field(default_factory=list)
    model_steps: int | None = None
    """Schema-guided replies: tokens the model chose (the rest of the reply was text the schema decided)."""
    evaluations: int | None = None
    """Schema-guided replies: model evaluations (each one batch of forced text and/or one chosen token)."""


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max()
    return shifted - np.log(np.exp(shifted).sum())


class Engine:
    """A loaded model that answers one request at a time (llama.cpp keeps one sequence per context)."""

    def __init__(self, model_path: str, *, n_ctx: int = 4096, n_batch: int = 512, n_threads: int | None = None,
                 seed: int = 0) -> None:
        from llama_cpp import Llama, llama_chat_format

        self.llm = Llama(model_path=model_path, n_ctx=n_ctx, n_batch=n_batch, n_threads=n_threads,
                         n_threads_batch=n_threads, logits_all=False, seed=seed, verbose=False)
        model = self.llm._model
        eos, bos = self.llm.token_eos(), self.llm.token_bos()
        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ValueError(f"{model_path}: the GGUF carries no chat template")
        self._format = llama_chat_format.Jinja2ChatFormatter(
            template=template,
            eos_token=model.token_get_text(eos) if eos != -1 else "",
            bos_token=model.token_get_text(bos) if bos != -1 else "",
        )
        self._vocab = model.vocab
        self._lock = threading.Lock()
        self._tables: VocabTables | None = None

    def prompt_tokens(self, messages: list[dict[str, Any]]) -> list[int]:
        """The chat template applied to the messages, tokenised (special tokens parsed)."""
        prompt = self._format(messages=messages).prompt
        return self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)

    def _cached_prefix(self, tokens: list[int]) -> int:
        """How many leading tokens of ``tokens`` the KV cache already holds (the previous request's prefix)."""
        held = self.llm.input_ids[: self.llm.n_tokens].tolist()
        return next((i for i, (a, b) in enumerate(zip(held, tokens, strict=False)) if a != b),
                    min(len(held), len(tokens)))

    @lru_cache(maxsize=64)  # noqa: B019 - one engine per process; grammars are reused across requests
    def _grammar(self, schema_json: str) -> Any:
        from llama_cpp import LlamaGrammar

        return LlamaGrammar.from_json_schema(schema_json, verbose=False)

    def _piece(self, token: int) -> str:
        return self.llm.detokenize([token], special=False).decode("utf-8", errors="replace")

    def _is_end(self, token: int) -> bool:
        import llama_cpp

        return bool(llama_cpp.llama_vocab_is_eog(self._vocab, token))

    def complete(self, messages: list[dict[str, Any]], *, max_tokens: int = 256, temperature: float = 0.0,
                 seed: int | None = None, schema: dict[str, Any] | None = None, top_logprobs: int = 0,
                 guided: bool = True) -> Completion:
        """Generate a reply; with ``top_logprobs`` > 0 each generated token carries its top alternatives.

        A ``schema`` reply is schema-guided where the schema allows (``guided=False``: always the grammar,
        token by token — what the benchmark compares against).
        """
        with self._lock:
            return self._complete(messages, max_tokens, temperature, seed, schema, top_logprobs, guided)

    def _complete(self, messages: list[dict[str, Any]], max_tokens: int, temperature: float, seed: int | None,
                  schema: dict[str, Any] | None, top_logprobs: int, guided: bool) -> Completion:
        llm = self.llm
        tokens = self.prompt_tokens(messages)
        if len(tokens) + max_tokens > llm.n_ctx():
            raise ValueError(f"prompt of {len(tokens)} tokens + max_tokens {max_tokens} exceeds the context "
                             f"window of {llm.n_ctx()} tokens")
        # generate() replays one token when the prompt is fully cached
        cached = min(self._cached_prefix(tokens), len(tokens) - 1)
        if seed is not None:
            llm.set_seed(seed)
        plan = compile_plan(schema) if schema and guided else None
        if plan is not None:
            return self._complete_guided(tokens, cached, plan, max_tokens, temperature, seed, top_logprobs)
        grammar = self._grammar(json.dumps(schema)) if schema else None  # key order is the reply order
        pieces: list[int] = []
        logprobs: list[TokenLogprobs] = []
        finish = "length"
        started = time.perf_counter()
        first_token_at: float | None = None
        n_vocab = llm.n_vocab()
        for token in llm.generate(tokens, temp=temperature, top_k=40 if temperature > 0 else 1, top_p=1.0,
                                  min_p=0.0, repeat_penalty=1.0, grammar=grammar):
            if first_token_at is None:
                first_token_at = time.perf_counter()
            if top_logprobs > 0:
                raw = np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(n_vocab,))
                logprobs.append(self._token_logprobs(token, _log_softmax(raw.astype(np.float64)), top_logprobs))
            if self._is_end(token):
                finish = "stop"
                logprobs = logprobs[:-1] if top_logprobs > 0 else logprobs
                break
            pieces.append(token)
            if len(pieces) >= max_tokens:
                break
        ended = time.perf_counter()
        first_token_at = first_token_at or ended
        return Completion(
            text=llm.detokenize(pieces).decode("utf-8", errors="replace"), finish_reason=finish,
            prompt_tokens=len(tokens), cached_tokens=cached, completion_tokens=len(pieces),
            prompt_seconds=first_token_at - started, generation_seconds=ended - first_token_at, logprobs=logprobs,
        )

    def _vocab_tables(self) -> VocabTables:
        if self._tables is None:
            self._tables = VocabTables([self.llm.detokenize([i], special=False) for i in range(self.llm.n_vocab())])
        return self._tables

    def _complete_guided(self, tokens: list[int], cached: int, plan: Plan, max_tokens: int, temperature: float,
                         seed: int | None, top_logprobs: int) -> Completion:
        """A schema-bound reply by :class:`GuidedDecoder`: model steps only where the schema leaves a choice."""
        llm = self.llm
        tables = self._vocab_tables()
        n_vocab = llm.n_vocab()
        started = time.perf_counter()
        prompt_done: list[float] = []
        llm._ctx.kv_cache_seq_rm(-1, cached, -1)
        llm.n_tokens = cached

        def evaluate(batch: list[int]) -> np.ndarray:
            llm.eval(batch)
            if not prompt_done:
                prompt_done.append(time.perf_counter())
            return _log_softmax(np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(n_vocab,)).astype(np.float64))

        decoder = GuidedDecoder(
            evaluate, lambda text: llm.tokenize(text.encode(), add_bos=False, special=False),
            lambda token: llm.detokenize([token], special=False), tables, temperature=temperature, seed=seed,
            max_tokens=max_tokens, prompt_tail=tokens[cached:])
        finished = decoder.run(plan)
        ended = time.perf_counter()
        text = b"".join(step.text for step in decoder.steps).decode("utf-8", errors="replace")
        logprobs = []
        if top_logprobs > 0:
            for step in decoder.steps:
                piece = step.text.decode("utf-8", errors="replace")
                top = [(piece, 0.0)] if step.alternatives is None else [
                    (self._piece(t), lp) for t, lp in step.alternatives[:top_logprobs]]
                logprobs.append(TokenLogprobs(token=piece, logprob=step.logprob, top=top))
        first = prompt_done[0] if prompt_done else ended
        return Completion(
            text=text, finish_reason="stop" if finished else "length", prompt_tokens=len(tokens), cached_tokens=cached,
            completion_tokens=len(llm.tokenize(text.encode(), add_bos=False, special=False)),
            prompt_seconds=first - started, generation_seconds=ended - first, logprobs=logprobs,
            model_steps=decoder.model_steps, evaluations=decoder.evaluations)

    def readout(self, messages: list[dict[str, Any]], fields: list[str], points: list[int], *,
                top_logprobs: int = 5) -> Completion:
        """Each field's distribution over the scale points right after ``{"field": ``, read independently.

        The reply text is ``{"f1": p1, "f2": p2, ...}`` with each field's most likely point; its logprobs have
        one entry per digit (alternatives: every scale point plus the overall top ``top_logprobs``) and one
        certain entry per literal piece between them, so the tokens concatenate to the text.
        """
        with self._lock:
            return self._readout(messages, fields, points, top_logprobs)

    def _point_tokens(self, points: list[int]) -> list[int]:
        ids = []
        for p in points:
            tokens = self.llm.tokenize(str(p).encode(), add_bos=False, special=False)
            if len(tokens) != 1:
                raise ValueError(f"scale point {p} is not a single token for this model; use generation")
            ids.append(tokens[0])
        return ids

    def _readout(self, messages: list[dict[str, Any]], fields: list[str], points: list[int],
                 top_logprobs: int) -> Completion:
        llm = self.llm
        base = self.prompt_tokens(messages)
        if len(base) + 16 > llm.n_ctx():
            raise ValueError(f"prompt of {len(base)} tokens exceeds the context window of {llm.n_ctx()} tokens")
        point_ids = self._point_tokens(points)
        started = time.perf_counter()
        cached = self._cached_prefix(base)
        llm._ctx.kv_cache_seq_rm(-1, cached, -1)
        llm.n_tokens = cached
        if cached < len(base):
            llm.eval(base[cached:])
        prompt_done = time.perf_counter()
        n_vocab = llm.n_vocab()
        text, entries = "", []
        keys = [llm.tokenize(('{' + f'"{name}": ').encode(), add_bos=False, special=False) for name in fields]
        shared = 0  # leading tokens every key starts with (``{"``): evaluated once, kept across fields
        while all(len(k) > shared + 1 and k[shared] == keys[0][shared] for k in keys):
            shared += 1
        llm.eval(keys[0][:shared])
        for i, field_name in enumerate(fields):
            key = ("{" if i == 0 else ", ") + f'"{field_name}": '
            llm._ctx.kv_cache_seq_rm(-1, len(base) + shared, -1)
            llm.n_tokens = len(base) + shared
            llm.eval(keys[i][shared:])
            raw = np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(n_vocab,))
            logprobs = _log_softmax(raw.astype(np.float64))
            best = max(range(len(points)), key=lambda j: logprobs[point_ids[j]])
            top = np.argpartition(logprobs, -top_logprobs)[-top_logprobs:]
            alternatives = {str(p): float(logprobs[t]) for p, t in zip(points, point_ids, strict=True)}
            alternatives |= {self._piece(int(t)): float(logprobs[t]) for t in top if int(t) not in point_ids}
            entries.append(TokenLogprobs(token=key, logprob=0.0, top=[(key, 0.0)]))
            entries.append(TokenLogprobs(token=str(points[best]), logprob=float(logprobs[point_ids[best]]),
                                         top=sorted(alternatives.items(), key=lambda kv: -kv[1])))
            text += key + str(points[best])
        llm._ctx.kv_cache_seq_rm(-1, len(base), -1)
        llm.n_tokens = len(base)  # the next request reuses the prompt, not a readout
        entries.append(TokenLogprobs(token="}", logprob=0.0, top=[("}", 0.0)]))
        ended = time.perf_counter()
        return Completion(text=text + "}", finish_reason="stop", prompt_tokens=len(base), cached_tokens=cached,
                          completion_tokens=len(fields), prompt_seconds=prompt_done - started,
                          generation_seconds=ended - prompt_done, logprobs=entries)

    def _token_logprobs(self, token: int, logprobs: np.ndarray, k: int) -> TokenLogprobs:
        top = np.argpartition(logprobs, -k)[-k:]
        top = top[np.argsort(logprobs[top])[::-1]]
        return TokenLogprobs(token=self._piece(token), logprob=float(logprobs[token]),
                             top=[(self._piece(int(i)), float(logprobs[i])) for i in top])
