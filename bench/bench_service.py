"""Service throughput: 1,000 candidates (250 contexts × 4) to a 3-judge council over HTTP, fake provider.

Prints LLM calls/s against the bound concurrency ÷ latency, calls per context against 3 × (2 + 4), the
Serve path against the same batch run in-process (measured in the same run), and the service's memory
(RSS of all its processes) over the run.

    .venv/bin/python bench/bench_service.py --latency-ms 1000 --concurrency 128
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def start(cmd: list[str], env: dict[str, str], marker: str, log: Path,
          timeout: float = 180) -> tuple[subprocess.Popen, str]:
    """Start a process in its own session and wait for the line ``marker=<value>`` in its output."""
    out = log.open("w")
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.time() + timeout
    while time.time() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith(marker + "="):
                return proc, line.split("=", 1)[1].strip()
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[:3]} exited:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:]))
        time.sleep(0.5)
    raise TimeoutError(f"{cmd[:3]} not ready; see {log}")


def stop(proc: subprocess.Popen) -> None:
    """Stop a process group (SIGTERM, then SIGKILL)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def batch_items(n_contexts: int, k: int) -> list[dict]:
    """Synthetic items: distinct contexts, k candidates each."""
    return [{"id": f"ctx-{i}", "context": f"Seeker {i}: I have been feeling anxious about work for weeks and "
             f"cannot sleep. Today my manager criticised me again in front of everyone (case {i}).",
             "candidates": [{"id": f"c{j}", "responder": f"bot-{j}", "text": f"Reply {j} to case {i}: that sounds "
                             "exhausting, and it makes sense you feel anxious. What helps you unwind?"}
                            for j in range(k)]} for i in range(n_contexts)]


def council_spec(fake_url: str, concurrency: int, judges: int = 3) -> dict:
    """A council of fake judges whose per-model limits add up to ``concurrency``."""
    shares = [concurrency // judges + (1 if i < concurrency % judges else 0) for i in range(judges)]
    return {"aggregation": "mean", "judges": [
        {"id": f"fake-{i}", "model": f"openai/fake-{i}", "api_base": fake_url, "structured_output": "json_schema",
         "max_concurrency": shares[i], "timeout_s": 30, "max_attempts": 2} for i in range(judges)]}


def session_processes(sid: int) -> Iterator[tuple[Path, str]]:
    """``/proc`` entry and command line of every live process of a session (the service and all its Ray
    processes, replicas included)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getsid(int(entry.name)) == sid:
                yield entry, (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue


def service_rss_mb(root_pid: int) -> float:
    """Resident memory of the service's session, from /proc."""
    total = 0
    for entry, _ in session_processes(root_pid):
        try:
            status = (entry / "status").read_text()
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
        total += sum(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return total / 1024


def service_cpu_s(root_pid: int) -> dict[str, float]:
    """CPU seconds (user + system) so far of the service's session, by a short name of each process's role."""
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for entry, cmd in session_processes(root_pid):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
        role = cmd.split()[0].rsplit("/", 1)[-1] if cmd else "?"
        if cmd.startswith("ray::"):
            role = cmd.split()[0].split(".")[0]
        elif "council.cli serve" in cmd:
            role = "council serve (driver)"
        elif len(cmd.split()) > 1 and cmd.split()[1].endswith(".py"):
            role = cmd.split()[1].rsplit("/", 1)[-1]
        used[role] = used.get(role, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return used


def run_service(args: argparse.Namespace, fake_url: str, tmp: Path) -> dict:
    """The batch over HTTP through `council serve`; returns timings and memory samples."""
    councils = tmp / "councils.yaml"
    councils.write_text(yaml.safe_dump({"bench": council_spec(fake_url, args.concurrency)}))
    env = {**os.environ, "COUNCIL_HOME": str(tmp / "home"), "COUNCIL_API_KEYS": "bench:bench-key",
           "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc, url = start([PY, "-m", "council.cli", "serve", "--port", str(args.port), "--db", str(tmp / "svc.duckdb"),
                       "--councils", str(councils), "--no-local-judges", "--judge-replicas", str(args.replicas),
                       ], env, "COUNCIL_URL", tmp / "serve.log", 300)
    headers = {"Authorization": "Bearer bench-key"}
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
            body = {"protocol": "epitome", "council": "bench", "items": batch_items(args.contexts, args.k)}
            rss = [service_rss_mb(proc.pid)]
            cpu0 = service_cpu_s(proc.pid)
            t0 = time.perf_counter()
            batch_id = http.post("/v1/batches", json=body).raise_for_status().json()["batch_id"]
            status = {}
            while True:
                status = http.get(f"/v1/batches/{batch_id}").raise_for_status().json()
                rss.append(service_rss_mb(proc.pid))
                if status["status"] not in ("queued", "running"):
                    break
                time.sleep(1)
            elapsed = time.perf_counter() - t0
            cpu1 = service_cpu_s(proc.pid)
    finally:
        stop(proc)
    cpu = {role: cpu1[role] - cpu0.get(role, 0.0) for role in cpu1}
    return {"elapsed": elapsed, "status": status, "rss": rss, "cpu": cpu}


async def run_in_process(args: argparse.Namespace, fake_url: str, tmp: Path) -> dict:
    """The same batch through council.run.run_batch in this process (the baseline)."""
    from council.run import LocalExecutor, prepare_batch, run_batch
    from council.spec import parse_council
    from council.store.store import Store
    from council.types import Batch
    from protocols import load_protocol

    store = Store(tmp / "inproc.duckdb")
    batch = Batch.model_validate({"items": batch_items(args.contexts, args.k)})
    council = parse_council({"id": "bench", **council_spec(fake_url, args.concurrency)})
    protocol = load_protocol("epitome")
    batch_id = prepare_batch(store, batch, protocol, council)
    t0 = time.perf_counter()
    summary = await run_batch(store, batch_id, batch, protocol, council, LocalExecutor(store))
    return {"elapsed": time.perf_counter() - t0, "calls": summary.calls_made}


async def litellm_alone(args: argparse.Namespace, fake_url: str, seconds: float = 20.0) -> float:
    """Calls/s that bare litellm.acompletion sustains here at the same concurrency (no agents, no store, no Ray):
    the CPU ceiling any design on this machine runs into."""
    from judges.client import adapter
    from judges.types import JudgeSpec

    spec = JudgeSpec(id="raw", model="openai/fake-raw", api_base=fake_url, structured_output="prompt")
    messages = [{"role": "user", "content": "x " * 1500}]
    await adapter.complete(spec, messages, None)  # warm up
    done = 0
    stop_at = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal done
        while time.perf_counter() < stop_at:
            await adapter.complete(spec, messages, None)
            done += 1

    t0 = time.perf_counter()
    await asyncio.gather(*[loop() for _ in range(args.concurrency)])
    return done / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=1000)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--contexts", type=int, default=250)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--port", type=int, default=0, help="service port (0: a free one)")
    parser.add_argument("--skip-in-process", action="store_true")
    args = parser.parse_args()
    if args.port == 0:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            args.port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        # --choice first: every answer passes our checks, so no repair calls blur the count
        fake, fake_url = start([PY, "-m", "judges.testing.fake_openai", "--port", "0", "--latency-ms",
                                str(args.latency_ms), "--choice", "first"], dict(os.environ), "FAKE_OPENAI_URL",
                               tmp / "fake.log")
        try:
            served = run_service(args, fake_url, tmp)
            local = None if args.skip_in_process else asyncio.run(run_in_process(args, fake_url, tmp))
            ceiling = None if args.skip_in_process else asyncio.run(litellm_alone(args, fake_url))
        finally:
            stop(fake)
    report(args, served, local, ceiling)


def report(args: argparse.Namespace, served: dict, local: dict | None, ceiling: float | None) -> None:
    """Print the results with their ratios and bounds."""
    progress = served["status"]["progress"]
    calls = progress["calls_made"]
    bound = args.concurrency / (args.latency_ms / 1000)
    rate = calls / served["elapsed"]
    expected = 3 * (2 + args.k)
    rss = served["rss"]
    warm = rss[min(len(rss) - 1, max(1, len(rss) // 4))]
    print(f"batch: {args.contexts} contexts x {args.k} candidates = {args.contexts * args.k} candidates, "
          f"3-judge council, fake provider latency {args.latency_ms:.0f} ms, concurrency {args.concurrency}, "
          f"{args.replicas} judge replicas")
    print(f"status: {served['status']['status']}; calls made {calls}, cached {progress['calls_cached']}, "
          f"failed {progress['calls_failed']}; abstentions {served['status']['abstentions']}")
    print(f"serve: {served['elapsed']:.1f} s, {rate:.1f} LLM calls/s; bound concurrency/latency = {bound:.1f}/s; "
          f"ratio {rate / bound:.2f} (target >= 0.85) -> {'PASS' if rate / bound >= 0.85 else 'FAIL'}")
    print(f"calls per context: {calls / args.contexts:.2f} vs 3 x (2 + {args.k}) = {expected} "
          f"-> {'PASS' if calls == expected * args.contexts else 'FAIL'}")
    if local is not None:
        local_rate = local["calls"] / local["elapsed"]
        print(f"in-process run_batch: {local['elapsed']:.1f} s, {local_rate:.1f} calls/s; serve/in-process = "
              f"{rate / local_rate:.2f}")
    if ceiling is not None:
        print(f"bare litellm.acompletion in one process at concurrency {args.concurrency}: {ceiling:.1f} calls/s "
              f"({ceiling / bound:.2f} of the bound); serve/bare litellm = {rate / ceiling:.2f}")
    busy = sorted(served["cpu"].items(), key=lambda kv: -kv[1])[:6]
    print(f"service CPU over the run ({served['elapsed']:.0f} s wall, 2 cores): "
          + ", ".join(f"{role} {sec:.0f} s" for role, sec in busy))
    print(f"service RSS (MB): start {rss[0]:.0f}, after warm-up {warm:.0f}, peak {max(rss):.0f}, end {rss[-1]:.0f}; "
          f"growth after warm-up {(rss[-1] - warm) / warm * 100:+.1f}%")


if __name__ == "__main__":
    main()
