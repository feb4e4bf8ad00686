"""How long `council demo` takes on this machine: the 4 × 4 demo batch, for the default council and the pipeline.

Runs the installed ``council demo`` as a user would, on a fresh database, with the embedded judges stopped
first (so their start-up counts) but the model file already assembled (installation is done), once for
each council: ``local`` (the default: the scoring agent only) and ``local-pipeline`` (ToM → domain →
scoring). Prints the batch's own seconds (the run line), the command's wall time, the calls per agent,
the machine's load before and after, and the ratio against the bound of 180 s for the batch. A second
run must make 0 LLM calls.

    .venv/bin/python bench/bench_demo.py [--councils local,local-pipeline]
"""

from __future__ import annotations

import argparse
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


def demo(db: Path, council: str) -> tuple[float, re.Match[str]]:
    """Run ``council demo`` once; its wall time and the parsed run line."""
    started = time.perf_counter()
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "council"), "demo", "--db", str(db), "--council", council],
                          capture_output=True, text=True, env={**os.environ, "COLUMNS": "160"}, check=False)
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


def bench(council: str) -> bool:
    """One council's demo: fresh database, judges stopped first; True when within the bound and re-run free."""
    subprocess.run([str(ROOT / ".venv" / "bin" / "council"), "local", "down"], capture_output=True, check=False)
    load = os.getloadavg()
    print(f"[{council}] machine: {os.cpu_count()} cores, load average before {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.duckdb"
        wall, first = demo(db, council)
        batch_s = float(first.group(5))
        print(f"[{council}] first run: {first.group(1)} calls made, abstentions {first.group(3)}/{first.group(4)}, "
              f"batch {batch_s:.1f} s, command {wall:.1f} s (judges started, batch, tables)")
        print(f"[{council}] {breakdown(db)}")
        wall2, second = demo(db, council)
        print(f"[{council}] second run: {second.group(1)} calls made, {second.group(2)} from cache, "
              f"command {wall2:.1f} s")
    load = os.getloadavg()
    print(f"[{council}] load average after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    ratio = batch_s / BOUND_S
    print(f"[{council}] demo batch {batch_s:.1f} s / bound {BOUND_S:.0f} s = {ratio:.2f} "
          f"({'pass' if ratio <= 1 else 'FAIL'}); second run calls made: {second.group(1)} "
          f"({'pass' if second.group(1) == '0' else 'FAIL'})")
    return ratio <= 1 and second.group(1) == "0"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--councils", default="local,local-pipeline")
    args = parser.parse_args()
    results = [bench(c.strip()) for c in args.councils.split(",") if c.strip()]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
