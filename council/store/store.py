"""The DuckDB store: batches, every LLM call, agent outputs and judgments, keyed so writing twice is harmless.

DuckDB has one writer. A :class:`Store` owns one connection; in the service one actor owns the store and
everything else goes through it. The store is also the judges' :class:`~judges.client.records.CallLedger`
(persistent cache + call log), so a re-run of a batch is served from here without a single LLM call.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from council.store.migrations import migrate
from council.store.pairwise_store import PAIR_VERDICTS_SQL, VERDICT_COUNTS_SQL, pair_verdict_rows
from council.store.writer import GroupWriter, Rows
from council.types import Batch, BatchItem, CouncilSpec
from judges.client.records import CachedReply, CallRecord, CallTags
from judges.pipeline import ContextJudgment
from judges.types import Candidate, Turn
from protocols import Protocol

if TYPE_CHECKING:  # the pairwise package pulls in scipy; the store only passes its records through
    from council.pairwise.types import PairVerdict

__all__ = ["Store"]


def _now() -> datetime:
    return datetime.now(UTC)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _call_rows(records: list[CallRecord]) -> Rows:
    rows = [[
        r.call_id, r.tags.run_id, r.tags.batch_id, r.tags.item_id, r.tags.candidate_id, r.tags.judge_id,
        r.tags.agent, r.model, r.tags.prompt_version, r.cache_key, _json(r.request), r.response_text,
        r.prompt_tokens, r.completion_tokens, r.cost_usd, r.latency_ms, r.attempts, r.cache_hit,
        r.cached_from, r.error, r.error_kind, r.created_at,
        _json(r.logprobs) if r.logprobs is not None else None] for r in records]
    return Rows("llm_calls", _CALL_COLUMNS, rows, "IGNORE", 1)


_CALL_COLUMNS = ("call_id", "run_id", "batch_id", "item_id", "candidate_id", "judge_id", "agent", "model",
                 "prompt_version", "cache_key", "request", "response_text", "prompt_tokens", "completion_tokens",
                 "cost_usd", "latency_ms", "attempts", "cache_hit", "cached_from", "error", "error_kind", "created_at",
                 "logprobs")
_OUTPUT_COLUMNS = ("batch_id", "item_id", "judge_id", "agent", "candidate_id", "sample", "output", "abstention",
                   "detail", "calls", "repaired", "run_id", "created_at")
_JUDGMENT_COLUMNS = ("batch_id", "item_id", "candidate_id", "judge_id", "attribute_id", "sample", "score",
                     "calibrated_score", "rationale", "quote", "abstention", "detail", "protocol_hash", "run_id",
                     "created_at", "confidence", "distribution")
_UNIT_COLUMNS = ("batch_id", "item_id", "judge_id", "run_id", "node_id", "finished_at")


class Store:
    """One DuckDB file (or ``:memory:``) holding everything the council produces."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.db = duckdb.connect(self.path)
        self._lock = threading.RLock()
        migrate(self.db)
        self._writer = GroupWriter(self.db, after_commit=self._committed)
        # this store is the only writer of llm_calls, so the set of cacheable keys can live in memory
        self._cached_keys: set[str] = {row[0] for row in self.db.execute(
            "SELECT DISTINCT cache_key FROM llm_calls WHERE response_text IS NOT NULL AND NOT cache_hit").fetchall()}

    def close(self) -> None:
        """Close the connections (checkpointing the file)."""
        self._writer.close()
        with self._lock:
            self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run statements atomically under the store's lock."""
        with self._lock:
            self.db.execute("BEGIN TRANSACTION")
            try:
                yield self.db
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run a read query and return a DataFrame."""
        with self._lock:
            return self.db.execute(sql, params or []).df()

    # ------------------------------------------------------------ protocols and batches

    def save_protocol(self, protocol: Protocol) -> str:
        """Store a protocol under its content hash (idempotent) and return the hash."""
        h = protocol.content_hash
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO protocols VALUES (?, ?, ?, ?, ?, ?, ?)",
                       [h, protocol.id, protocol.version, _json(protocol.model_dump(mode="json")),
                        protocol.scale.min, protocol.scale.max, _now()])
            db.executemany("INSERT OR IGNORE INTO protocol_attributes VALUES (?, ?, ?, ?, ?)",
                           [[h, a.id, a.name, a.dimension, i] for i, a in enumerate(protocol.attributes)])
            rows = [[h, name, a] for name, members in protocol.composites.items() for a in members]
            if rows:
                db.executemany("INSERT OR IGNORE INTO protocol_composites VALUES (?, ?, ?)", rows)
        return h

    def save_batch(self, batch_id: str, batch: Batch, protocol: Protocol, council: CouncilSpec, *,
                   owner: str = "local", options: dict[str, Any] | None = None) -> bool:
        """Store a batch with its items and candidates; return False when it was already stored."""
        self.save_protocol(protocol)
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM batches WHERE batch_id = ?", [batch_id]).fetchone():
                return False
            db.execute(
                "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [batch_id, owner, batch.name, protocol.id, protocol.content_hash,
                 _json(council.model_dump(mode="json")), council.id, council.aggregation, council.effective_quorum,
                 council.trim, council.calibration_id, "queued", len(batch.items), batch.n_candidates,
                 _json(options or {}), None, _now(), _now()])
            db.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?)", [
                [batch_id, item.id, i, _json([t.model_dump() for t in item.as_context().turns]), _json(item.meta)]
                for i, item in enumerate(batch.items)])
            db.executemany("INSERT INTO candidates VALUES (?, ?, ?, ?, ?, ?)", [
                [batch_id, item.id, c.id, j, c.text, c.responder]
                for item in batch.items for j, c in enumerate(item.candidates)])
        return True

    def set_batch_status(self, batch_id: str, status: str, error: str | None = None) -> None:
        """Record a batch's status (queued, running, completed, cancelled, failed ...)."""
        with self._lock:
            self.db.execute("UPDATE batches SET status = ?, error = ?, updated_at = ? WHERE batch_id = ?",
                            [status, error, _now(), batch_id])

    def start_run(self, batch_id: str) -> str:
        """Open a run of a batch and return its id."""
        run_id = f"r_{uuid.uuid4().hex[:16]}"
        with self._lock:
            self.db.execute("INSERT INTO runs VALUES (?, ?, ?, NULL, 'running', NULL)", [run_id, batch_id, _now()])
        self.set_batch_status(batch_id, "running")
        return run_id

    def finish_run(self, run_id: str, status: str, error: str | None = None) -> None:
        """Close a run with its final status."""
        with self._lock:
            self.db.execute("UPDATE runs SET finished_at = ?, status = ?, error = ? WHERE run_id = ?",
                            [_now(), status, error, run_id])

    # ------------------------------------------------------------ the call ledger

    async def cached_reply(self, cache_key: str, tags: CallTags | None = None) -> CachedReply | None:
        """The earliest successful reply stored under this key (a miss costs no query: keys are indexed in memory)."""
        if cache_key not in self._cached_keys:
            return None
        with self._lock:
            row = self.db.execute(
                "SELECT call_id, response_text, prompt_tokens, completion_tokens, logprobs FROM llm_calls "
                "WHERE cache_key = ? AND response_text IS NOT NULL AND NOT cache_hit ORDER BY created_at LIMIT 1",
                [cache_key]).fetchone()
        if row is None:
            return None
        return CachedReply(call_id=row[0], text=row[1], prompt_tokens=row[2], completion_tokens=row[3],
                           logprobs=json.loads(row[4]) if row[4] is not None else None)

    async def record_call(self, *records: CallRecord) -> None:
        """Store calls durably; returns once they are committed (group commit, see :mod:`.writer`)."""
        await self._writer.write([_call_rows(list(records))])

    def record_calls(self, records: list[CallRecord]) -> None:
        """Store call records (synchronously)."""
        self._writer.write_now([_call_rows(records)])

    def _committed(self, parts: list[Rows]) -> None:
        """After a commit: successful calls become cache entries (read by misses without a query)."""
        for part in parts:
            if part.table == "llm_calls":
                hit, text, key = (_CALL_COLUMNS.index(c) for c in ("cache_hit", "response_text", "cache_key"))
                self._cached_keys.update(row[key] for row in part.rows if row[text] is not None and not row[hit])

    # ------------------------------------------------------------ results

    def _judgment_rows(self, batch_id: str, run_id: str, judgment: ContextJudgment, protocol: Protocol) -> list[Rows]:
        now, item, judge = _now(), judgment.context_id, judgment.judge_id
        outputs = [[batch_id, item, judge, name, "", 0, outcome] for name, outcome in
                   (("tom", judgment.tom), ("domain", judgment.domain)) if outcome is not None]
        outputs += [[batch_id, item, judge, "scoring", c.candidate_id, c.sample, c.outcome]
                    for c in judgment.candidates]
        if judgment.risk_screen is not None:
            outputs.append([batch_id, item, judge, "risk_screen", "", 0, judgment.risk_screen])
        outputs += [[batch_id, item, judge, "advice_screen", c.candidate_id, 0, c.screen]
                    for c in judgment.candidates if c.screen is not None]
        output_rows = [[*key, _json(o.value.model_dump(mode="json")) if o.value is not None else None,
                        o.abstention, o.detail, _json(o.calls), o.repaired, run_id, now] for *key, o in outputs]
        judgment_rows = [
            [batch_id, item, c.candidate_id, judge, s.attribute, c.sample, s.score, None, s.rationale, s.quote,
             s.abstention, s.detail, protocol.content_hash, run_id, now, s.confidence,
             None if s.distribution is None else _json(s.distribution)]
            for c in judgment.candidates for s in c.attribute_scores(protocol)]
        return [Rows("agent_outputs", _OUTPUT_COLUMNS, output_rows, "REPLACE", 6),
                Rows("judgments", _JUDGMENT_COLUMNS, judgment_rows, "REPLACE", 6)]

    def save_context_judgment(self, batch_id: str, run_id: str, judgment: ContextJudgment,
                              protocol: Protocol) -> None:
        """Store one judge's agent outputs and attribute judgments for one context (idempotent)."""
        self._writer.write_now(self._judgment_rows(batch_id, run_id, judgment, protocol))

    async def write_context_judgment(self, batch_id: str, run_id: str, judgment: ContextJudgment,
                                     protocol: Protocol) -> None:
        """:meth:`save_context_judgment` without blocking the event loop (group commit)."""
        await self._writer.write(self._judgment_rows(batch_id, run_id, judgment, protocol))

    def save_pair_verdicts(self, batch_id: str, run_id: str | None, verdicts: list[PairVerdict],
                           protocol_hash: str) -> None:
        """Store pairwise verdicts (idempotent: one row per batch, item, judge, attribute, pair, order, sample)."""
        self._writer.write_now([pair_verdict_rows(batch_id, run_id, verdicts, protocol_hash)])

    async def write_pair_verdicts(self, batch_id: str, run_id: str | None, verdicts: list[PairVerdict],
                                  protocol_hash: str) -> None:
        """:meth:`save_pair_verdicts` without blocking the event loop (group commit)."""
        await self._writer.write([pair_verdict_rows(batch_id, run_id, verdicts, protocol_hash)])

    def pair_verdicts(self, batch_id: str) -> pd.DataFrame:
        """A batch's pairwise verdicts as a tidy frame (see :data:`~council.store.pairwise_store.PAIR_VERDICTS_SQL`)."""
        return self.query(PAIR_VERDICTS_SQL, [batch_id])

    def run_counts(self, run_id: str) -> dict[str, Any]:
        """Calls made, served from cache and failed in a run, with tokens and cost."""
        with self._lock:
            row = self.db.execute("""
                SELECT count(*) FILTER (WHERE NOT cache_hit), count(*) FILTER (WHERE cache_hit),
                       count(*) FILTER (WHERE error IS NOT NULL), coalesce(sum(prompt_tokens), 0),
                       coalesce(sum(completion_tokens), 0), coalesce(sum(cost_usd), 0)
                FROM llm_calls WHERE run_id = ?""", [run_id]).fetchone()
        keys = ("calls_made", "calls_cached", "calls_failed", "prompt_tokens", "completion_tokens", "cost_usd")
        return dict(zip(keys, row, strict=True))

    async def record_unit(self, batch_id: str, item_id: str, judge_id: str, run_id: str, node_id: str) -> None:
        """Remember which (Ray) node ran one (item, judge) unit of a run."""
        await self._writer.write([Rows("unit_runs", _UNIT_COLUMNS, [[batch_id, item_id, judge_id, run_id, node_id,
                                                                     _now()]], "REPLACE", 4)])

    def judgment_counts(self, batch_id: str) -> dict[str, int]:
        """Attribute judgments stored for a batch, and how many are abstentions."""
        with self._lock:
            row = self.db.execute("SELECT count(*), count(*) - count(score) FROM judgments WHERE batch_id = ?",
                                  [batch_id]).fetchone()
        return {"judgments": int(row[0]), "abstentions": int(row[1])}

    def verdict_counts(self, batch_id: str) -> dict[str, int]:
        """Pairwise verdict rows stored for a batch, and how many are abstentions (same keys as judgment_counts)."""
        with self._lock:
            row = self.db.execute(VERDICT_COUNTS_SQL, [batch_id]).fetchone()
        return {"judgments": int(row[0]), "abstentions": int(row[1])}

    # ------------------------------------------------------------ reading batches back

    def load_batch(self, batch_id: str) -> tuple[Batch, Protocol, CouncilSpec]:
        """Rebuild a stored batch with its protocol and council (to resume or re-run it)."""
        with self._lock:
            row = self.db.execute("SELECT b.name, b.council, p.document FROM batches b JOIN protocols p "
                                  "USING (protocol_hash) WHERE b.batch_id = ?", [batch_id]).fetchone()
            if row is None:
                raise KeyError(batch_id)
            items = self.db.execute("SELECT item_id, context, meta FROM items WHERE batch_id = ? ORDER BY position",
                                    [batch_id]).fetchall()
            cands = self.db.execute("SELECT item_id, candidate_id, text, responder FROM candidates "
                                    "WHERE batch_id = ? ORDER BY position", [batch_id]).fetchall()
        by_item: dict[str, list[Candidate]] = {}
        for item_id, candidate_id, text, responder in cands:
            by_item.setdefault(item_id, []).append(Candidate(id=candidate_id, text=text, responder=responder))
        batch = Batch(name=row[0], items=[
            BatchItem(id=item_id, context=[Turn(**t) for t in json.loads(context)], candidates=by_item[item_id],
                      meta=json.loads(meta) if meta else {})
            for item_id, context, meta in items])
        return batch, Protocol.model_validate(json.loads(row[2])), CouncilSpec.model_validate(json.loads(row[1]))

    def batch_progress(self, batch_id: str) -> dict[str, Any]:
        """Progress of a batch: (item × judge) units and contexts done; calls made / cached / failed; tokens.

        A unit is done once it stored agent outputs (absolute, or pairwise with ToM/domain) or pairwise verdicts.
        """
        with self._lock:
            row = self.db.execute("""
                WITH done AS (SELECT item_id, judge_id FROM agent_outputs WHERE batch_id = $1
                              UNION SELECT item_id, judge_id FROM pairwise_verdicts WHERE batch_id = $1),
                     units AS (SELECT item_id, count(DISTINCT judge_id) AS judges FROM done GROUP BY item_id),
                     council AS (SELECT json_array_length(council -> '$.judges') AS n FROM batches
                                 WHERE batch_id = $1)
                SELECT (SELECT coalesce(sum(judges), 0) FROM units),
                       (SELECT count(*) FROM units, council WHERE judges = council.n),
                       count(*) FILTER (WHERE NOT cache_hit), count(*) FILTER (WHERE cache_hit),
                       count(*) FILTER (WHERE error IS NOT NULL), coalesce(sum(prompt_tokens), 0),
                       coalesce(sum(completion_tokens), 0), coalesce(sum(cost_usd), 0)
                FROM llm_calls WHERE batch_id = $1""", [batch_id]).fetchone()
        keys = ("units_done", "contexts_done", "calls_made", "calls_cached", "calls_failed", "prompt_tokens",
                "completion_tokens", "cost_usd")
        return dict(zip(keys, row, strict=True))
