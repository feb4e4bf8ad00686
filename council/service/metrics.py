"""Prometheus metrics: our counters (calls, cache hits, abstentions) beside Ray Serve's own.

Counters are Ray metrics, so every replica's values reach Ray's per-node metrics agent; the ingress's
``/metrics`` gathers the Prometheus text of every alive node (Ray Serve's request metrics included).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from judges.client.records import CallRecord

__all__ = ["CouncilMetrics", "scrape_cluster"]


class CouncilMetrics:
    """The service's own counters."""

    def __init__(self) -> None:
        from ray.util.metrics import Counter

        self.calls = Counter("council_llm_calls", description="LLM calls by judge and outcome "
                             "(made, cached, failed).", tag_keys=("judge", "outcome"))
        self.tokens = Counter("council_llm_tokens", description="Tokens sent and received (cache hits excluded).",
                              tag_keys=("judge",))
        self.judgments = Counter("council_judgments", description="Attribute judgments stored, by outcome "
                                 "(scored or the abstention reason).", tag_keys=("judge", "outcome"))

    def call(self, record: CallRecord) -> None:
        """Count one recorded call."""
        outcome = "cached" if record.cache_hit else ("failed" if record.error else "made")
        self.calls.inc(1, tags={"judge": record.tags.judge_id, "outcome": outcome})
        tokens = record.prompt_tokens + record.completion_tokens
        if not record.cache_hit and tokens > 0:  # failed calls have no tokens, and Ray counters refuse inc(0)
            self.tokens.inc(tokens, tags={"judge": record.tags.judge_id})

    def judgment(self, judge_id: str, abstention: str | None) -> None:
        """Count one stored attribute judgment."""
        self.judgments.inc(1, tags={"judge": judge_id, "outcome": abstention or "scored"})


async def scrape_cluster(timeout_s: float = 5.0) -> str:
    """Prometheus text from the metrics agent of every alive Ray node."""
    import ray

    targets = [f"http://{n['NodeManagerAddress']}:{n['MetricsExportPort']}/metrics"
               for n in ray.nodes() if n.get("Alive") and n.get("MetricsExportPort")]
    async with httpx.AsyncClient(timeout=timeout_s) as client:
        replies: list[Any] = await asyncio.gather(*[client.get(t) for t in targets], return_exceptions=True)
    return "\n".join(r.text for r in replies if isinstance(r, httpx.Response) and r.status_code == 200)
