"""Reading a batch's results back out of the store as tidy frames (CLI tables, API downloads)."""

from __future__ import annotations

import pandas as pd

from council.store.store import Store

__all__ = ["candidates", "council_scores", "judge_scores"]


def judge_scores(store: Store, batch_id: str) -> pd.DataFrame:
    """One row per (item, candidate, judge, attribute or composite): score or abstention reason."""
    return store.query("""
        WITH attrs AS (
            SELECT j.item_id, j.candidate_id, j.judge_id, j.attribute_id AS attribute, j.score,
                   j.calibrated_score, j.abstention, pa.position
            FROM judge_scores j JOIN batches b USING (batch_id)
            JOIN protocol_attributes pa ON pa.protocol_hash = b.protocol_hash AND pa.attribute_id = j.attribute_id
            WHERE j.batch_id = ?
        ), composites AS (
            SELECT a.item_id, a.candidate_id, a.judge_id, pc.composite AS attribute,
                   CASE WHEN count(a.score) = count(*) THEN avg(a.score) END AS score,
                   CASE WHEN count(a.calibrated_score) = count(*) THEN avg(a.calibrated_score) END,
                   NULL AS abstention, 1000 AS position
            FROM attrs a JOIN batches b ON b.batch_id = ?
            JOIN protocol_composites pc ON pc.protocol_hash = b.protocol_hash AND pc.attribute_id = a.attribute
            GROUP BY ALL
        )
        SELECT * FROM attrs UNION ALL SELECT * FROM composites
        ORDER BY item_id, candidate_id, judge_id, position, attribute""", [batch_id, batch_id])


def council_scores(store: Store, batch_id: str) -> pd.DataFrame:
    """One row per (item, candidate, attribute or composite): the council score, its status and spread."""
    return store.query("""
        SELECT c.item_id, c.candidate_id, c.attribute_id AS attribute, c.score, c.calibrated_mean AS calibrated_score,
               c.status, c.n_judges, c.n_scored, c.spread, c.sd, c.mean, c.median, c.trimmed_mean, c.majority,
               pa.position
        FROM council_scores c JOIN batches b USING (batch_id)
        JOIN protocol_attributes pa ON pa.protocol_hash = b.protocol_hash AND pa.attribute_id = c.attribute_id
        WHERE c.batch_id = ?
        UNION ALL
        SELECT item_id, candidate_id, composite, score, calibrated_score,
               CASE WHEN score IS NULL THEN 'incomplete' ELSE 'ok' END, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, 1000
        FROM council_composites WHERE batch_id = ?
        ORDER BY item_id, candidate_id, position, attribute""", [batch_id, batch_id])


def candidates(store: Store, batch_id: str) -> pd.DataFrame:
    """Candidates with their responder, in batch order (for result listings)."""
    return store.query("""
        SELECT c.item_id, c.candidate_id, c.responder, c.text, i.position AS item_position, c.position
        FROM candidates c JOIN items i USING (batch_id, item_id)
        WHERE c.batch_id = ? ORDER BY i.position, c.position""", [batch_id])
