"""The embedded judges' HTTP server: one :class:`~judges.local.engine.Engine` behind an OpenAI-compatible API.

Serves ``POST /v1/chat/completions`` (``response_format`` with a JSON schema is decoded by the schema-guided
decoder, or by a llama.cpp grammar when the schema has constructs the decoder does not cover;
``logprobs`` / ``top_logprobs`` return the OpenAI ``choices[].logprobs.content`` shape; the extension
``score_readout: {fields, points}`` reads score distributions without generating) and
``GET /v1/models``, so litellm reaches it like any OpenAI-compatible server. Every reply carries
``timings`` (prompt tokens processed vs reused from the KV cache, seconds) for the benchmarks.

Run: ``python -m judges.local.openai_server --model FILE --alias NAME --port 8811 [--threads N]``.
"""

from __future__ import annotations

import argparse
import time
import uuid
from typing import Any, Literal

from fastapi import FastAPI, HTTPException
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from judges.local.engine import Completion, Engine

__all__ = ["ChatRequest", "build_app", "main"]

MAX_TOP_LOGPROBS = 20  # OpenAI's own cap


class ChatMessage(BaseModel):
    """One chat message (text content only)."""

    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "user", "assistant"]
    content: str


class ScoreReadout(BaseModel):
    """Score fields to read independently, and the scale points (single digits) each can take."""

    model_config = ConfigDict(extra="forbid")
    fields: list[str] = Field(min_length=1, max_length=64)
    points: list[int] = Field(min_length=2, max_length=10)


class ChatRequest(BaseModel):
    """The subset of the OpenAI chat-completions request the embedded judges honour."""

    model_config = ConfigDict(extra="ignore")
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1, le=4096)
    temperature: float = Field(0.0, ge=0, le=2)
    seed: int | None = None
    response_format: dict[str, Any] | None = None
    logprobs: bool = False
    top_logprobs: int | None = Field(None, ge=0, le=MAX_TOP_LOGPROBS)
    score_readout: ScoreReadout | None = None
    """Our extension: read these score fields' distributions instead of generating (see Engine.readout)."""


def _schema(response_format: dict[str, Any] | None) -> dict[str, Any] | None:
    if not response_format:
        return None
    kind = response_format.get("type")
    if kind == "json_schema":
        return (response_format.get("json_schema") or {}).get("schema") or {"type": "object"}
    if kind == "json_object":
        return response_format.get("schema") or {"type": "object"}
    return None


def _logprobs(done: Completion) -> dict[str, Any]:
    return {"content": [
        {"token": t.token, "logprob": t.logprob, "bytes": list(t.token.encode()),
         "top_logprobs": [{"token": s, "logprob": lp, "bytes": list(s.encode())} for s, lp in t.top]}
        for t in done.logprobs]}


def build_app(engine: Engine, alias: str) -> FastAPI:
    """The FastAPI app serving one model under one alias."""
    app = FastAPI(title=f"Affective Council embedded judge: {alias}")

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": alias, "object": "model", "owned_by": "affective-council"}]}

    @app.post("/v1/chat/completions")
    async def chat(request: ChatRequest) -> dict[str, Any]:
        if request.model != alias:
            raise HTTPException(404, f"model {request.model!r} is not served here; this server serves {alias!r}")
        top = (request.top_logprobs or 1) if request.logprobs else 0
        messages = [m.model_dump() for m in request.messages]
        try:
            if request.score_readout is not None:
                readout = request.score_readout
                done = await run_in_threadpool(engine.readout, messages, readout.fields, readout.points,
                                               top_logprobs=max(top, 1))
            else:
                done = await run_in_threadpool(
                    engine.complete, messages, max_tokens=request.max_tokens or 512, temperature=request.temperature,
                    seed=request.seed, schema=_schema(request.response_format), top_logprobs=top)
        except ValueError as e:
            raise HTTPException(400, str(e)) from e
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
            "model": alias,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": done.text},
                         "logprobs": _logprobs(done) if request.logprobs else None,
                         "finish_reason": done.finish_reason}],
            "usage": {"prompt_tokens": done.prompt_tokens, "completion_tokens": done.completion_tokens,
                      "total_tokens": done.prompt_tokens + done.completion_tokens,
                      "prompt_tokens_details": {"cached_tokens": done.cached_tokens}},
            "timings": {"prompt_n": done.prompt_tokens - done.cached_tokens, "prompt_cached": done.cached_tokens,
                        "prompt_s": done.prompt_seconds, "predicted_n": done.completion_tokens,
                        "predicted_s": done.generation_seconds,
                        **({"guided_model_steps": done.model_steps, "guided_evaluations": done.evaluations}
                           if done.model_steps is not None else {})},
        }

    return app


def main(argv: list[str] | None = None) -> None:
    """Load the model and serve it on loopback until terminated."""
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="GGUF file")
    parser.add_argument("--alias", required=True, help="model name the server answers for")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--n-ctx", type=int, default=4096)
    args = parser.parse_args(argv)
    engine = Engine(args.model, n_ctx=args.n_ctx, n_threads=args.threads)
    uvicorn.run(build_app(engine, args.alias), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
