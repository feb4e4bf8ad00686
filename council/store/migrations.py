"""Ordered, named schema migrations, recorded in ``_migrations`` so each runs exactly once per file."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import duckdb

__all__ = ["MIGRATIONS", "migrate"]

Migration = tuple[str, Callable[[duckdb.DuckDBPyConnection], None]]


def _m001_core(db: duckdb.DuckDBPyConnection) -> None:
    db.execute("""
    CREATE TABLE protocols (
        protocol_hash VARCHAR PRIMARY KEY, protocol_id VARCHAR NOT NULL, version VARCHAR NOT NULL,
        document JSON NOT NULL, scale_min INTEGER NOT NULL, scale_max INTEGER NOT NULL,
        created_at TIMESTAMPTZ NOT NULL);
    CREATE TABLE protocol_attributes (
        protocol_hash VARCHAR NOT NULL, attribute_id VARCHAR NOT NULL, name VARCHAR NOT NULL,
        dimension VARCHAR NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (protocol_hash, attribute_id));
    CREATE TABLE protocol_composites (
        protocol_hash VARCHAR NOT NULL, composite VARCHAR NOT NULL, attribute_id VARCHAR NOT NULL,
        PRIMARY KEY (protocol_hash, composite, attribute_id));
    CREATE TABLE batches (
        batch_id VARCHAR PRIMARY KEY, owner VARCHAR NOT NULL, name VARCHAR NOT NULL,
        protocol_id VARCHAR NOT NULL, protocol_hash VARCHAR NOT NULL, council JSON NOT NULL,
        council_id VARCHAR NOT NULL, aggregation VARCHAR NOT NULL, quorum INTEGER NOT NULL, trim DOUBLE NOT NULL,
        calibration_id VARCHAR, status VARCHAR NOT NULL, n_items INTEGER NOT NULL, n_candidates INTEGER NOT NULL,
        options JSON, error VARCHAR, created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL);
    CREATE TABLE items (
        batch_id VARCHAR NOT NULL, item_id VARCHAR NOT NULL, position INTEGER NOT NULL, context JSON NOT NULL,
        meta JSON, PRIMARY KEY (batch_id, item_id));
    CREATE TABLE candidates (
        batch_id VARCHAR NOT NULL, item_id VARCHAR NOT NULL, candidate_id VARCHAR NOT NULL,
        position INTEGER NOT NULL, text VARCHAR NOT NULL, responder VARCHAR NOT NULL,
        PRIMARY KEY (batch_id, item_id, candidate_id));
    CREATE TABLE runs (
        run_id VARCHAR PRIMARY KEY, batch_id VARCHAR NOT NULL, started_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ, status VARCHAR NOT NULL, error VARCHAR);
    CREATE TABLE llm_calls (
        call_id VARCHAR PRIMARY KEY, run_id VARCHAR, batch_id VARCHAR, item_id VARCHAR, candidate_id VARCHAR,
        judge_id VARCHAR NOT NULL, agent VARCHAR NOT NULL, model VARCHAR NOT NULL, prompt_version VARCHAR,
        cache_key VARCHAR NOT NULL, request JSON NOT NULL, response_text VARCHAR,
        prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, cost_usd DOUBLE NOT NULL,
        latency_ms DOUBLE NOT NULL, attempts INTEGER NOT NULL, cache_hit BOOLEAN NOT NULL, cached_from VARCHAR,
        error VARCHAR, error_kind VARCHAR, created_at TIMESTAMPTZ NOT NULL);
    CREATE INDEX llm_calls_cache_key ON llm_calls (cache_key);
    CREATE TABLE agent_outputs (
        batch_id VARCHAR NOT NULL, item_id VARCHAR NOT NULL, judge_id VARCHAR NOT NULL, agent VARCHAR NOT NULL,
        candidate_id VARCHAR NOT NULL, sample INTEGER NOT NULL, output JSON, abstention VARCHAR, detail VARCHAR,
        calls JSON NOT NULL, repaired BOOLEAN NOT NULL, run_id VARCHAR, created_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (batch_id, item_id, judge_id, agent, candidate_id, sample));
    CREATE TABLE judgments (
        batch_id VARCHAR NOT NULL, item_id VARCHAR NOT NULL, candidate_id VARCHAR NOT NULL,
        judge_id VARCHAR NOT NULL, attribute_id VARCHAR NOT NULL, sample INTEGER NOT NULL, score DOUBLE,
        calibrated_score DOUBLE, rationale VARCHAR, quote VARCHAR, abstention VARCHAR, detail VARCHAR,
        protocol_hash VARCHAR NOT NULL, run_id VARCHAR, created_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (batch_id, item_id, candidate_id, judge_id, attribute_id, sample));
    """)


def _m002_score_views(db: duckdb.DuckDBPyConnection) -> None:
    db.execute("""
    -- One judge's score per candidate and attribute: the mean over its samples.
    CREATE VIEW judge_scores AS
    SELECT batch_id, item_id, candidate_id, judge_id, attribute_id,
           avg(score) AS score, avg(calibrated_score) AS calibrated_score,
           count(score) AS samples_scored, count(*) - count(score) AS samples_abstained,
           stddev_samp(score) AS sample_sd, any_value(abstention) FILTER (WHERE score IS NULL) AS abstention
    FROM judgments GROUP BY ALL;

    -- The council's score per candidate and attribute under the batch's aggregation and quorum.
    CREATE VIEW council_scores AS
    WITH scored AS (
        SELECT j.*, b.aggregation, b.quorum, b.trim,
               count(j.score) OVER w AS n_scored,
               row_number() OVER (PARTITION BY j.batch_id, j.item_id, j.candidate_id, j.attribute_id
                                  ORDER BY j.score) AS rank_in_group
        FROM judge_scores j JOIN batches b USING (batch_id)
        WINDOW w AS (PARTITION BY j.batch_id, j.item_id, j.candidate_id, j.attribute_id)
    ), votes AS (
        SELECT batch_id, item_id, candidate_id, attribute_id, score AS vote, count(*) AS n_votes
        FROM judge_scores WHERE score IS NOT NULL GROUP BY ALL
    ), grouped AS (
        SELECT batch_id, item_id, candidate_id, attribute_id,
               any_value(aggregation) AS aggregation, any_value(quorum) AS quorum,
               count(*) AS n_judges, count(score) AS n_scored,
               avg(score) AS mean, median(score) AS median,
               avg(score) FILTER (WHERE rank_in_group > floor(n_scored * trim)
                                    AND rank_in_group <= n_scored - floor(n_scored * trim)) AS trimmed_mean,
               min(score) AS min, max(score) AS max, max(score) - min(score) AS spread,
               stddev_samp(score) AS sd, avg(calibrated_score) AS calibrated_mean
        FROM scored GROUP BY ALL
    ), majority AS (
        SELECT v.batch_id, v.item_id, v.candidate_id, v.attribute_id, v.vote AS majority
        FROM votes v JOIN grouped g USING (batch_id, item_id, candidate_id, attribute_id)
        WHERE v.n_votes * 2 > g.n_scored
    )
    SELECT g.*, m.majority,
           CASE WHEN g.n_scored < g.quorum THEN NULL
                WHEN g.aggregation = 'mean' THEN g.mean
                WHEN g.aggregation = 'median' THEN g.median
                WHEN g.aggregation = 'trimmed_mean' THEN g.trimmed_mean
                WHEN g.aggregation = 'majority' THEN m.majority END AS score,
           CASE WHEN g.n_scored < g.quorum THEN 'no_consensus'
                WHEN g.aggregation = 'majority' AND m.majority IS NULL THEN 'no_majority'
                ELSE 'ok' END AS status
    FROM grouped g LEFT JOIN majority m USING (batch_id, item_id, candidate_id, attribute_id);

    -- Composite scores (mean of member attributes; NULL unless every member has a council score).
    CREATE VIEW council_composites AS
    SELECT c.batch_id, c.item_id, c.candidate_id, pc.composite,
           CASE WHEN count(c.score) = count(*) THEN avg(c.score) END AS score,
           CASE WHEN count(c.calibrated_mean) = count(*) THEN avg(c.calibrated_mean) END AS calibrated_score
    FROM council_scores c JOIN batches b USING (batch_id)
    JOIN protocol_composites pc ON pc.protocol_hash = b.protocol_hash AND pc.attribute_id = c.attribute_id
    GROUP BY ALL;
    """)


def _m003_ratings_reports_calibrations(db: duckdb.DuckDBPyConnection) -> None:
    # Every entity carries an owner (the service scopes by API key; the CLI writes "local").
    db.execute("""
    -- A named set of rated items without texts (e.g. MentalAlign-70k); its scale and attributes.
    CREATE TABLE datasets (
        owner VARCHAR NOT NULL, name VARCHAR NOT NULL, description VARCHAR NOT NULL, protocol_id VARCHAR,
        scale_min DOUBLE NOT NULL, scale_max DOUBLE NOT NULL, attributes JSON NOT NULL, composites JSON NOT NULL,
        meta JSON NOT NULL, created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (owner, name));
    -- One row per import with its report (kept / out of scale / blank / dropped counts).
    CREATE TABLE imports (
        import_id VARCHAR PRIMARY KEY, owner VARCHAR NOT NULL, dataset VARCHAR, batch_id VARCHAR,
        source VARCHAR NOT NULL, raters JSON NOT NULL, n_ratings BIGINT NOT NULL, report JSON NOT NULL,
        created_at TIMESTAMPTZ NOT NULL);
    -- Human and external ratings, keyed to a dataset or to a batch's candidates (target item_id:candidate_id).
    -- Values are stored as given; hygiene is applied when reading: out_of_scale values become missing and
    -- targets with an ``excluded`` reason are dropped, unless the analysis is paper-compatible.
    CREATE TABLE ratings (
        owner VARCHAR NOT NULL, dataset VARCHAR, batch_id VARCHAR, target VARCHAR NOT NULL, rater VARCHAR NOT NULL,
        rater_kind VARCHAR NOT NULL, family VARCHAR, attribute VARCHAR NOT NULL, score DOUBLE,
        out_of_scale BOOLEAN NOT NULL, excluded VARCHAR, context VARCHAR, responder VARCHAR,
        responder_family VARCHAR, length DOUBLE, sample INTEGER NOT NULL, import_id VARCHAR NOT NULL,
        seq BIGINT NOT NULL,
        CHECK ((dataset IS NULL) <> (batch_id IS NULL)),
        CHECK (rater_kind IN ('human', 'judge', 'external')));
    -- Agreement and bias reports: parameters plus flat records.
    CREATE TABLE reports (
        report_id VARCHAR PRIMARY KEY, owner VARCHAR NOT NULL, kind VARCHAR NOT NULL, dataset VARCHAR,
        batch_id VARCHAR, params JSON NOT NULL, n_records INTEGER NOT NULL, created_at TIMESTAMPTZ NOT NULL);
    CREATE TABLE report_records (
        report_id VARCHAR NOT NULL, position INTEGER NOT NULL, rater VARCHAR NOT NULL, reference VARCHAR NOT NULL,
        attribute VARCHAR NOT NULL, level VARCHAR NOT NULL, statistic VARCHAR NOT NULL, value DOUBLE,
        ci_low DOUBLE, ci_high DOUBLE, n INTEGER NOT NULL, k INTEGER NOT NULL, ci_method VARCHAR NOT NULL,
        p_value DOUBLE, extra JSON NOT NULL, PRIMARY KEY (report_id, position));
    -- Versioned calibrations: version counts up per (owner, name); parameters hold the fitted model.
    CREATE TABLE calibrations (
        calibration_id VARCHAR PRIMARY KEY, owner VARCHAR NOT NULL, name VARCHAR NOT NULL, version INTEGER NOT NULL,
        method VARCHAR NOT NULL, kind VARCHAR NOT NULL, dataset VARCHAR, batch_id VARCHAR,
        training JSON NOT NULL, cv JSON, parameters JSON NOT NULL, raters JSON NOT NULL, attributes JSON NOT NULL,
        scale_min DOUBLE NOT NULL, scale_max DOUBLE NOT NULL, created_at TIMESTAMPTZ NOT NULL,
        UNIQUE (owner, name, version));
    -- The council calibrator's score per candidate and attribute (per-judge maps go to judgments.calibrated_score).
    CREATE TABLE council_calibrated (
        batch_id VARCHAR NOT NULL, item_id VARCHAR NOT NULL, candidate_id VARCHAR NOT NULL,
        attribute_id VARCHAR NOT NULL, calibration_id VARCHAR NOT NULL, score DOUBLE, created_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (batch_id, item_id, candidate_id, attribute_id));
    -- Which calibration a batch's calibrated scores come from, and what applying it did.
    CREATE TABLE calibration_applications (
        batch_id VARCHAR PRIMARY KEY, calibration_id VARCHAR NOT NULL, owner VARCHAR NOT NULL, report JSON NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL);

    -- council_scores keeps its columns; calibrated_mean becomes the council calibrator's score where one was
    -- applied, else the mean of the judges' calibrated scores. council_composites reads the new view by name.
    ALTER VIEW council_scores RENAME TO council_scores_uncalibrated;
    CREATE VIEW council_scores AS
    SELECT r.* REPLACE (coalesce(cc.score, r.calibrated_mean) AS calibrated_mean)
    FROM council_scores_uncalibrated r
    LEFT JOIN council_calibrated cc USING (batch_id, item_id, candidate_id, attribute_id);
    """)


def _m004_service(db: duckdb.DuckDBPyConnection) -> None:
    db.execute("""
    CREATE TABLE custom_protocols (
        owner VARCHAR NOT NULL, protocol_id VARCHAR NOT NULL, protocol_hash VARCHAR NOT NULL,
        created_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (owner, protocol_id));
    CREATE TABLE idempotency_keys (
        owner VARCHAR NOT NULL, key VARCHAR NOT NULL, request_hash VARCHAR NOT NULL, batch_id VARCHAR NOT NULL,
        created_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (owner, key));
    -- which Ray node ran each (item, judge) unit of a run: shows judge work spreading across nodes
    CREATE TABLE unit_runs (
        batch_id VARCHAR NOT NULL, item_id VARCHAR NOT NULL, judge_id VARCHAR NOT NULL, run_id VARCHAR NOT NULL,
        node_id VARCHAR NOT NULL, finished_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (batch_id, item_id, judge_id, run_id));
    """)


def _m005_distributions(db: duckdb.DuckDBPyConnection) -> None:
    db.execute("""
    -- Top logprobs per generated token of a call (OpenAI shape, compacted), so a cached reply still carries
    -- the distribution that probability-weighted scoring reads.
    ALTER TABLE llm_calls ADD COLUMN logprobs JSON;
    -- Probability-weighted scoring: the distribution over the scale points and the confidence derived from it.
    ALTER TABLE judgments ADD COLUMN confidence DOUBLE;
    ALTER TABLE judgments ADD COLUMN distribution JSON;
    """)


def _m006_confidence_views(db: duckdb.DuckDBPyConnection) -> None:
    # The 002/003 views with confidence added; every existing column keeps its name, position and meaning, the
    # new ones come last. Views bind their columns when created, so every view on judge_scores is rebuilt:
    # dependents are dropped first and recreated after what they read.
    db.execute("""
    DROP VIEW council_composites;
    DROP VIEW council_scores;
    DROP VIEW council_scores_uncalibrated;
    DROP VIEW judge_scores;

    -- One judge's score per candidate and attribute: the mean over its samples (sample_sd: their spread);
    -- confidence: the mean confidence of its scored samples (NULL in argmax scoring).
    CREATE VIEW judge_scores AS
    SELECT batch_id, item_id, candidate_id, judge_id, attribute_id,
           avg(score) AS score, avg(calibrated_score) AS calibrated_score,
           count(score) AS samples_scored, count(*) - count(score) AS samples_abstained,
           stddev_samp(score) AS sample_sd, any_value(abstention) FILTER (WHERE score IS NULL) AS abstention,
           avg(confidence) FILTER (WHERE score IS NOT NULL) AS confidence
    FROM judgments GROUP BY ALL;

    -- The council's score per candidate and attribute under the batch's aggregation and quorum (as in 002);
    -- confidence: the mean confidence of the judges that scored.
    CREATE VIEW council_scores_uncalibrated AS
    WITH scored AS (
        SELECT j.*, b.aggregation, b.quorum, b.trim,
               count(j.score) OVER w AS n_scored,
               row_number() OVER (PARTITION BY j.batch_id, j.item_id, j.candidate_id, j.attribute_id
                                  ORDER BY j.score) AS rank_in_group
        FROM judge_scores j JOIN batches b USING (batch_id)
        WINDOW w AS (PARTITION BY j.batch_id, j.item_id, j.candidate_id, j.attribute_id)
    ), votes AS (
        SELECT batch_id, item_id, candidate_id, attribute_id, score AS vote, count(*) AS n_votes
        FROM judge_scores WHERE score IS NOT NULL GROUP BY ALL
    ), grouped AS (
        SELECT batch_id, item_id, candidate_id, attribute_id,
               any_value(aggregation) AS aggregation, any_value(quorum) AS quorum,
               count(*) AS n_judges, count(score) AS n_scored,
               avg(score) AS mean, median(score) AS median,
               avg(score) FILTER (WHERE rank_in_group > floor(n_scored * trim)
                                    AND rank_in_group <= n_scored - floor(n_scored * trim)) AS trimmed_mean,
               min(score) AS min, max(score) AS max, max(score) - min(score) AS spread,
               stddev_samp(score) AS sd, avg(calibrated_score) AS calibrated_mean,
               avg(confidence) FILTER (WHERE score IS NOT NULL) AS confidence
        FROM scored GROUP BY ALL
    ), majority AS (
        SELECT v.batch_id, v.item_id, v.candidate_id, v.attribute_id, v.vote AS majority
        FROM votes v JOIN grouped g USING (batch_id, item_id, candidate_id, attribute_id)
        WHERE v.n_votes * 2 > g.n_scored
    )
    SELECT g.* EXCLUDE (confidence), m.majority,
           CASE WHEN g.n_scored < g.quorum THEN NULL
                WHEN g.aggregation = 'mean' THEN g.mean
                WHEN g.aggregation = 'median' THEN g.median
                WHEN g.aggregation = 'trimmed_mean' THEN g.trimmed_mean
                WHEN g.aggregation = 'majority' THEN m.majority END AS score,
           CASE WHEN g.n_scored < g.quorum THEN 'no_consensus'
                WHEN g.aggregation = 'majority' AND m.majority IS NULL THEN 'no_majority'
                ELSE 'ok' END AS status,
           g.confidence
    FROM grouped g LEFT JOIN majority m USING (batch_id, item_id, candidate_id, attribute_id);

    -- As in 003: calibrated_mean is the council calibrator's score where one was applied.
    CREATE VIEW council_scores AS
    SELECT r.* REPLACE (coalesce(cc.score, r.calibrated_mean) AS calibrated_mean)
    FROM council_scores_uncalibrated r
    LEFT JOIN council_calibrated cc USING (batch_id, item_id, candidate_id, attribute_id);

    -- As in 002, plus the mean confidence of the member attributes (NULL unless every member has a score).
    CREATE VIEW council_composites AS
    SELECT c.batch_id, c.item_id, c.candidate_id, pc.composite,
           CASE WHEN count(c.score) = count(*) THEN avg(c.score) END AS score,
           CASE WHEN count(c.calibrated_mean) = count(*) THEN avg(c.calibrated_mean) END AS calibrated_score,
           CASE WHEN count(c.score) = count(*) THEN avg(c.confidence) END AS confidence
    FROM council_scores c JOIN batches b USING (batch_id)
    JOIN protocol_composites pc ON pc.protocol_hash = b.protocol_hash AND pc.attribute_id = c.attribute_id
    GROUP BY ALL;
    """)


def _m007_pairwise_verdicts(db: duckdb.DuckDBPyConnection) -> None:
    db.execute("""
    -- One judge's answer to one ordered pair of candidates (first = shown as A) of one context, per attribute
    -- ('overall' for an overall preference) and sample. The key makes re-runs and resumes store it once.
    -- Exactly one of verdict / abstention is set; p_* are the judge's probabilities of answering A / B / tie
    -- when logprobs exist, preference = p_first - p_second.
    CREATE TABLE pairwise_verdicts (
        batch_id VARCHAR NOT NULL, item_id VARCHAR NOT NULL, judge_id VARCHAR NOT NULL, attribute VARCHAR NOT NULL,
        first_candidate VARCHAR NOT NULL, second_candidate VARCHAR NOT NULL, pair_order VARCHAR NOT NULL,
        sample INTEGER NOT NULL, first_responder VARCHAR NOT NULL, second_responder VARCHAR NOT NULL,
        verdict VARCHAR, p_first DOUBLE, p_second DOUBLE, p_tie DOUBLE, preference DOUBLE, rationale VARCHAR,
        abstention VARCHAR, detail VARCHAR, calls JSON NOT NULL, protocol_hash VARCHAR NOT NULL, run_id VARCHAR,
        created_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (batch_id, item_id, judge_id, attribute, first_candidate, second_candidate, pair_order, sample),
        CHECK (pair_order IN ('AB', 'BA')),
        CHECK (verdict IN ('A', 'B', 'tie')),
        CHECK ((verdict IS NULL) <> (abstention IS NULL)),
        CHECK (first_candidate <> second_candidate));
    """)


def _m008_human_pair_preferences(db: duckdb.DuckDBPyConnection) -> None:
    db.execute("""
    -- A human's preference between two candidates of one context of a batch, per attribute ('overall' or a
    -- rubric attribute id). preference 'A' prefers candidate_a, 'B' candidate_b (the file's columns, not a display
    -- order). Scoped by owner and batch like ratings; one row per (rater, attribute, unordered pair): candidate_a
    -- is stored as given, and the importer refuses a file naming the same unordered pair twice. Importing a
    -- (rater, attribute) again replaces its earlier rows on the batch, nothing else.
    CREATE TABLE human_pair_preferences (
        owner VARCHAR NOT NULL, batch_id VARCHAR NOT NULL, item_id VARCHAR NOT NULL, attribute VARCHAR NOT NULL,
        rater VARCHAR NOT NULL, candidate_a VARCHAR NOT NULL, candidate_b VARCHAR NOT NULL,
        responder_a VARCHAR NOT NULL, responder_b VARCHAR NOT NULL, preference VARCHAR NOT NULL,
        source VARCHAR NOT NULL, import_id VARCHAR NOT NULL, seq BIGINT NOT NULL, imported_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (owner, batch_id, item_id, attribute, rater, candidate_a, candidate_b),
        CHECK (preference IN ('A', 'B', 'tie')),
        CHECK (candidate_a <> candidate_b));
    """)


def _m009_review_queue(db: duckdb.DuckDBPyConnection) -> None:
    db.execute("""
    -- The human review queue (council.review): one entry per (owner, batch, item, candidate), whatever the number
    -- of reasons it was queued for. risk_rank orders RISK_LEVELS (none 0 .. imminent 4); uncertainty (0..1) is how
    -- much a human rating is expected to teach the calibration; needed_reviews is 2 for the double-review share.
    CREATE TABLE review_queue (
        queue_id VARCHAR PRIMARY KEY, owner VARCHAR NOT NULL, batch_id VARCHAR NOT NULL, item_id VARCHAR NOT NULL,
        candidate_id VARCHAR NOT NULL, attributes JSON NOT NULL, risk_rank INTEGER NOT NULL,
        uncertainty DOUBLE NOT NULL, needed_reviews INTEGER NOT NULL, created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        UNIQUE (owner, batch_id, item_id, candidate_id),
        CHECK (needed_reviews IN (1, 2)),
        CHECK (risk_rank BETWEEN 0 AND 4),
        CHECK (uncertainty BETWEEN 0 AND 1));
    -- Why an entry is queued; re-enqueueing the same reason keeps one row.
    CREATE TABLE review_reasons (
        queue_id VARCHAR NOT NULL, reason VARCHAR NOT NULL, detail VARCHAR NOT NULL, created_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (queue_id, reason),
        CHECK (reason IN ('risk', 'unsafe', 'escalation', 'low_confidence', 'suspected_manipulation')));
    -- Who was given an entry and when they rated it (completed_at NULL: assigned, not yet rated).
    CREATE TABLE review_assignments (
        queue_id VARCHAR NOT NULL, reviewer VARCHAR NOT NULL, assigned_at TIMESTAMPTZ NOT NULL,
        completed_at TIMESTAMPTZ, note VARCHAR, PRIMARY KEY (queue_id, reviewer));
    """)


def _m010_escalation_gates(db: duckdb.DuckDBPyConnection) -> None:
    db.execute("""
    -- Versioned confidence gates (council.escalation): version counts up per (owner, name), like calibrations.
    -- target: criterion / k / level / risk; tiers: [{name, judges}] in escalation order; thresholds: per tier the
    -- chosen threshold and its fixed-sequence evidence; parameters: the whole gate (calibrators, confidence
    -- models, thresholds) as JSON; training: what it was fitted on.
    CREATE TABLE escalation_gates (
        gate_id VARCHAR PRIMARY KEY, owner VARCHAR NOT NULL, name VARCHAR NOT NULL, version INTEGER NOT NULL,
        criterion VARCHAR NOT NULL, k INTEGER NOT NULL, level DOUBLE NOT NULL, risk DOUBLE NOT NULL,
        tiers JSON NOT NULL, thresholds JSON NOT NULL, parameters JSON NOT NULL, training JSON NOT NULL,
        dataset VARCHAR, batch_id VARCHAR, created_at TIMESTAMPTZ NOT NULL,
        UNIQUE (owner, name, version),
        CHECK (criterion IN ('exact', 'within_k')),
        CHECK (level > 0 AND level < 1),
        CHECK (risk > 0 AND risk < 1));
    """)




def _m011_manipulation_flags(db: duckdb.DuckDBPyConnection) -> None:
    db.execute("""
    -- Texts of a batch the deterministic detector (judges.injection) suspects of manipulating the judges: a
    -- candidate (candidate_id set, target 'candidate') or an item's seeker message (candidate_id '', target
    -- 'context'). Only flagged texts have a row. routed: how it reached human review ('review_queue' when the
    -- review queue took it, 'pending' when none was available), NULL before the batch's run finished.
    CREATE TABLE manipulation_flags (
        batch_id VARCHAR NOT NULL, item_id VARCHAR NOT NULL, candidate_id VARCHAR NOT NULL, target VARCHAR NOT NULL,
        reasons JSON NOT NULL, findings JSON NOT NULL, detector_version VARCHAR NOT NULL, routed VARCHAR,
        created_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (batch_id, item_id, candidate_id),
        CHECK (target IN ('candidate', 'context')),
        CHECK ((target = 'context') = (candidate_id = '')));
    -- The council's score of every flagged candidate (its own text or its item's seeker message flagged),
    -- reported beside the flag: flagged candidates are scored and shown, never dropped.
    CREATE VIEW flagged_council_scores AS
    SELECT c.*, f.target AS flagged_text, f.reasons AS flag_reasons, f.routed
    FROM council_scores c
    JOIN manipulation_flags f ON f.batch_id = c.batch_id AND f.item_id = c.item_id
     AND (f.candidate_id = c.candidate_id OR f.target = 'context');
    """)


def _m012_gate_decisions(db: duckdb.DuckDBPyConnection) -> None:
    db.execute("""
    -- A gated batch's routing (council.gating): per candidate × attribute, the tier that accepted it (decision
    -- 'accepted', score = the calibrated answer) or 'review' (escalated past the last tier, unscored, or forced by
    -- a risk flag: reason 'risk:<why>'); confidence is the gate's calibrated confidence at the deciding tier.
    CREATE TABLE gate_decisions (
        batch_id VARCHAR NOT NULL, item_id VARCHAR NOT NULL, candidate_id VARCHAR NOT NULL,
        attribute_id VARCHAR NOT NULL, gate_id VARCHAR NOT NULL, decision VARCHAR NOT NULL, tier VARCHAR,
        reason VARCHAR NOT NULL, score DOUBLE, calibrated DOUBLE, confidence DOUBLE, created_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (batch_id, item_id, candidate_id, attribute_id),
        CHECK (decision IN ('accepted', 'review')),
        CHECK ((decision = 'accepted') = (score IS NOT NULL)));
    """)


MIGRATIONS: list[Migration] = [
    ("001_core_tables", _m001_core),
    ("002_score_views", _m002_score_views),
    ("003_ratings_reports_calibrations", _m003_ratings_reports_calibrations),
    ("004_service", _m004_service),
    ("005_distributions", _m005_distributions),
    ("006_confidence_views", _m006_confidence_views),
    ("007_pairwise_verdicts", _m007_pairwise_verdicts),
    ("008_human_pair_preferences", _m008_human_pair_preferences),
    ("009_review_queue", _m009_review_queue),
    ("010_escalation_gates", _m010_escalation_gates),
    ("011_manipulation_flags", _m011_manipulation_flags),
    ("012_gate_decisions", _m012_gate_decisions),
]


def migrate(db: duckdb.DuckDBPyConnection, migrations: list[Migration] | None = None) -> list[str]:
    """Apply the migrations this database has not seen, in order; return the names applied."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMPTZ)")
    done = {row[0] for row in db.execute("SELECT name FROM _migrations").fetchall()}
    applied = []
    for name, apply in migrations or MIGRATIONS:
        if name in done:
            continue
        db.execute("BEGIN TRANSACTION")
        try:
            apply(db)
            db.execute("INSERT INTO _migrations VALUES (?, ?)", [name, datetime.now(UTC)])
            db.execute("COMMIT")
        except Exception:
            db.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied
