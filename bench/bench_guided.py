"""Schema-guided decoding against llama.cpp's grammar sampling: the demo's ToM calls, same model, same run.

For each of the demo batch's four contexts the ToM agent's real prompt (shared panel brief with the
mentalalign-7 rubric, the numbered conversation, the stage line) and reply schema are sent to one in-process
:class:`judges.local.engine.Engine` twice: decoded by :class:`judges.local.guided.GuidedDecoder`, and by a
GBNF grammar token by token (what the engine did before). Each pair of calls starts from the same KV state
(the rubric prefix cached), so the seconds compare decoding only. Prints seconds, reply tokens, model steps
and whether both replies parse, and the ratio of total seconds (bound: guided ≤ 0.7 × grammar).

    .venv/bin/python bench/bench_guided.py [--model qwen2.5-coder-1.5b-instruct]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from council.batchfile import read_batch  # noqa: E402
from council.cli import DEMO_BATCH  # noqa: E402
from judges.agents._common import brief, conversation_view  # noqa: E402
from judges.agents.tom import tom_reply_model  # noqa: E402
from judges.local.engine import Engine  # noqa: E402
from judges.local.models import model_path  # noqa: E402
from judges.prompts import load_prompt  # noqa: E402
from protocols import load_protocol  # noqa: E402

BOUND = 0.7


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b-instruct")
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    engine = Engine(str(model_path(args.model)), n_ctx=4096)
    protocol = load_protocol("mentalalign-7")
    template = load_prompt("tom.v2")
    totals = {"guided": 0.0, "grammar": 0.0}
    for item in read_batch(DEMO_BATCH).items:
        view = conversation_view(item.as_context())
        schema = tom_reply_model(len(view.spans)).model_json_schema()
        messages = template.render(brief=brief(protocol), context=view.block,
                                   format_hint="\nAnswer with one JSON object.")
        tokens = engine.prompt_tokens(messages)
        engine.llm.reset()
        engine.llm.eval(tokens[:-8])  # the rubric and conversation cached; each call processes the last 8 tokens
        line = [item.id]
        for name in ("guided", "grammar"):
            engine.llm.n_tokens = len(tokens) - 8  # the same KV state before each call
            started = time.perf_counter()
            done = engine.complete(messages, max_tokens=400, schema=schema, guided=name == "guided")
            seconds = time.perf_counter() - started
            valid = tom_reply_model(len(view.spans)).model_validate_json(done.text) is not None
            totals[name] += seconds
            steps = f", {done.model_steps} model steps" if done.model_steps is not None else ""
            line.append(f"{name} {seconds:5.1f} s ({done.completion_tokens} reply tokens{steps}, valid {valid})")
        print("  ".join(line))
    ratio = totals["guided"] / totals["grammar"]
    load = os.getloadavg()
    print(f"load average after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"ToM calls: guided {totals['guided']:.1f} s / grammar {totals['grammar']:.1f} s = {ratio:.2f} "
          f"(bound ≤ {BOUND}: {'pass' if ratio <= BOUND else 'FAIL'})")
    return 0 if ratio <= BOUND else 1


if __name__ == "__main__":
    raise SystemExit(main())
