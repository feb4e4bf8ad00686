"""Store rows and reads for pairwise verdicts (table of migration 007), called by :class:`~council.store.Store`.

Verdicts are written with ``INSERT OR REPLACE`` on (batch, item, judge, attribute, first, second, order,
sample), like judgments, so a re-run or a resumed batch stores each verdict once; the LLM calls behind them are
cached in the call ledger like every other call.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from council.store.writer import Rows

if TYPE_CHECKING:
    from council.pairwise.types import PairVerdict

__all__ = ["ABSOLUTE_SCORES_SQL", "BATCH_MODE_SQL", "LATEST_MATCHING_ABSOLUTE_SQL", "PAIR_VERDICT_COLUMNS",
           "PAIR_VERDICTS_SQL", "VERDICT_COUNTS_SQL", "pair_verdict_rows"]

PAIR_VERDICT_COLUMNS: tuple[str, ...] = (
    "batch_id", "item_id", "judge_id", "attribute", "first_candidate", "second_candidate", "pair_order", "sample",
    "first_responder", "second_responder", "verdict", "p_first", "p_second", "p_tie", "preference", "rationale",
    "abstention", "detail", "calls", "protocol_hash", "run_id", "created_at",
)
_KEY_LEN = 8

PAIR_VERDICTS_SQL = """
SELECT v.item_id, v.judge_id, v.attribute, v.first_candidate, v.second_candidate, v.first_responder,
       v.second_responder, v.pair_order AS "order", v.sample, v.verdict, v.p_first, v.p_second, v.p_tie,
       v.preference, v.rationale, v.abstention, v.detail, v.calls, v.protocol_hash, v.run_id,
       length(c1.text) AS first_length, length(c2.text) AS second_length
FROM pairwise_verdicts v
LEFT JOIN candidates c1 ON c1.batch_id = v.batch_id AND c1.item_id = v.item_id AND c1.candidate_id = v.first_candidate
LEFT JOIN candidates c2 ON c2.batch_id = v.batch_id AND c2.item_id = v.item_id AND c2.candidate_id = v.second_candidate
WHERE v.batch_id = ?
ORDER BY v.item_id, v.judge_id, v.attribute, v.first_candidate, v.second_candidate, v.sample
"""
"""A batch's verdicts as the tidy frame of :mod:`council.pairwise.frames`, plus the candidates' lengths in
characters (NULL when the candidate is not stored)."""


BATCH_MODE_SQL = "coalesce(json_extract_string(options, '$.mode'), 'absolute')"
"""SQL expression of a ``batches`` row's mode: ``pairwise`` or ``absolute`` (absolute batches store no mode)."""

LATEST_MATCHING_ABSOLUTE_SQL = f"""
WITH mine AS (SELECT list(item_id ORDER BY item_id) AS ids FROM items WHERE batch_id = $1)
SELECT b.batch_id FROM batches b
WHERE b.owner = $2 AND b.batch_id <> $1 AND {BATCH_MODE_SQL} = 'absolute'
  AND (SELECT list(item_id ORDER BY item_id) FROM items i WHERE i.batch_id = b.batch_id) = (SELECT ids FROM mine)
ORDER BY b.created_at DESC, b.batch_id LIMIT 1
"""
"""The newest absolute batch of the owner whose item ids are exactly the given batch's (parameters ``$1`` = batch,
``$2`` = owner)."""

ABSOLUTE_SCORES_SQL = """
SELECT j.item_id, c.responder, j.attribute_id AS attribute, j.score
FROM judgments j JOIN candidates c USING (batch_id, item_id, candidate_id)
WHERE j.batch_id = ? AND j.score IS NOT NULL
"""
"""An absolute batch's scored judgments (every judge, attribute and sample) with the candidates' responders."""

VERDICT_COUNTS_SQL = """
SELECT count(*) AS verdicts, count(abstention) AS abstentions FROM pairwise_verdicts WHERE batch_id = ?
"""
"""Verdict rows of a batch and how many are abstentions."""


def pair_verdict_rows(batch_id: str, run_id: str | None, verdicts: Sequence[PairVerdict],
                      protocol_hash: str) -> Rows:
    """Rows of ``pairwise_verdicts`` for the store's group writer (replace on the natural key)."""
    now = datetime.now(UTC)
    rows = [[batch_id, v.item_id, v.judge_id, v.attribute, v.first_candidate, v.second_candidate, v.order, v.sample,
             v.first_responder, v.second_responder, v.verdict, v.p_first, v.p_second, v.p_tie, v.preference,
             v.rationale, v.abstention, v.detail, json.dumps(v.calls), protocol_hash, run_id, now]
            for v in verdicts]
    return Rows("pairwise_verdicts", PAIR_VERDICT_COLUMNS, rows, "REPLACE", _KEY_LEN)
