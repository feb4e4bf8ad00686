"""Reading a batch's results back out of the store as tidy frames (CLI tables, API downloads).

Scores are written as the store holds them: a judge's score is the mean over its samples and, in
``scoring: expected``, the expected value of its distribution over the scale points, so it may be
fractional (3.42 on 1–5); nothing here rounds it. Beside it go ``confidence`` (1 − normalised entropy
of the distribution, mean over scored samples; the council's is the mean over its scoring judges) and,
per judge, ``distribution`` (probability per scale point, mean over scored samples). Both are missing
in ``argmax`` scoring.
"""

from __future__ import annotations

import io
import json
import math
from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd

from council.store.store import Store

__all__ = ["candidates", "council_scores", "encode_results", "format_distribution", "judge_scores", "results_file",
           "results_table"]

RESULT_COLUMNS = ["item_id", "candidate_id", "responder", "rater", "attribute", "score", "calibrated_score", "status",
                  "abstention", "n_scored", "spread", "confidence", "distribution"]
"""Columns of :func:`results_table` (and of the CSV / Parquet / JSON results files), in order."""


def judge_scores(store: Store, batch_id: str) -> pd.DataFrame:
    """One row per (item, candidate, judge, attribute or composite): score or abstention reason.

    ``confidence`` and ``distribution`` (a dict, scale point as text → probability) are the judge's mean
    over its scored samples; a composite's confidence is its members' mean, when every member is scored.
    """
    df = store.query("""
        WITH attrs AS (
            SELECT j.item_id, j.candidate_id, j.judge_id, j.attribute_id AS attribute, j.score,
                   j.calibrated_score, j.abstention, pa.position, j.confidence
            FROM judge_scores j JOIN batches b USING (batch_id)
            JOIN protocol_attributes pa ON pa.protocol_hash = b.protocol_hash AND pa.attribute_id = j.attribute_id
            WHERE j.batch_id = ?
        ), composites AS (
            SELECT a.item_id, a.candidate_id, a.judge_id, pc.composite AS attribute,
                   CASE WHEN count(a.score) = count(*) THEN avg(a.score) END AS score,
                   CASE WHEN count(a.calibrated_score) = count(*) THEN avg(a.calibrated_score) END,
                   NULL AS abstention, 1000 AS position,
                   CASE WHEN count(a.score) = count(*) THEN avg(a.confidence) END
            FROM attrs a JOIN batches b ON b.batch_id = ?
            JOIN protocol_composites pc ON pc.protocol_hash = b.protocol_hash AND pc.attribute_id = a.attribute
            GROUP BY ALL
        )
        SELECT * FROM attrs UNION ALL SELECT * FROM composites
        ORDER BY item_id, candidate_id, judge_id, position, attribute""", [batch_id, batch_id])
    dists = _mean_distributions(store, batch_id)
    df["distribution"] = [dists.get(k) for k in zip(df.item_id, df.candidate_id, df.judge_id, df.attribute,
                                                    strict=True)]
    return df


def _mean_distributions(store: Store, batch_id: str) -> dict[tuple[str, str, str, str], dict[str, float]]:
    """Per (item, candidate, judge, attribute): the mean distribution over the scored samples that have one."""
    rows = store.query("""
        SELECT item_id, candidate_id, judge_id, attribute_id, distribution FROM judgments
        WHERE batch_id = ? AND score IS NOT NULL AND distribution IS NOT NULL
        ORDER BY item_id, candidate_id, judge_id, attribute_id, sample""", [batch_id])
    sums: dict[tuple[str, str, str, str], dict[str, float]] = defaultdict(dict)
    counts: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for item, cand, judge, attr, text in rows.itertuples(index=False):
        key = (item, cand, judge, attr)
        counts[key] += 1
        for point, p in json.loads(text).items():
            sums[key][point] = sums[key].get(point, 0.0) + float(p)
    return {k: {pt: v / counts[k] for pt, v in sorted(d.items(), key=lambda kv: _point_order(kv[0]))}
            for k, d in sums.items()}


def _point_order(point: str) -> tuple[float, str]:
    try:
        return float(point), point
    except ValueError:
        return math.inf, point


def format_distribution(dist: dict[str, float] | None, digits: int = 2) -> str:
    """A distribution as compact text, scale points in order: ``1:.05 2:.20 3:.50 4:.20 5:.05`` ('' for None)."""
    if not dist:
        return ""

    def prob(p: float) -> str:
        text = f"{p:.{digits}f}"
        return text[1:] if text.startswith("0.") else text

    return " ".join(f"{k}:{prob(float(v))}" for k, v in sorted(dist.items(), key=lambda kv: _point_order(kv[0])))


def council_scores(store: Store, batch_id: str) -> pd.DataFrame:
    """One row per (item, candidate, attribute or composite): the council score, its status and spread.

    ``confidence`` is the mean confidence of the judges that scored (a composite's: its members' mean).
    """
    return store.query("""
        SELECT c.item_id, c.candidate_id, c.attribute_id AS attribute, c.score, c.calibrated_mean AS calibrated_score,
               c.status, c.n_judges, c.n_scored, c.spread, c.sd, c.mean, c.median, c.trimmed_mean, c.majority,
               pa.position, c.confidence
        FROM council_scores c JOIN batches b USING (batch_id)
        JOIN protocol_attributes pa ON pa.protocol_hash = b.protocol_hash AND pa.attribute_id = c.attribute_id
        WHERE c.batch_id = ?
        UNION ALL
        SELECT item_id, candidate_id, composite, score, calibrated_score,
               CASE WHEN score IS NULL THEN 'incomplete' ELSE 'ok' END, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, 1000, confidence
        FROM council_composites WHERE batch_id = ?
        ORDER BY item_id, candidate_id, position, attribute""", [batch_id, batch_id])


def candidates(store: Store, batch_id: str) -> pd.DataFrame:
    """Candidates with their responder, in batch order (for result listings)."""
    return store.query("""
        SELECT c.item_id, c.candidate_id, c.responder, c.text, i.position AS item_position, c.position
        FROM candidates c JOIN items i USING (batch_id, item_id)
        WHERE c.batch_id = ? ORDER BY i.position, c.position""", [batch_id])


def results_table(store: Store, batch_id: str) -> pd.DataFrame:
    """One tidy table of a batch's results: every judge's and the council's score per candidate × attribute.

    Columns :data:`RESULT_COLUMNS`. ``distribution`` is compact JSON text (``{"1": 0.05, ...}``) so that the
    CSV, Parquet and JSON files hold the same value; it is empty for the council and in argmax scoring.
    """
    judges = judge_scores(store, batch_id).rename(columns={"judge_id": "rater"})
    judges["status"] = ["abstained" if isinstance(a, str) else "ok" if pd.notna(s) else "incomplete"
                        for a, s in zip(judges.abstention, judges.score, strict=True)]
    judges["distribution"] = [None if d is None else json.dumps(d) for d in judges["distribution"]]
    council = council_scores(store, batch_id).assign(rater="council", abstention=None, distribution=None)
    columns = ["item_id", "candidate_id", "rater", "attribute", "score", "calibrated_score", "status", "abstention"]
    extra = ["confidence", "distribution"]
    table = pd.concat([judges[columns + extra], council[columns + ["n_scored", "spread"] + extra]],
                      ignore_index=True)
    meta = candidates(store, batch_id)[["item_id", "candidate_id", "responder"]]
    return meta.merge(table, on=["item_id", "candidate_id"], how="right")[RESULT_COLUMNS]


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _json_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts, floats at full precision (pandas' to_json keeps at most 15 digits)."""
    return [{k: _plain(v) for k, v in row.items()} for row in df.astype(object).to_dict(orient="records")]


def results_file(store: Store, batch_id: str, fmt: str = "json", traces: bool = False) -> tuple[str, bytes]:
    """A batch's results as (media type, bytes): CSV, Parquet, or JSON (optionally with the agent traces).

    The traces are the stored agent outputs; a scoring output holds every attribute's ``score``,
    ``confidence`` and ``distribution`` per sample, as the judge produced them.
    """
    return encode_results(store, batch_id, results_table(store, batch_id), fmt, traces)


def encode_results(store: Store, batch_id: str, table: pd.DataFrame, fmt: str, traces: bool,
                   extra: dict[str, Any] | None = None) -> tuple[str, bytes]:
    """Rows of :func:`results_table` as (media type, bytes).

    JSON carries the ``extra`` keys and, with ``traces``, the batch's agent outputs.
    """
    if fmt == "csv":
        return "text/csv", table.to_csv(index=False).encode()
    if fmt == "parquet":
        buffer = io.BytesIO()
        table.to_parquet(buffer, index=False)
        return "application/vnd.apache.parquet", buffer.getvalue()
    body: dict[str, Any] = {"batch_id": batch_id, "scores": _json_records(table), **(extra or {})}
    if traces:
        outputs = store.query("SELECT item_id, judge_id, agent, candidate_id, sample, output, abstention, "
                              "detail, repaired FROM agent_outputs WHERE batch_id = ? ORDER BY ALL", [batch_id])
        outputs["output"] = outputs.output.map(lambda o: json.loads(o) if isinstance(o, str) else None)
        body["traces"] = _json_records(outputs)
    return "application/json", json.dumps(body).encode()
