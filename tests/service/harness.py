"""Running the real service for HTTP tests: ``council serve`` and ``ray start`` as subprocesses we can kill.

Every process we start gets its own session (``start_new_session=True``). Ray's daemons stay in the
session of whoever started them, and its workers change their process group but not their session, so
"every process whose session id is ours" is exactly the Ray instance we started — never another Ray on
this machine (which ``ray stop --force`` would kill too). Teardown kills those processes by id and
checks that none survives. Linux never hands out a pid that is still a live process's session id, so
killing by session id cannot hit an unrelated process.

Each Ray instance gets its own short temp dir (``RAY_TMPDIR``; Ray's unix socket paths must stay
under ~107 bytes) and its own token (``RAY_AUTH_MODE=token`` with a random ``RAY_AUTH_TOKEN``), so it
neither finds nor joins another cluster and does not depend on ``~/.ray``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

BIN = Path(sys.executable).parent
STARTUP_TIMEOUT_S = float(os.environ.get("COUNCIL_TEST_STARTUP_TIMEOUT", "240"))


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports (held open together while choosing, so they differ)."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def short_tmpdir(prefix: str) -> Path:
    """A fresh directory with a short path under /tmp (Ray puts unix sockets in it)."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


# ---------------------------------------------------------------- processes by session


SESSIONS: list[int] = []
"""Every session this harness started (checked for leftovers at the end of the test session)."""


def _state(pid: int) -> str | None:
    """The process state letter (``R``, ``S``, ``Z`` ...) or None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2]


def alive(pid: int) -> bool:
    """True while the process runs (a zombie, dead but not yet reaped, does not count)."""
    return _state(pid) not in (None, "Z")


def spawn(cmd: list[str], log: Path, env: dict[str, str], cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``cmd`` in a new session with stdout and stderr to ``log``; remember the session."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                cwd=str(cwd) if cwd else None, start_new_session=True)
    SESSIONS.append(proc.pid)
    return proc


def end_session(proc: subprocess.Popen[bytes], grace_s: float = 0.0) -> None:
    """SIGTERM the leader and give the session ``grace_s`` to exit, SIGKILL the rest, then reap the leader."""
    try:
        if grace_s and alive(proc.pid):
            os.kill(proc.pid, signal.SIGTERM)
        reap_session(proc.pid, grace_s)
    finally:
        proc.wait(10)


def session_pids(sid: int) -> list[int]:
    """Pids of every live process in session ``sid`` (read from /proc)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # comm may contain spaces and parentheses: the fields we need follow the last ')'
        fields = stat[stat.rfind(")") + 2:].split()
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            pids.append(int(entry))
    return pids


def kill_session(sid: int, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to every process of session ``sid``, one pid at a time."""
    for pid in session_pids(sid):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def wait_session_gone(sid: int, timeout: float) -> bool:
    """Wait until no process of session ``sid`` is alive; True when that happened in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not session_pids(sid):
            return True
        time.sleep(0.1)
    return not session_pids(sid)


def reap_session(sid: int, grace_s: float = 0.0) -> None:
    """Give the session ``grace_s`` to exit on its own, then SIGKILL what is left; fail if anything survives."""
    if grace_s and wait_session_gone(sid, grace_s):
        return
    for _ in range(5):  # Ray daemons can spawn a worker while we kill; repeat until nothing is left
        kill_session(sid, signal.SIGKILL)
        if wait_session_gone(sid, 5):
            return
    raise RuntimeError(f"processes of session {sid} survived SIGKILL: {session_pids(sid)}")


def leftovers() -> dict[int, list[str]]:
    """Processes still alive in any session this harness started: session id → their command lines."""
    found: dict[int, list[str]] = {}
    for sid in SESSIONS:
        for pid in session_pids(sid):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            found.setdefault(sid, []).append(f"{pid}: {cmd[:120]}")
    return found


def ray_env(ray_tmp: Path, token: str) -> dict[str, str]:
    """Environment for one isolated Ray instance: its own temp dir and auth token, never another cluster."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("RAY_ADDRESS", "COUNCIL_API_KEYS", "RAY_AUTH_TOKEN_PATH")}
    env.update(RAY_TMPDIR=str(ray_tmp), RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token, RAY_USAGE_STATS_ENABLED="0",
               LITELLM_LOCAL_MODEL_COST_MAP="True", PYTHONUNBUFFERED="1")
    return env


def _tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    keep = [line for line in text if " CALL " not in line]  # Serve's per-call access lines drown the errors
    return "\n".join(keep[-lines:])


# ---------------------------------------------------------------- the service


@dataclass
class ServiceConfig:
    """What one ``council serve`` needs: files, ports and flags."""

    home: Path
    db: Path
    keys_file: Path
    councils_file: Path
    extra_args: list[str] = field(default_factory=list)
    port: int = 0
    metrics_port: int = 0
    address: str | None = None
    ray_tmp: Path | None = None
    ray_token: str = field(default_factory=lambda: secrets.token_hex(32))


class Service:
    """One ``council serve`` process in its own session; :meth:`stop` (graceful) or :meth:`crash` (SIGKILL)."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.log_path = config.home / f"serve-{int(time.time() * 1000)}.log"
        self.starts = 0

    @property
    def sid(self) -> int:
        """The session id of every process this service started (Ray included)."""
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> Service:
        """Start ``council serve`` and wait for ``COUNCIL_URL=``; raise with the log's tail if it does not come."""
        cfg = self.config
        cfg.port = free_port()
        cfg.metrics_port = free_port()
        ray_tmp = cfg.ray_tmp or short_tmpdir("acr")
        cfg.ray_tmp = ray_tmp
        env = ray_env(ray_tmp, cfg.ray_token)
        env["COUNCIL_HOME"] = str(cfg.home)
        # ``python -m council.cli`` rather than the console script: same code, and a naive ``pkill -f "council
        # serve"`` run by someone else on a shared machine does not take the test's service down
        cmd = [sys.executable, "-m", "council.cli", "serve", "--host", "127.0.0.1", "--port", str(cfg.port),
               "--db", str(cfg.db), "--api-keys-file", str(cfg.keys_file), "--councils", str(cfg.councils_file),
               "--no-local-judges", "--metrics-port", str(cfg.metrics_port), *cfg.extra_args]
        if cfg.address:
            cmd += ["--address", cfg.address]
        self.starts += 1
        self.log_path = cfg.home / f"serve-{self.starts}.log"
        self.proc = spawn(cmd, self.log_path, env, cfg.home)
        try:
            self._wait_ready()
        except BaseException:
            self.crash()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            text = self.log_path.read_text(errors="replace")
            for line in text.splitlines():
                if line.startswith("COUNCIL_URL="):
                    self.url = line.split("=", 1)[1].strip()
                    self._wait_healthy()
                    return
            if not alive(self.proc.pid):
                raise RuntimeError(f"council serve exited before it was ready:\n{_tail(self.log_path)}")
            time.sleep(0.5)
        raise TimeoutError(f"council serve not ready after {STARTUP_TIMEOUT_S:.0f} s:\n{_tail(self.log_path)}")

    def _wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            try:
                r = httpx.get(f"{self.url}/healthz", timeout=10)
                if r.status_code == 200:
                    return
                last = r.status_code
            except httpx.HTTPError as e:
                last = e
            time.sleep(0.5)
        raise TimeoutError(f"/healthz never answered 200 (last: {last}):\n{_tail(self.log_path)}")

    def stop(self, grace_s: float = 30) -> None:
        """SIGTERM (serve shuts down, the store is closed), then SIGKILL whatever of the session is left."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        end_session(proc, grace_s)

    def crash(self) -> None:
        """SIGKILL every process of the service at once (driver, Ray daemons, Serve replicas): a machine crash."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        end_session(proc)

    def cleanup(self, graceful: bool = True) -> None:
        """Stop (or kill) and remove the Ray temp dir (keep ``home``: logs and the store, for post-mortems)."""
        try:
            if graceful:
                self.stop()
            else:
                self.crash()
        finally:
            if self.config.ray_tmp is not None:
                shutil.rmtree(self.config.ray_tmp, ignore_errors=True)

    def log_tail(self, lines: int = 60) -> str:
        """The end of the current log without Serve's access lines."""
        return _tail(self.log_path, lines)


# ---------------------------------------------------------------- a local two-node Ray cluster


class RayCluster:
    """A Ray head and a second raylet on this machine (``ray start``), each in its own session."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.ray_tmp = short_tmpdir("acc")
        self.token = secrets.token_hex(32)
        self.env = ray_env(self.ray_tmp, self.token)
        self.leaders: list[subprocess.Popen[bytes]] = []
        self.address = ""

    def _ray_start(self, name: str, args: list[str]) -> None:
        """``ray start --block``: the command stays alive (its node's session leader) until we stop the node."""
        log = self.workdir / f"ray-start-{name}.log"
        proc = spawn([str(BIN / "ray"), "start", "--block", *args], log, self.env)
        self.leaders.append(proc)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while "Ray runtime started" not in log.read_text(errors="replace"):
            if not alive(proc.pid) or time.monotonic() > deadline:
                raise RuntimeError(f"ray start ({name}) failed:\n{_tail(log)}")
            time.sleep(0.5)

    def start(self, node_resources: Iterable[dict[str, float]]) -> RayCluster:
        """Start the head with the first resources, one more node per further entry; every port explicit."""
        nodes = list(node_resources)
        head_port, client_port = free_ports(2)
        self.address = f"{_node_ip()}:{head_port}"
        for i, resources in enumerate(nodes):
            agent, grpc, runtime_env, metrics, node_manager, object_manager = free_ports(6)
            args = ["--num-cpus=1", f"--resources={json.dumps(resources)}", "--disable-usage-stats",
                    f"--dashboard-agent-listen-port={agent}", f"--dashboard-agent-grpc-port={grpc}",
                    f"--runtime-env-agent-port={runtime_env}", f"--metrics-export-port={metrics}",
                    f"--node-manager-port={node_manager}", f"--object-manager-port={object_manager}"]
            if i == 0:
                args += ["--head", f"--port={head_port}", f"--temp-dir={self.ray_tmp / 'ray'}",
                         "--include-dashboard=false", f"--ray-client-server-port={client_port}"]
            else:
                args += [f"--address={self.address}"]
            self._ray_start(f"node{i}", args)
        return self

    def nodes(self) -> dict[str, dict[str, float]]:
        """Alive node id → its resources, asked from the cluster by a short-lived driver (in its own session)."""
        script = (f"import json, ray; ray.init(address={self.address!r}, logging_level='ERROR'); "
                  "print('NODES=' + json.dumps({n['NodeID']: n['Resources'] for n in ray.nodes() if n['Alive']}))")
        log = self.workdir / "ray-nodes.log"
        proc = spawn([sys.executable, "-c", script], log, self.env)
        try:
            deadline = time.monotonic() + 120
            while alive(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            end_session(proc)
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("NODES="):
                return dict(json.loads(line[len("NODES="):]))
        raise RuntimeError(f"could not list the cluster's nodes:\n{_tail(log)}")

    def stop(self) -> None:
        """SIGKILL every process of every node (by session), verify none survives, drop the temp dir."""
        errors = []
        for proc in reversed(self.leaders):  # the worker node first, then the head
            try:
                end_session(proc)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                errors.append(str(e))
        self.leaders = []
        shutil.rmtree(self.ray_tmp, ignore_errors=True)
        if errors:
            raise RuntimeError("; ".join(errors))


def _node_ip() -> str:
    """The address Ray would pick for this node (the interface of the default route)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.254.254.254", 1))  # no packet is sent: this only selects the outgoing interface
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


# ---------------------------------------------------------------- the HTTP client side


def write_keys(path: Path, keys: dict[str, str]) -> None:
    """Write a keys file for ``{owner: key}`` (only the SHA-256 of each key is stored)."""
    import hashlib

    import yaml

    path.write_text(yaml.safe_dump([{"owner": owner, "sha256": hashlib.sha256(key.encode()).hexdigest()}
                                    for owner, key in keys.items()]))


def fake_judge(judge_id: str, model: str, api_base: str, **overrides: Any) -> dict[str, Any]:
    """A judge spec (as YAML/JSON data) on a fake OpenAI server."""
    spec = {"id": judge_id, "model": model, "api_base": api_base, "structured_output": "json_schema",
            "max_concurrency": 16, "timeout_s": 3, "max_attempts": 3}
    return {**spec, **overrides}


def make_items(tag: str, n: int, k: int = 2, *,
               marker: Callable[[int, int], str] | None = None) -> list[dict[str, Any]]:
    """``n`` items with ``k`` candidates each; ``tag`` makes every prompt unique to the test (no cache sharing).

    ``marker(i, j)`` may add a word to candidate j of item i (a fake-server outcome hook can key on it).
    """
    situations = [
        "I failed my exam even though I studied for weeks and I feel like a failure",
        "my girlfriend left me and I moved here for her so now I know nobody",
        "every morning before work my heart races and I feel like I cannot breathe",
        "my dad is in hospital and I am scared to visit him because I might cry",
        "I have not slept properly in weeks and everything feels pointless lately",
    ]
    replies = [
        "That sounds really painful, and it makes sense that you feel this way right now.",
        "Just try to stay positive and things will get better soon enough.",
        "You are not alone in this; would it help to talk about what happened today?",
        "Maybe write down what worries you most and talk to someone you trust about it.",
        "I hear how exhausting this is for you, and your feelings are completely valid.",
    ]
    items = []
    for i in range(n):
        context = f"[{tag} #{i}] {situations[i % len(situations)]}."
        candidates = []
        for j in range(k):
            extra = marker(i, j) if marker else ""
            text = f"{replies[(i + j) % len(replies)]} {extra}".strip()
            candidates.append({"id": f"c{j}", "text": text, "responder": f"bot-{j}"})
        items.append({"id": f"it-{i}", "context": context, "candidates": candidates, "meta": {"tag": tag}})
    return items


class Api:
    """A thin httpx client for one API key."""

    def __init__(self, url: str, key: str | None) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.http = httpx.Client(base_url=url, headers=headers, timeout=60)

    def submit(self, items: list[dict[str, Any]], council: Any = "fake2", *, protocol: str = "mentalalign-7",
               idempotency_key: str | None = None, **extra: Any) -> httpx.Response:
        """POST /v1/batches."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        body = {"protocol": protocol, "council": council, "items": items, **extra}
        return self.http.post("/v1/batches", json=body, headers=headers)

    def status(self, batch_id: str) -> dict[str, Any]:
        """GET /v1/batches/{id} (must answer 200)."""
        r = self.http.get(f"/v1/batches/{batch_id}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def wait(self, batch_id: str, *, timeout: float = 180, until: Callable[[dict[str, Any]], bool] | None = None,
             poll_s: float = 0.25) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Poll the status until finished (or ``until(status)``); return the last status and every one seen."""
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        done = until or (lambda s: s["status"] not in ("queued", "running", "cancelling"))
        while time.monotonic() < deadline:
            status = self.status(batch_id)
            seen.append(status)
            if done(status):
                return status, seen
            time.sleep(poll_s)
        raise TimeoutError(f"batch {batch_id} still {seen[-1]['status'] if seen else '?'}: {seen[-1:]}")

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()
