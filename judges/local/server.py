"""Run the embedded judges: one OpenAI-compatible server process per model (:mod:`judges.local.openai_server`).

One process per model, each holding its model in memory, on loopback. Each server applies the GGUF's
own chat template, turns the JSON schema we send into a grammar (so even a 135M model returns valid
JSON), returns top logprobs without computing logits for every prompt token, and reuses the KV cache
of the prefix a request shares with the previous one. Processes outlive the CLI call that started
them; their pid, port and log live under ``$COUNCIL_HOME/local``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from judges.errors import ConfigError
from judges.local.models import DEFAULT_LOCAL_COUNCIL, LOCAL_MODELS, council_home, model_path
from judges.types import JudgeSpec, ModelParams

__all__ = ["ServerStatus", "local_down", "local_judge_spec", "local_status", "local_up", "port_base"]

_HOST = "127.0.0.1"


@dataclass(frozen=True)
class ServerStatus:
    """State of one local model server."""

    alias: str
    port: int
    pid: int | None
    running: bool
    healthy: bool
    log: str


def port_base() -> int:
    """First port of the local servers (``$COUNCIL_LOCAL_PORT``, default 8811)."""
    return int(os.environ.get("COUNCIL_LOCAL_PORT", "8811"))


def _port(alias: str) -> int:
    return port_base() + LOCAL_MODELS[alias].port_offset


def _state_dir() -> Path:
    path = council_home() / "local" / str(port_base())  # servers on other ports are other instances
    path.mkdir(parents=True, exist_ok=True)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _served_models(port: int) -> list[str] | None:
    """Model ids the server on this port answers for, or None when nothing answers."""
    try:
        reply = httpx.get(f"http://{_HOST}:{port}/v1/models", timeout=2.0)
    except httpx.HTTPError:
        return None
    if reply.status_code != 200:
        return None
    try:
        return [m.get("id", "") for m in reply.json().get("data", [])]
    except ValueError:
        return []


def _healthy(port: int, alias: str) -> bool:
    served = _served_models(port)
    return served is not None and alias in served


def _read_pid(alias: str) -> int | None:
    path = _state_dir() / f"{alias}.json"
    if not path.is_file():
        return None
    return int(json.loads(path.read_text())["pid"])


def local_status() -> list[ServerStatus]:
    """Status of every embedded model's server."""
    out = []
    for alias in LOCAL_MODELS:
        pid = _read_pid(alias)
        running = pid is not None and _alive(pid)
        port = _port(alias)
        out.append(ServerStatus(alias, port, pid, running, _healthy(port, alias), str(_state_dir() / f"{alias}.log")))
    return out


def _start(alias: str, threads: int, shared: bool) -> int:
    path = model_path(alias)
    log = (_state_dir() / f"{alias}.log").open("ab")
    command = [
        sys.executable, "-m", "judges.local.openai_server",
        "--model", str(path), "--alias", alias,
        "--host", _HOST, "--port", str(_port(alias)), "--threads", str(threads),
    ]
    # Where servers share the cores, idle OpenMP workers must not spin (PASSIVE). A server alone keeps
    # OpenMP's default: spin briefly between tokens, then sleep. (ACTIVE would spin forever, so an idle
    # server would hold both cores.) An OMP_WAIT_POLICY already in the environment wins.
    env = {**({"OMP_WAIT_POLICY": "PASSIVE"} if shared else {}), **os.environ}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    (_state_dir() / f"{alias}.json").write_text(json.dumps({"pid": process.pid, "port": _port(alias)}))
    return process.pid


def local_up(aliases: list[str] | None = None, *, threads: int | None = None, timeout_s: float = 180) -> list[
        ServerStatus]:
    """Start the servers that are not running yet (default: the default council's) and wait until each answers.

    Raises:
        ConfigError: when the llama.cpp extra is missing, a port is taken by something else, or a server
            does not come up (its log is named).
    """
    try:
        import llama_cpp  # noqa: F401
    except ImportError as e:
        raise ConfigError("llama-cpp-python is not installed; pip install -e '.[local]'") from e
    wanted = aliases or list(DEFAULT_LOCAL_COUNCIL)
    cores = os.cpu_count() or 1
    for status in local_status():
        if status.alias not in wanted or status.running or status.healthy:  # healthy: already served here
            continue
        if _served_models(status.port) is not None:
            raise ConfigError(f"port {status.port} already serves something else; set COUNCIL_LOCAL_PORT")
        others = [o for o in local_status() if o.alias != status.alias and (o.running or o.alias in wanted)]
        _start(status.alias, threads or max(1, round(cores * LOCAL_MODELS[status.alias].cpu_share)), bool(others))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        current = [s for s in local_status() if s.alias in wanted]
        for s in current:
            if not (s.running or s.healthy):
                raise ConfigError(f"local server {s.alias} exited; see {s.log}")
        if all(s.healthy for s in current):
            return current
        time.sleep(0.5)
    raise ConfigError(f"local servers did not answer within {timeout_s:.0f}s; see logs in {_state_dir()}")


def local_down() -> list[ServerStatus]:
    """Stop every local server this tool started."""
    for alias in LOCAL_MODELS:
        pid = _read_pid(alias)
        if pid is not None and _alive(pid):
            os.killpg(pid, signal.SIGTERM)
            for _ in range(50):
                if not _alive(pid):
                    break
                time.sleep(0.1)
            else:
                os.killpg(pid, signal.SIGKILL)
        (_state_dir() / f"{alias}.json").unlink(missing_ok=True)
    return local_status()


def local_judge_spec(alias: str, **overrides: object) -> JudgeSpec:
    """The judge spec for an embedded model, reached through litellm like any OpenAI-compatible server."""
    model = LOCAL_MODELS[alias]
    fields: dict[str, object] = {
        "id": alias,
        "model": f"openai/{alias}",
        "api_base": f"http://{_HOST}:{_port(alias)}/v1",
        "family": model.family,
        "structured_output": "llama_cpp",
        "params": ModelParams(temperature=0.0, max_tokens=400, seed=0),
        "scoring": "expected",  # small models judge only through their distribution (bench/bench_validity.py)
        "top_logprobs": 20,
        "rationales": False,
        "score_readout": True,
        "max_concurrency": 1,  # the llama.cpp server answers one request at a time
        "timeout_s": 600.0,
        "max_attempts": 2,
    }
    fields.update(overrides)
    return JudgeSpec(**fields)  # type: ignore[arg-type]


def as_dicts(statuses: list[ServerStatus]) -> list[dict[str, object]]:
    """Statuses as plain dicts (for JSON output)."""
    return [asdict(s) for s in statuses]
