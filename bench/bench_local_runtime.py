"""The embedded judges' runtime against raw llama.cpp: prompt and generation tokens/s, same model, same run.

The service path is what a judge call takes: litellm → HTTP → ``judges.local.openai_server`` → llama.cpp,
with top-20 logprobs on every generated token. Raw is llama-cpp-python's ``Llama`` in this process, loaded
like the server loads it (``logits_all=False``), with no HTTP, no logprobs and no Python per token beyond
its own sampling loop. Rounds alternate raw and service so a change in the machine's load hits both.

- prompt tokens/s: a prompt of ~1,000 tokens nobody has seen (a unique first line, so no cached prefix),
  one token generated; tokens processed ÷ wall time of the call.
- generation tokens/s: 64 tokens generated after a prompt already in the KV cache; tokens ÷ wall time.

Bound: service ÷ raw ≥ 0.9 for both.

    .venv/bin/python bench/bench_local_runtime.py [--model qwen2.5-coder-1.5b-instruct] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from judges.client.adapter import complete  # noqa: E402
from judges.local.engine import Engine  # noqa: E402
from judges.local.models import model_path  # noqa: E402
from judges.local.server import local_judge_spec, local_up  # noqa: E402
from judges.types import ModelParams  # noqa: E402
from protocols import load_protocol  # noqa: E402

BOUND = 0.9
GEN_TOKENS = 64


def prompt_messages(nonce: int) -> list[dict[str, str]]:
    """A long judge-like prompt (the mentalalign-7 rubric) that no earlier request shares a prefix with."""
    rubric = load_protocol("mentalalign-7").rubric_text()
    return [{"role": "system", "content": f"Request {nonce}: you rate replies to people seeking support.\n{rubric}"},
            {"role": "user", "content": "Count from 1 to 300, separated by commas, and nothing else."}]


def raw_prompt(engine: Engine, messages: list[dict[str, str]]) -> tuple[int, float]:
    """Raw llama.cpp: evaluate the prompt from an empty cache and sample one token."""
    llm = engine.llm
    tokens = engine.prompt_tokens(messages)
    llm.reset()
    started = time.perf_counter()
    next(iter(llm.generate(tokens, temp=0.0, reset=True)))
    return len(tokens), time.perf_counter() - started


def raw_generation(engine: Engine, messages: list[dict[str, str]]) -> tuple[int, float]:
    """Raw llama.cpp: generate GEN_TOKENS tokens after the (already evaluated) prompt."""
    llm = engine.llm
    tokens = engine.prompt_tokens(messages)
    llm.reset()
    llm.eval(tokens[:-1])  # the prompt is in the cache, as it is for the service's second request
    started, n = time.perf_counter(), 0
    for _ in llm.generate(tokens, temp=0.0, reset=True):
        n += 1
        if n >= GEN_TOKENS:
            break
    return n, time.perf_counter() - started


async def service_call(spec, messages: list[dict[str, str]], max_tokens: int) -> tuple[int, int, float]:
    """One call through the product's adapter (litellm → HTTP → our server); (prompt processed, generated, s)."""
    started = time.perf_counter()
    params = ModelParams.model_construct(temperature=0.0, max_tokens=max_tokens, seed=0, top_p=None)  # 1 < 16
    reply = await complete(spec.model_copy(update={"params": params}), messages, None, 20)
    return reply.prompt_tokens, reply.completion_tokens, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b-instruct")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    local_up([args.model])
    spec = local_judge_spec(args.model)
    threads = max(1, os.cpu_count() or 1)
    engine = Engine(str(model_path(args.model)), n_threads=threads)
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"model {args.model}, {threads} threads in both")
    rates: dict[str, list[float]] = {"raw prompt": [], "service prompt": [], "raw gen": [], "service gen": []}
    loop = asyncio.new_event_loop()
    loop.run_until_complete(service_call(spec, prompt_messages(-1), 1))  # warm-up: litellm import, connection
    for r in range(args.rounds):
        n, s = raw_prompt(engine, prompt_messages(2 * r))
        rates["raw prompt"].append(n / s)
        n, _, s = loop.run_until_complete(service_call(spec, prompt_messages(2 * r + 1), 1))
        rates["service prompt"].append(n / s)
        n, s = raw_generation(engine, prompt_messages(2 * r))
        rates["raw gen"].append(n / s)
        loop.run_until_complete(service_call(spec, prompt_messages(2 * r + 1), 1))  # prompt cached on the server
        _, n, s = loop.run_until_complete(service_call(spec, prompt_messages(2 * r + 1), GEN_TOKENS))
        rates["service gen"].append(n / s)
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.1f} t/s" for k, v in rates.items()))
    ok = True
    for kind in ("prompt", "gen"):
        raw, service = statistics.median(rates[f"raw {kind}"]), statistics.median(rates[f"service {kind}"])
        ratio = service / raw
        ok &= ratio >= BOUND
        print(f"{kind:>6}: raw {raw:.1f} t/s, service path {service:.1f} t/s, ratio {ratio:.2f} "
              f"(bound ≥ {BOUND}: {'pass' if ratio >= BOUND else 'FAIL'})")
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
