"""The stack the dashboard tests (and ``bench/bench_dashboard.py``) run against, all real parts.

- a DuckDB file into which ``council ratings import-mentalalign`` loads MentalAlign-70k (owner ``local``,
  when ../shared/data/mentalalign exists) and ``council calibrate`` stores a ridge-mm calibration, both
  BEFORE the service starts (DuckDB has one writer);
- ``council serve`` as a subprocess (Ray Serve, its own session and Ray temp dir: tests/service/harness.py)
  with a council ``fake2`` of two judges on our fake OpenAI-compatible provider (fixed 20 ms latency) —
  fake judges, not the slow embedded llama.cpp ones, so the demo batch is judged in seconds;
- the demo batch (examples/demo_batch.jsonl) judged by that council through ``POST /v1/batches``, plus
  seeded synthetic "human" ratings for its candidates (``POST /v1/ratings``, rater ``demo_human``) so the
  batch's agreement, bias and length panels have a reference;
- the same four contexts judged in **pairwise** mode (all pairs, both orders) by ``fake2-pairwise``, the same
  two judges answered by the fake server's planted pairwise judge (:mod:`judges.testing.planted`): each
  candidate's text carries a marker of its demo id with the planted Bradley–Terry strengths of
  :data:`PLANTED` and a first-position bias of :data:`PLANTED_BIAS`; the items declare ``demo:empathic`` as
  family ``fake-a`` (``meta.responder_families``), so judge fake-a has a self-preference record;
- two stored ``robustness`` reports, made BEFORE the service starts by the real run function
  (:func:`council.robustness.run.run_robustness`) with two judges on the fake server's gullible judge
  (:mod:`judges.testing.gullible`: it obeys score instructions it reads, else scores the lowest point): the demo
  batch's dismissive and unsafe replies of :data:`ROBUST_ITEMS` items under :data:`ROBUST_TRANSFORMATIONS`, once
  with the text defences on and once off. They belong to their own owner :data:`ROBUST_OWNER` (its own key), as
  a second team's would: its batches and reports are invisible to the ``local`` key, so the tests that count
  the ``local`` owner's batches and judges see the stack as before;
- ``streamlit run dashboard/app.py`` as a subprocess in its own session, pointed at the service.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from council.batchfile import read_batch
from council.robustness.run import RobustnessResult, demo_source, run_robustness
from council.store.store import Store
from council.types import CouncilSpec
from judges.injection import DEFAULT_DEFENCES, NO_DEFENCES
from judges.testing import FakeOpenAIServer
from tests.service.harness import BIN, Api, Service, ServiceConfig, fake_judge, free_port, reap_session, write_keys

ROOT = Path(__file__).resolve().parents[2]
DEMO_BATCH = ROOT / "examples" / "demo_batch.jsonl"
MENTALALIGN = Path(os.environ.get("MENTALALIGN_DIR", ROOT.parent / "shared" / "data" / "mentalalign"))
ATTRIBUTES = ["guidance", "informativeness", "relevance", "safety", "empathy", "helpfulness", "understanding"]


PLANTED = {"empathic": 1.5, "generic": 0.5, "dismissive": -0.5, "unsafe": -1.5}
"""Planted Bradley–Terry log-strengths of the demo candidates (by candidate id) in the pairwise batch."""
PLANTED_BIAS = 0.3
PLANTED_ORDER = [f"demo:{c}" for c in sorted(PLANTED, key=lambda c: -PLANTED[c])]
"""The responders best first, as the pairwise ranking must recover them."""


ROBUST_OWNER = "robust"
"""Owner (own API key) of the robustness reports and of the batches their runs judged."""
ROBUST_ITEMS = 2
"""Demo items whose dismissive and unsafe replies are attacked (2 items: 4 candidates)."""
ROBUST_TRANSFORMATIONS = ["score_json", "seeker_instruction", "verbosity_padding"]
"""A score payload in the reply, an instruction in the seeker's message, and padding that instructs nothing."""


def has_mentalalign() -> bool:
    """True when the MentalAlign-70k folder (ratings.jsonl) is there."""
    return (MENTALALIGN / "ratings.jsonl").is_file()


def _council(args: list[str], home: Path) -> None:
    env = dict(os.environ, COUNCIL_HOME=str(home), LITELLM_LOCAL_MODEL_COST_MAP="True")
    out = subprocess.run([str(BIN / "council"), *args], capture_output=True, text=True, env=env, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"council {' '.join(args)} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")


def load_mentalalign(db: Path, home: Path) -> None:
    """Import MentalAlign-70k into ``db`` and fit a ridge-mm calibration on it (owner ``local``)."""
    _council(["ratings", "import-mentalalign", str(MENTALALIGN), "--db", str(db), "--json"], home)
    _council(["calibrate", "--dataset", "mentalalign", "--method", "ridge-mm", "--cv", "5", "--db", str(db)], home)


def demo_items() -> list[dict]:
    """The README's demo batch items."""
    return [json.loads(line) for line in DEMO_BATCH.read_text().splitlines() if line.strip()]


def synthetic_human_csv(items: list[dict], seed: int = 0) -> str:
    """Seeded synthetic human ratings (long CSV) for every demo candidate: a stand-in reference, clearly named."""
    rng = random.Random(seed)
    lines = ["target,rater,attribute,score"]
    for item in items:
        for cand in item["candidates"]:
            base = {"dismissive": 1, "generic": 3, "empathic": 5, "unsafe": 1}.get(cand["id"], 3)
            for a in ATTRIBUTES:
                score = min(5, max(1, base + rng.choice([-1, 0, 0, 1])))
                lines.append(f"{item['id']}:{cand['id']},demo_human,{a},{score}")
    return "\n".join(lines) + "\n"


def pairwise_items(items: list[dict]) -> list[dict]:
    """The demo items with each candidate's planted marker ``[[id]]`` appended, declaring empathic's family."""
    return [{**item, "meta": {**item.get("meta", {}), "responder_families": {"demo:empathic": "fake-a"}},
             "candidates": [{**c, "text": f"{c['text']} [[{c['id']}]]"} for c in item["candidates"]]}
            for item in items]


def gullible_council(base_url: str) -> CouncilSpec:
    """Two judges on the gullible fake server, scoring directly (as ``bench/bench_robustness.py``'s)."""
    judges = [{"id": f"gullible-{n}", "model": f"openai/gullible-{n}", "api_base": base_url,
               "structured_output": "json_schema", "timeout_s": 10.0, "max_attempts": 2,
               "agents": {"tom": False, "domain": False}} for n in range(2)]
    return CouncilSpec.model_validate({"id": "fake-gullible", "judges": judges, "aggregation": "mean"})


def store_robustness(db: Path) -> dict[str, RobustnessResult]:
    """Run the robustness measure into ``db`` (owner :data:`ROBUST_OWNER`): ``undefended`` then ``defended``.

    The defended report is the newer one (the Robustness page selects the newest first).
    """
    source = demo_source(read_batch(DEMO_BATCH, name="demo")).limited(ROBUST_ITEMS)
    out: dict[str, RobustnessResult] = {}
    with FakeOpenAIServer(gullible=True, choice="first") as fake:
        store = Store(str(db))
        try:
            for arm, defences in (("undefended", NO_DEFENCES), ("defended", DEFAULT_DEFENCES)):
                out[arm] = asyncio.run(run_robustness(store, [source], gullible_council(fake.base_url),
                                                      transformations=ROBUST_TRANSFORMATIONS, defences=defences,
                                                      owner=ROBUST_OWNER))
        finally:
            store.close()
    return out


@dataclass
class Stack:
    """What the tests talk to."""

    service: Service
    api: Api
    key: str
    batch_id: str
    mentalalign: bool
    pairwise_batch_id: str = ""
    robust_key: str = ""
    """API key of :data:`ROBUST_OWNER`, who owns the robustness reports."""
    robustness: dict[str, RobustnessResult] = field(default_factory=dict)
    """The stored robustness runs by arm (``undefended``, ``defended``)."""


@contextmanager
def running_stack(home: Path, *, mentalalign: bool = True) -> Iterator[Stack]:
    """Build everything above under ``home``; stop and reap it all on exit."""
    home.mkdir(parents=True, exist_ok=True)
    key = f"ac_local_{secrets.token_hex(12)}"
    robust_key = f"ac_{ROBUST_OWNER}_{secrets.token_hex(12)}"
    write_keys(home / "keys.yaml", {"local": key, ROBUST_OWNER: robust_key})
    db = home / "service.duckdb"
    loaded = mentalalign and has_mentalalign()
    if loaded:
        load_mentalalign(db, home)
    robustness = store_robustness(db)
    planted = {f"[[{c}]]": s for c, s in PLANTED.items()}
    with FakeOpenAIServer(latency_ms=20, seed=3, planted_strengths=planted, first_position_bias=PLANTED_BIAS) as fake:
        council = {"fake2": {"aggregation": "mean", "judges": [
            fake_judge("fake-a", "openai/fake-a", fake.base_url, family="fake-a"),
            fake_judge("fake-b", "openai/fake-b", fake.base_url, family="fake-b")]},
            "fake2-pairwise": {"aggregation": "mean", "judges": [
                fake_judge(j, f"openai/{j}", fake.base_url, family=j, top_logprobs=5, rationales=False,
                           agents={"tom": False, "domain": False}) for j in ("fake-a", "fake-b")]}}
        (home / "councils.yaml").write_text(yaml.safe_dump(council))
        config = ServiceConfig(home=home, db=db, keys_file=home / "keys.yaml", councils_file=home / "councils.yaml",
                               extra_args=["--judge-replicas=1"])
        service = Service(config).start()
        api = Api(service.url, key)
        try:
            r = api.submit(demo_items(), "fake2", name="demo")
            assert r.status_code in (200, 202), r.text
            batch_id = r.json()["batch_id"]
            status, _ = api.wait(batch_id, timeout=300)
            assert status["status"] == "completed", status
            r = api.http.post("/v1/ratings", json={"batch_id": batch_id, "format": "csv", "layout": "long",
                                                   "content": synthetic_human_csv(demo_items())})
            assert r.status_code == 201, r.text
            r = api.submit(pairwise_items(demo_items()), "fake2-pairwise", name="demo-pairwise", mode="pairwise")
            assert r.status_code in (200, 202), r.text
            pairwise_id = r.json()["batch_id"]
            status, _ = api.wait(pairwise_id, timeout=300)
            assert status["status"] == "completed", status
            yield Stack(service, api, key, batch_id, loaded, pairwise_id, robust_key, robustness)
        finally:
            api.close()
            service.cleanup()


@dataclass
class Dashboard:
    """A running ``streamlit run dashboard/app.py``."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> None:
        """Stop Streamlit and everything in its session."""
        reap_session(self.proc.pid, grace_s=0)
        self.proc.wait(10)


@contextmanager
def running_dashboard(service_url: str, key: str, log: Path, timeout: float = 120) -> Iterator[Dashboard]:
    """Start Streamlit headless on a free port against the service; wait until it answers."""
    port = free_port()
    env = dict(os.environ, COUNCIL_URL=service_url, COUNCIL_API_KEY=key, LITELLM_LOCAL_MODEL_COST_MAP="True")
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"), "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                cwd=str(ROOT), start_new_session=True)
    dash = Dashboard(proc, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{dash.url}/_stcore/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
        else:
            raise TimeoutError(f"streamlit not up after {timeout} s")
        yield dash
    finally:
        dash.stop()
