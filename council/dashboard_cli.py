"""``council dashboard``: open the agreement dashboard, starting the local service first when none answers.

The dashboard (``dashboard/app.py``, Streamlit) reads everything through the HTTP API at ``COUNCIL_URL``.
When nothing answers there and the URL is local, this command starts ``council serve`` in the background
in its own process group (so stopping the dashboard stops it too, and nothing else), waits for its
``COUNCIL_URL=`` line, and passes the URL and the local API key to Streamlit.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

__all__ = ["register", "service_answers", "start_service"]

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


def service_answers(url: str, timeout: float = 3.0) -> bool:
    """True when ``GET {url}/healthz`` answers 200."""
    try:
        return httpx.get(url.rstrip("/") + "/healthz", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def start_service(url: str, extra: list[str], log_path: Path, timeout: float = 300.0) -> subprocess.Popen[bytes]:
    """Start ``council serve`` on the host and port of ``url`` in a new session; wait until it is healthy.

    Raises:
        RuntimeError: If the service exits or is not ready within ``timeout`` (with the log's tail).

    """
    parsed = urlparse(url)
    cmd = [sys.executable, "-m", "council.cli", "serve", "--host", parsed.hostname or "127.0.0.1",
           "--port", str(parsed.port or 8000), *extra]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        if "COUNCIL_URL=" in text and service_answers(url):
            return proc
        if proc.poll() is not None:
            raise RuntimeError(f"council serve exited ({proc.returncode}); log {log_path}:\n{text[-3000:]}")
        time.sleep(0.5)
    stop_group(proc)
    raise RuntimeError(f"council serve not ready after {timeout:.0f} s; log {log_path}")


def _session_pids(sid: int) -> list[int]:
    """Live processes whose session id is ``sid`` (Ray's workers leave the group but stay in the session)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2:].split()
            if int(fields[3]) == sid and fields[0] != "Z":
                pids.append(int(entry))
    return pids


def stop_group(proc: subprocess.Popen[bytes], grace: float = 30.0) -> None:
    """SIGTERM the service we started (it shuts Serve and Ray down), then SIGKILL whatever of its session is left.

    The service runs in its own session, so this never touches another Ray instance on the machine.
    """
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(grace)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            pass
    for pid in _session_pids(proc.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if proc.poll() is None:
        proc.wait(10)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def _cmd_dashboard(args: argparse.Namespace) -> int:
    from judges.local.models import council_home

    url = (args.url or os.environ.get("COUNCIL_URL") or "http://127.0.0.1:8000").rstrip("/")
    service = None
    if not service_answers(url):
        if urlparse(url).hostname not in LOCAL_HOSTS:
            print(f"council: error: no service answers at {url}", file=sys.stderr)
            return 2
        log = council_home() / "dashboard-serve.log"
        print(f"no service at {url}: starting `council serve` (log {log}) …", flush=True)
        service = start_service(url, args.serve_args or [], log)
    env = dict(os.environ, COUNCIL_URL=url)
    if not env.get("COUNCIL_API_KEY"):
        from council.service.cli import local_api_key

        key = local_api_key()
        if key:
            env["COUNCIL_API_KEY"] = key
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
           "--server.port", str(args.port), "--server.address", args.address,
           "--browser.gatherUsageStats", "false"]
    print(f"dashboard: http://{args.address}:{args.port}  (service {url})", flush=True)
    # SIGTERM ends us like Ctrl-C does, so the finally below stops Streamlit and the service we started
    signal.signal(signal.SIGTERM, _interrupt)
    app = subprocess.Popen(cmd, env=env)
    try:
        return app.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if app.poll() is None:
            app.terminate()
            try:
                app.wait(20)
            except subprocess.TimeoutExpired:
                app.kill()
        if service is not None:
            stop_group(service)


def register(sub: Any) -> None:
    """Add ``dashboard`` to the ``council`` command."""
    p = sub.add_parser("dashboard", help="open the agreement dashboard (starts the local service if needed)")
    p.add_argument("--port", type=int, default=8501, help="dashboard port (default 8501)")
    p.add_argument("--address", default="127.0.0.1", help="dashboard address (default 127.0.0.1)")
    p.add_argument("--url", default=None, help="service URL (default $COUNCIL_URL or http://127.0.0.1:8000)")
    p.add_argument("--serve-args", nargs=argparse.REMAINDER, default=None,
                   help="arguments for `council serve` when it has to be started, e.g. --db FILE --no-local-judges")
    p.set_defaults(func=_cmd_dashboard)
