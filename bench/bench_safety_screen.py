"""Safety-screen benchmark: how well the embedded judge's two yes/no screens send danger to people.

The screens (:mod:`judges.agents.safety`) are read as P(yes) and flag at fixed thresholds (``THRESHOLDS``), which
were chosen on the demo batch. This bench reports, for the embedded 1.5B judge:

- **demo** (in sample): the 4 unsafe replies vs the 12 others (advice screen), the suicidal context vs the
  other 3 (risk screen), and how many unsafe replies reach review by either screen ("routed");
- **held-out set** (``bench/data/safety_screen_heldout.jsonl``, written by us for this bench before it was
  first run and never used to choose a threshold): 10 contexts, 4 of them with suicidal or self-harm content,
  each with one harmful reply (substances, starving, sleep deprivation, stopping medication, or agreeing with
  the wish to die) and two safe ones (one cold, one warm that mentions sleep, food or medication safely);
- **EPITOME** (the 50 Reddit posts and replies of ../shared/data/empathy-experts, unlabelled for safety): how
  often each screen flags, i.e. the review load on real peer-support text, and what it flagged.

Recall and false-flag rates come with Clopper–Pearson 95 % intervals (scipy); every call goes through the
product's agents and model client and is cached in the store given by ``--db``.

    .venv/bin/python bench/bench_safety_screen.py [--db .council/bench_safety.duckdb] [--no-local-up]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

import pandas as pd
from scipy.stats import binomtest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from council.batchfile import read_batch  # noqa: E402
from council.cli_common import DEMO_BATCH  # noqa: E402
from council.empathy_experts import EMPATHY_EXPERTS, epitome_batch  # noqa: E402
from council.run import LocalExecutor  # noqa: E402
from council.spec import load_council  # noqa: E402
from council.store.store import Store  # noqa: E402
from council.types import Batch  # noqa: E402
from judges.agents.safety import THRESHOLDS, ScreenInput, advice_screen_agent, risk_screen_agent  # noqa: E402
from judges.client.records import CallTags  # noqa: E402

HELDOUT = ROOT / "bench" / "data" / "safety_screen_heldout.jsonl"


def _rate(k: int, n: int) -> str:
    if n == 0:
        return "n/a"
    ci = binomtest(k, n).proportion_ci(method="exact")
    return f"{k}/{n} = {k / n:.2f} [{ci.low:.2f}, {ci.high:.2f}]"


async def screen(store: Store, batch: Batch, source: str) -> pd.DataFrame:
    """Both screens on every context and candidate of ``batch``: one row per screened text."""
    judge = load_council("local-screened").judges[0]
    client = LocalExecutor(store).client(judge)
    risk, advice = risk_screen_agent(), advice_screen_agent()
    rows = []
    for item in batch.items:
        context = item.as_context()
        tags = CallTags(batch_id=f"bench-safety-{source}", judge_id=judge.id, item_id=item.id, agent="")
        outcome = await risk(ScreenInput(context=context, tags=tags), client)
        rows.append({"source": source, "item": item.id, "candidate": "", "screen": "seeker_risk",
                     "p_yes": outcome.value.p_yes if outcome.value else None,
                     "flagged": outcome.value.flagged if outcome.value else None, "abstention": outcome.abstention,
                     "label": item.meta.get("seeker_risk", item.id == "hopeless-nights" if source == "demo" else None),
                     "text": context.transcript()[:90]})
        for candidate in item.candidates:
            outcome = await advice(ScreenInput(context=context, candidate=candidate, tags=tags), client)
            label = (candidate.id in ("unsafe", "harmful")) if source in ("demo", "heldout") else None
            rows.append({"source": source, "item": item.id, "candidate": candidate.id, "screen": "harmful_advice",
                         "p_yes": outcome.value.p_yes if outcome.value else None,
                         "flagged": outcome.value.flagged if outcome.value else None,
                         "abstention": outcome.abstention, "label": label, "text": candidate.text[:90]})
    return pd.DataFrame(rows)


def report(df: pd.DataFrame) -> None:
    """Recall, false flags and routing per labelled source; flag rates on EPITOME."""
    for source in ("demo", "heldout"):
        part = df[df.source == source]
        if part.empty:
            continue
        print(f"\n== {source} ({'in sample: the thresholds were chosen here' if source == 'demo' else 'held out'})")
        for name in ("seeker_risk", "harmful_advice"):
            s = part[part.screen == name]
            pos, neg = s[s.label == True], s[s.label == False]  # noqa: E712
            print(f"{name:15s} recall {_rate(int(pos.flagged.sum()), len(pos))}   false flags "
                  f"{_rate(int(neg.flagged.sum()), len(neg))}   P(yes) positives "
                  f"{pos.p_yes.round(2).tolist()} negatives max {neg.p_yes.max():.2f}")
        risky = set(part[(part.screen == "seeker_risk") & (part.flagged == True)].item)  # noqa: E712
        advice = part[part.screen == "harmful_advice"]
        routed = advice.flagged.astype(bool) | advice.item.isin(risky)
        harmful = advice.label == True  # noqa: E712
        caught = _rate(int(routed[harmful].sum()), int(harmful.sum()))
        print(f"harmful replies routed to review (advice flag or risk context): {caught}; "
              f"safe replies routed: {_rate(int(routed[~harmful].sum()), int((~harmful).sum()))}")
    epi = df[df.source == "epitome"]
    if not epi.empty:
        print("\n== EPITOME (unlabelled for safety: the review load on real peer-support text)")
        for name in ("seeker_risk", "harmful_advice"):
            s = epi[epi.screen == name]
            print(f"{name:15s} flags {_rate(int(s.flagged.sum()), len(s))}")
            for r in s[s.flagged == True].itertuples():  # noqa: E712
                print(f"   P(yes) {r.p_yes:.2f}  {r.text!r}")
    abst = df.abstention.notna().sum()
    print(f"\nabstentions: {abst} of {len(df)} screen calls; thresholds {THRESHOLDS}")


def main() -> int:
    """Run the screens on the three sources and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=str(ROOT / ".council" / "bench_safety.duckdb"))
    parser.add_argument("--json", help="also write the rows here")
    parser.add_argument("--no-local-up", action="store_true")
    args = parser.parse_args()
    if not args.no_local_up:
        from judges.local.server import local_up

        local_up([load_council("local-screened").judges[0].id])
    print(f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    sources = [("demo", read_batch(DEMO_BATCH, name="demo")), ("heldout", read_batch(HELDOUT, name="heldout"))]
    if (EMPATHY_EXPERTS / "texts" / "sample_epitome.csv").is_file():
        sources.append(("epitome", epitome_batch()))
    else:
        print(f"EPITOME texts absent at {EMPATHY_EXPERTS}: that part is skipped")
    Path(args.db).parent.mkdir(parents=True, exist_ok=True)
    store = Store(args.db)
    started = time.monotonic()
    try:
        frames = [asyncio.run(screen(store, batch, name)) for name, batch in sources]
    finally:
        store.close()
    df = pd.concat(frames, ignore_index=True)
    report(df)
    print(f"{len(df)} screen calls in {time.monotonic() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(df.to_dict(orient="records"), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
