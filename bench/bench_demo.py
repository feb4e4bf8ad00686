"""How long `council demo` takes on this machine: the 4 × 4 demo batch, full ToM → domain → scoring pipeline.

Runs the installed ``council demo`` as a user would, on a fresh database, with the embedded judges stopped
first (so their start-up counts) but the model file already assembled (installation is done). Prints the
batch's own seconds (the run line), the command's wall time, the machine's load before and after, and the
ratio against the bound of 180 s for the batch. A second run must make 0 LLM calls.

    .venv/bin/python bench/bench_demo.py
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOUND_S = 180.0
RUN_LINE = re.compile(r"LLM calls: (\d+) made, (\d+) served from cache.*abstentions: (\d+)/(\d+) judgments.*\| "
                      r"([\d.]+)s \| batch")


def demo(db: Path) -> tuple[float, re.Match[str]]:
    """Run ``council demo`` once; its wall time and the parsed run line."""
    started = time.perf_counter()
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "council"), "demo", "--db", str(db)], capture_output=True,
                          text=True, env={**os.environ, "COLUMNS": "160"}, check=False)
    wall = time.perf_counter() - started
    match = RUN_LINE.search(done.stdout.replace("\n", " "))
    if done.returncode != 0 or match is None:
        sys.exit(f"council demo failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return wall, match


def breakdown(db: Path) -> str:
    """Seconds, prompt and completion tokens per agent from the run's ``llm_calls`` (where the time went)."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT agent, count(*), avg(prompt_tokens), avg(completion_tokens), "
                           "min(created_at), max(created_at) FROM llm_calls GROUP BY agent ORDER BY 5").fetchall()
    return "calls per agent: " + "; ".join(
        f"{agent} {n} (prompt {prompt:.0f} tok, reply {reply:.0f} tok)" for agent, n, prompt, reply, _, _ in rows)


def main() -> int:
    subprocess.run([str(ROOT / ".venv" / "bin" / "council"), "local", "down"], capture_output=True, check=False)
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.duckdb"
        wall, first = demo(db)
        batch_s = float(first.group(5))
        print(f"first run: {first.group(1)} calls made, abstentions {first.group(3)}/{first.group(4)}, batch "
              f"{batch_s:.1f} s, command {wall:.1f} s (judges started, batch, tables)")
        print(breakdown(db))
        wall2, second = demo(db)
        print(f"second run: {second.group(1)} calls made, {second.group(2)} from cache, command {wall2:.1f} s")
    load = os.getloadavg()
    print(f"load average after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    ratio = batch_s / BOUND_S
    print(f"demo batch {batch_s:.1f} s / bound {BOUND_S:.0f} s = {ratio:.2f} ({'pass' if ratio <= 1 else 'FAIL'}); "
          f"second run calls made: {second.group(1)} ({'pass' if second.group(1) == '0' else 'FAIL'})")
    return 0 if ratio <= 1 and second.group(1) == "0" else 1


if __name__ == "__main__":
    raise SystemExit(main())
