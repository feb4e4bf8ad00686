"""Dashboard views straight from the store: the overview of batches and datasets, and item-level detail.

Plain functions over a :class:`~council.store.store.Store` (SQL on the tables and views of migrations 001–006),
every one scoped by owner: another owner's batch is not found. The dashboard reads them through
``/v1/views/...`` (:mod:`council.service.views_api`).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from council.analysis import NotFoundError
from council.store.pairwise_store import BATCH_MODE_SQL
from council.store.store import Store

__all__ = ["RISK_LEVELS", "batch_item", "batch_items", "overview", "records"]

RISK_LEVELS = ("none", "low", "moderate", "high", "imminent")
"""The domain agent's risk levels, least to most severe (judges.types.DomainResult.risk_level)."""

_RISK_SQL = (
    "CASE json_extract_string(output, '$.risk_level') "
    + " ".join(f"WHEN '{name}' THEN {i}" for i, name in enumerate(RISK_LEVELS))
    + " END"
)
_HIGH = RISK_LEVELS.index("high")
"""The rank a flagging risk screen gives its context (:mod:`judges.agents.safety`)."""


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as JSON-ready records (NaN → null, timestamps → ISO strings)."""
    return list(json.loads(df.to_json(orient="records", date_format="iso")))


def _owned_batch(store: Store, owner: str, batch_id: str) -> dict[str, Any]:
    df = store.query("SELECT * FROM batches WHERE batch_id = ? AND owner = ?", [batch_id, owner])
    if df.empty:
        raise NotFoundError("batch_id", f"no batch {batch_id!r}")
    return dict(df.iloc[0].to_dict())


def overview(store: Store, owner: str) -> dict[str, Any]:
    """Batches (status, mode, progress, tokens, cost, council members, abstention rate per judge) and datasets.

    ``items_key`` (md5 of the sorted item ids) is equal for batches over the same items, e.g. the absolute and
    pairwise batches of one file.

    A dataset's "abstention" per rater is the share of its cells that hold no usable score (blank or out
    of the scale), the nearest thing to an abstention that imported ratings have.
    """
    batches = store.query(
        f"""
        SELECT batch_id, name, status, protocol_id, council_id, council, n_items, n_candidates, calibration_id,
               created_at, updated_at, {BATCH_MODE_SQL} AS mode,
               (SELECT md5(string_agg(item_id, chr(31) ORDER BY item_id)) FROM items i
                WHERE i.batch_id = b.batch_id) AS items_key
        FROM batches b WHERE owner = ? ORDER BY created_at DESC""",
        [owner],
    )
    spend = store.query(
        """
        SELECT batch_id, count(*) FILTER (WHERE NOT cache_hit) AS calls_made, count(*) FILTER (WHERE cache_hit)
               AS calls_cached, count(*) FILTER (WHERE error IS NOT NULL) AS calls_failed,
               coalesce(sum(prompt_tokens), 0) AS prompt_tokens, coalesce(sum(completion_tokens), 0)
               AS completion_tokens, coalesce(sum(cost_usd), 0) AS cost_usd
        FROM llm_calls WHERE batch_id IN (SELECT batch_id FROM batches WHERE owner = ?) GROUP BY batch_id""",
        [owner],
    )
    done = store.query(
        """
        SELECT batch_id, count(DISTINCT (item_id, judge_id)) AS units_done FROM (
            SELECT batch_id, item_id, judge_id FROM agent_outputs UNION ALL
            SELECT batch_id, item_id, judge_id FROM pairwise_verdicts)
        WHERE batch_id IN (SELECT batch_id FROM batches WHERE owner = ?) GROUP BY batch_id""",
        [owner],
    )
    judges = store.query(
        """
        SELECT batch_id, judge_id, count(*) AS judgments, count(*) - count(score) AS abstentions
        FROM judgments WHERE batch_id IN (SELECT batch_id FROM batches WHERE owner = ?) GROUP BY ALL
        ORDER BY batch_id, judge_id""",
        [owner],
    )
    out = batches.merge(spend, on="batch_id", how="left").merge(done, on="batch_id", how="left")
    members = [[j["id"] for j in json.loads(c)["judges"]] for c in out.pop("council")]
    out["judges"] = members
    out["units"] = [n * len(m) for n, m in zip(out["n_items"], members, strict=True)]
    for col in (
        "calls_made",
        "calls_cached",
        "calls_failed",
        "prompt_tokens",
        "completion_tokens",
        "units_done",
    ):
        out[col] = out[col].fillna(0).astype(int)
    out["cost_usd"] = out["cost_usd"].fillna(0.0)
    out["progress"] = [d / u if u else 0.0 for d, u in zip(out["units_done"], out["units"], strict=True)]
    judges["abstention_rate"] = judges["abstentions"] / judges["judgments"].where(judges["judgments"] > 0)
    datasets = store.query(
        """
        SELECT name, description, protocol_id, scale_min, scale_max, created_at, updated_at
        FROM datasets WHERE owner = ? ORDER BY created_at DESC""",
        [owner],
    )
    raters = store.query(
        """
        SELECT dataset, rater, rater_kind, count(DISTINCT target) AS targets, count(*) AS cells,
               count(*) FILTER (WHERE score IS NULL OR out_of_scale) AS unusable
        FROM ratings WHERE owner = ? AND dataset IS NOT NULL GROUP BY ALL ORDER BY dataset, rater""",
        [owner],
    )
    raters["abstention_rate"] = raters["unusable"] / raters["cells"]
    return {
        "batches": records(out),
        "batch_judges": records(judges),
        "datasets": records(datasets),
        "dataset_raters": records(raters),
    }


def _preview(context_json: str, limit: int = 160) -> str:
    turns = json.loads(context_json)
    text = next(
        (t["text"] for t in reversed(turns) if t.get("role") == "seeker"), turns[-1]["text"] if turns else ""
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


def batch_items(store: Store, owner: str, batch_id: str) -> list[dict[str, Any]]:
    """Every item of a batch with its disagreement and risk, for picking what a human should review.

    ``max_spread`` is the largest (max − min) between judges over the item's candidates × attributes and
    ``mean_sd`` the mean SD between judges; ``risk`` is the most severe level any judge's domain agent gave
    (``risk_rank`` orders :data:`RISK_LEVELS`); ``abstentions`` counts attribute judgments without a score.
    """
    _owned_batch(store, owner, batch_id)
    df = store.query(
        f"""
        WITH cs AS (SELECT item_id, max(spread) AS max_spread, avg(sd) AS mean_sd,
                           count(*) FILTER (WHERE status <> 'ok') AS no_consensus
                    FROM council_scores WHERE batch_id = $b GROUP BY item_id),
             risk AS (SELECT item_id, max(CASE WHEN agent = 'domain' THEN {_RISK_SQL}
                                              WHEN json_extract(output, '$.flagged')::BOOLEAN THEN {_HIGH} END)
                             AS risk_rank FROM agent_outputs
                      WHERE batch_id = $b AND agent IN ('domain', 'risk_screen') AND output IS NOT NULL
                      GROUP BY item_id),
             ab AS (SELECT item_id, count(*) - count(score) AS abstentions FROM judgments WHERE batch_id = $b
                    GROUP BY item_id),
             nc AS (SELECT item_id, count(*) AS candidates FROM candidates WHERE batch_id = $b GROUP BY item_id)
        SELECT i.item_id, i.position, i.context, nc.candidates, cs.max_spread, cs.mean_sd, cs.no_consensus,
               risk.risk_rank, coalesce(ab.abstentions, 0) AS abstentions
        FROM items i LEFT JOIN cs USING (item_id) LEFT JOIN risk USING (item_id) LEFT JOIN ab USING (item_id)
        LEFT JOIN nc USING (item_id) WHERE i.batch_id = $b ORDER BY i.position""",
        {"b": batch_id},
    )  # type: ignore[arg-type]
    df["preview"] = [_preview(c) for c in df.pop("context")]
    df["risk"] = [RISK_LEVELS[int(r)] if pd.notna(r) else None for r in df["risk_rank"]]
    return records(df)


def _outputs(store: Store, batch_id: str, item_id: str) -> pd.DataFrame:
    return store.query(
        """
        SELECT judge_id, agent, candidate_id, sample, output, abstention, detail, repaired
        FROM agent_outputs WHERE batch_id = ? AND item_id = ? ORDER BY judge_id, agent, candidate_id, sample""",
        [batch_id, item_id],
    )


def batch_item(store: Store, owner: str, batch_id: str, item_id: str) -> dict[str, Any]:
    """One item: its context, candidates, each judge's ToM and domain outputs, scores and rationales.

    Returns:
        ``context`` (turns), ``candidates``, ``agents`` (one row per judge × agent × candidate × sample with
        the parsed output or the abstention), ``judgments`` (per candidate × judge × attribute × sample:
        score, rationale, quote, abstention; in ``scoring: expected`` also ``confidence`` and ``distribution``,
        scale point as text → probability, else null) and ``council`` (per candidate × attribute: score,
        spread, SD, and the mean ``confidence`` of the judges that scored).

    Raises:
        NotFoundError: If this owner has no such batch or the batch no such item.

    """
    _owned_batch(store, owner, batch_id)
    item = store.query(
        "SELECT context, meta FROM items WHERE batch_id = ? AND item_id = ?", [batch_id, item_id]
    )
    if item.empty:
        raise NotFoundError("item_id", f"no item {item_id!r} in batch {batch_id!r}")
    cands = store.query(
        "SELECT candidate_id, responder, text FROM candidates WHERE batch_id = ? AND item_id = ? "
        "ORDER BY position",
        [batch_id, item_id],
    )
    outputs = _outputs(store, batch_id, item_id)
    outputs["output"] = [json.loads(o) if isinstance(o, str) else None for o in outputs["output"]]
    judgments = store.query(
        """
        SELECT candidate_id, judge_id, attribute_id AS attribute, sample, score, calibrated_score, rationale, quote,
               abstention, detail, confidence, distribution FROM judgments WHERE batch_id = ? AND item_id = ?
        ORDER BY candidate_id, judge_id, attribute_id, sample""",
        [batch_id, item_id],
    )
    council = store.query(
        """
        SELECT candidate_id, attribute_id AS attribute, score, calibrated_mean AS calibrated_score, status,
               n_judges, n_scored, spread, sd, confidence FROM council_scores WHERE batch_id = ? AND item_id = ?
        ORDER BY candidate_id, attribute_id""",
        [batch_id, item_id],
    )
    meta = item["meta"][0]
    return {
        "batch_id": batch_id,
        "item_id": item_id,
        "context": json.loads(item["context"][0]),
        "meta": json.loads(meta) if isinstance(meta, str) else {},
        "candidates": records(cands),
        "agents": [
            {**r, "output": o}
            for r, o in zip(records(outputs.drop(columns="output")), outputs["output"], strict=True)
        ],
        "judgments": [
            {**r, "distribution": json.loads(d) if isinstance(d, str) else None}
            for r, d in zip(records(judgments.drop(columns="distribution")), judgments["distribution"], strict=True)
        ],
        "council": records(council),
    }
