"""What the detector and defence tests share: the demo batch, the shared data directory, the corpus, the protocols."""

from __future__ import annotations

from pathlib import Path

from council.batchfile import read_batch
from council.robustness.corpus import load_corpus
from protocols import load_protocol

ROOT = Path(__file__).resolve().parents[2]
DEMO = read_batch(ROOT / "examples" / "demo_batch.jsonl", name="demo")
SHARED = ROOT.parent / "shared" / "data"
CORPUS = load_corpus()
MA7, EPITOME = load_protocol("mentalalign-7"), load_protocol("epitome")
