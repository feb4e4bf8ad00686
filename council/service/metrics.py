"""Prometheus metrics: our counters (calls, cache hits, judgments, pairwise verdicts) beside Ray Serve's own.

Counters are Ray metrics, so every replica's values reach Ray's per-node metrics agent; the ingress's
``/metrics`` gathers the Prometheus text of every alive node (Ray Serve's request metrics included).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from judges.client.records import CallRecord

__all__ = ["CouncilMetrics", "scrape_cluster"]


INLINE = "inline"
"""The judge label of every inline (client-defined) judge: /metrics is public, clients' judge ids are not."""


class CouncilMetrics:
    """The service's own counters; judges are labelled by id only when they belong to a named council."""

    def __init__(self, public_judges: frozenset[str] = frozenset()) -> None:
        from ray.util.metrics import Counter

        self.public_judges = public_judges
        self.calls = Counter("council_llm_calls", description="LLM calls by judge and outcome "
                             "(made, cached, failed).", tag_keys=("judge", "outcome"))
        self.tokens = Counter("council_llm_tokens", description="Tokens sent and received (cache hits excluded).",
                              tag_keys=("judge",))
        self.judgments = Counter("council_judgments", description="Attribute judgments stored, by outcome "
                                 "(scored or the abstention reason).", tag_keys=("judge", "outcome"))
        self.verdicts = Counter("council_pair_verdicts", description="Pairwise verdicts stored (one per "
                                "presentation, sample and attribute), by outcome (verdict or the abstention "
                                "reason).", tag_keys=("judge", "outcome"))

    def label(self, judge_id: str, named: bool = True) -> str:
        """The judge label: a named council's judge id, else ``inline``."""
        return judge_id if named and judge_id in self.public_judges else INLINE

    def call(self, record: CallRecord, named: bool = True) -> None:
        """Count one recorded call (``named``: its batch runs a named council)."""
        judge = self.label(record.tags.judge_id, named)
        outcome = "cached" if record.cache_hit else ("failed" if record.error else "made")
        self.calls.inc(1, tags={"judge": judge, "outcome": outcome})
        tokens = record.prompt_tokens + record.completion_tokens
        if not record.cache_hit and tokens > 0:  # failed calls have no tokens, and Ray counters refuse inc(0)
            self.tokens.inc(tokens, tags={"judge": judge})

    def judgment(self, judge_id: str, abstention: str | None, named: bool = True) -> None:
        """Count one stored attribute judgment."""
        self.judgments.inc(1, tags={"judge": self.label(judge_id, named), "outcome": abstention or "scored"})

    def verdict(self, judge_id: str, abstention: str | None, named: bool = True) -> None:
        """Count one stored pairwise verdict (``abstention``: its reason, None for a verdict)."""
        self.verdicts.inc(1, tags={"judge": self.label(judge_id, named), "outcome": abstention or "verdict"})


async def scrape_cluster(timeout_s: float = 5.0) -> str:
    """Prometheus text from the metrics agent of every alive Ray node."""
    import ray

    targets = [f"http://{n['NodeManagerAddress']}:{n['MetricsExportPort']}/metrics"
               for n in ray.nodes() if n.get("Alive") and n.get("MetricsExportPort")]
    async with httpx.AsyncClient(timeout=timeout_s) as client:
        replies: list[Any] = await asyncio.gather(*[client.get(t) for t in targets], return_exceptions=True)
    return "\n".join(r.text for r in replies if isinstance(r, httpx.Response) and r.status_code == 200)
