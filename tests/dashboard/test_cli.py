"""``council dashboard``: against a running service it starts Streamlit with that URL and key and serves the app.

(The path that starts ``council serve`` itself is not exercised here: it would start a second Ray instance
on the shared test machine; the service tests cover ``council serve``.)
"""

from __future__ import annotations

import os
import subprocess
import time

import httpx
import pytest

from tests.dashboard.stack import Stack
from tests.service.harness import BIN, free_port, reap_session

pytestmark = [pytest.mark.dashboard, pytest.mark.timeout(300)]


def test_dashboard_command_serves_the_app_for_a_running_service(stack: Stack, tmp_path) -> None:  # noqa: ANN001
    port = free_port()
    env = dict(os.environ, COUNCIL_URL=stack.service.url, COUNCIL_API_KEY=stack.key, COUNCIL_HOME=str(tmp_path))
    log = tmp_path / "dashboard.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(BIN / "council"), "dashboard", "--port", str(port)], stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        healthy = False
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                healthy = httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=5).status_code == 200
            except httpx.HTTPError:
                healthy = False
            if healthy:
                break
            time.sleep(0.5)
        text = log.read_text()
        assert healthy, text
        assert f"dashboard: http://127.0.0.1:{port}" in text and stack.service.url in text
        assert "starting `council serve`" not in text  # a service answered, so none was started
    finally:
        reap_session(proc.pid, grace_s=0)


def test_dashboard_command_refuses_a_remote_url_that_does_not_answer(tmp_path) -> None:  # noqa: ANN001
    out = subprocess.run([str(BIN / "council"), "dashboard", "--url", "http://192.0.2.1:9"], capture_output=True,
                         text=True, timeout=60, env=dict(os.environ, COUNCIL_HOME=str(tmp_path)))
    assert out.returncode == 2
    assert "no service answers at http://192.0.2.1:9" in out.stderr
