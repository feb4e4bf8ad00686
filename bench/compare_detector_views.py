"""Which judge views a detector change alters: the defended view of every attacked and clean text, old vs new.

The robustness measurements of a council (bench/RESULTS.md) are cached by prompt, and a prompt holds the judge's
view of each untrusted text (:func:`judges.injection.shield` ``.show()``). This script builds every text a
robustness run shows a judge — every template of every transformation of ``--corpus`` applied to every target
text of the demo and EPITOME level-0 sources (as ``council.robustness.detection.detector_catch`` does), plus the
clean target replies and the clean seekers' turns — and prints how many views differ between the detector at
``--base`` (a git revision, exported with ``git archive`` to a temporary directory and run there in a
subprocess) and the working tree, per transformation, with each changed view (old → new) and the finding kinds
that differ. No judge, no LLM, seconds.

    .venv/bin/python bench/compare_detector_views.py [--base main] [--corpus attacks.v1] [--selection] [--show 20]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED_DATA_DIR", ROOT.parent / "shared" / "data"))
DEMO = ROOT / "examples" / "demo_batch.jsonl"


def views(corpus_name: str, shared: Path, selection: bool = False) -> list[dict]:
    """The defended view and finding kinds of every text a robustness run on ``corpus_name`` shows a judge.

    Imports from ``sys.path`` as it is, so the same code dumps the views of whichever detector is importable.
    ``selection``: the robustness selection set's replies instead of the measured targets.
    """
    from council.batchfile import read_batch
    from council.robustness.corpus import apply_transformation, load_corpus
    from council.robustness.detection import target_texts
    from council.robustness.run import demo_source, epitome_source, selection_sources
    from judges.injection import shield
    from protocols import load_protocol

    if selection:
        sources = selection_sources(read_batch(DEMO, name="demo"), shared / "empathy-experts")
    else:
        sources = [demo_source(read_batch(DEMO, name="demo"))]
        epitome = epitome_source(shared / "empathy-experts")
        sources += [epitome] if epitome is not None else []
    rows = []

    def add(transformation: str, template: int, source: str, role: str, text: str) -> None:
        view = shield(text, role=role)
        rows.append({"transformation": transformation, "template": template, "source": source, "role": role,
                     "text": text, "view": view.show(), "kinds": sorted(view.screening.reasons)})

    for source in sources:
        protocol = load_protocol(source.protocol_id)
        for item in source.batch.items:
            if item.id not in source.targets:
                continue
            for turn in item.as_context().turns:
                add("clean", -1, source.name, "context", turn.text)
            for c in item.candidates:
                if c.id in source.targets[item.id]:
                    add("clean", -1, source.name, "reply", c.text)
        for t in load_corpus(corpus_name).transformations:
            role = "context" if t.target == "context" else "reply"
            for index, template in enumerate(t.templates):
                single = t.model_copy(update={"templates": [template]})
                for text in target_texts(source, t):
                    add(t.name, index, source.name, role, apply_transformation(single, text, protocol))
    return rows


def base_views(base: str, corpus_name: str, selection: bool) -> list[dict]:
    """The views under the detector at git revision ``base`` (exported and run in a subprocess)."""
    with tempfile.TemporaryDirectory(prefix="detector-base-") as tmp:
        archive = Path(tmp) / "base.tar"
        subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), base], check=True)
        with tarfile.open(archive) as tar:
            tar.extractall(Path(tmp) / "tree", filter="data")
        out = Path(tmp) / "views.json"
        env = {**os.environ, "PYTHONPATH": str(Path(tmp) / "tree")}
        subprocess.run([sys.executable, __file__, "--dump", str(out), "--corpus", corpus_name, "--shared",
                        str(SHARED), *(["--selection"] if selection else [])], check=True, env=env, cwd=tmp)
        return json.loads(out.read_text())


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base", default="main", help="git revision of the old detector (default main)")
    p.add_argument("--corpus", default="attacks.v1")
    p.add_argument("--selection", action="store_true", help="the selection set's replies instead of the targets")
    p.add_argument("--show", type=int, default=20, help="changed views printed in full (default 20)")
    p.add_argument("--dump", default=None, help=argparse.SUPPRESS)
    p.add_argument("--shared", default=str(SHARED), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.dump:  # the subprocess: whatever detector PYTHONPATH names
        Path(args.dump).write_text(json.dumps(views(args.corpus, Path(args.shared), args.selection)))
        return 0
    sys.path.insert(0, str(ROOT))
    old, new = base_views(args.base, args.corpus, args.selection), views(args.corpus, SHARED, args.selection)
    if [(r["transformation"], r["template"], r["text"]) for r in old] != [
            (r["transformation"], r["template"], r["text"]) for r in new]:
        print("the attacked texts differ between the two trees (corpus or sources changed); compare by hand")
        return 1
    changed = [(o, n) for o, n in zip(old, new, strict=True) if o["view"] != n["view"]]
    per = Counter(o["transformation"] for o, _ in changed)
    total = Counter(o["transformation"] for o in old)
    print(f"views compared: {len(old)} (corpus {args.corpus}, every template on every target text, plus clean "
          f"texts); changed: {len(changed)}")
    for name, n in total.items():
        print(f"- {name}: {per[name]}/{n} changed")
    for o, n in changed[:args.show]:
        print(f"\n## {o['transformation']} #{o['template']} ({o['source']}, {o['role']}); kinds {o['kinds']} -> "
              f"{n['kinds']}\nold: {o['view']!r}\nnew: {n['view']!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
