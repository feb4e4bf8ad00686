"""Probability-weighted scores through the store: judgments, the 006 views, results files and CLI tables.

The scenario (one epitome candidate, three judges, two of them ``scoring: expected``) and its hand-derived
values are described in :func:`tests.council.expected.store_three_judges`; every test uses a DuckDB file.
"""

from __future__ import annotations

import io
import json

import duckdb
import pandas as pd
import pytest
from rich.console import Console

from council.results import format_distribution, judge_scores, results_file, results_table
from council.store.migrations import MIGRATIONS, migrate
from council.store.store import Store
from council.tables import print_batch_tables
from tests.council.expected import C1, C2, C3, ER, EXP, INT, store_three_judges
from tests.council.helpers import council
from tests.service.results import normalise


@pytest.fixture
def stored(tmp_path):
    store = Store(tmp_path / "expected.duckdb")
    yield store, store_three_judges(store)
    store.close()


def _cols(db: duckdb.DuckDBPyConnection, view: str) -> list[str]:
    return [r[0] for r in db.execute(f"DESCRIBE {view}").fetchall()]


def test_migration_006_rebuilds_the_views_on_a_005_file_keeping_every_column(tmp_path) -> None:
    path = tmp_path / "old.duckdb"
    db = duckdb.connect(str(path))
    migrate(db, MIGRATIONS[:5])
    views = ("judge_scores", "council_scores_uncalibrated", "council_scores", "council_composites")
    before = {v: _cols(db, v) for v in views}
    assert "confidence" not in before["judge_scores"]
    db.close()
    store = Store(path)  # applies 006 (and what came after it), on a file whose views depend on each other
    applied = [r[0] for r in store.db.execute("SELECT name FROM _migrations ORDER BY name").fetchall()]
    assert applied == [name for name, _ in MIGRATIONS] and applied[5] == "006_confidence_views"
    for v in views:  # every existing column keeps its name and position; confidence comes last
        assert _cols(store.db, v) == before[v] + ["confidence"], v
    assert "sample_sd" in before["judge_scores"]
    batch_id = store_three_judges(store)
    row = store.query("SELECT * FROM judge_scores WHERE judge_id = 'j0' AND attribute_id = ?", [ER]).iloc[0]
    assert row.score == pytest.approx(1.625) and row.confidence == pytest.approx((C1 + C2) / 2)
    assert row.samples_scored == 2 and row.sample_sd == pytest.approx(0.25 / 2**0.5)  # sd of 1.5, 1.75
    assert store.judgment_counts(batch_id) == {"judgments": 3 * 2 + 3 + 3, "abstentions": 1}
    store.close()


def test_judgment_rows_carry_confidence_and_distribution(stored) -> None:
    store, batch_id = stored
    rows = store.query("SELECT judge_id, attribute_id, sample, score, confidence, distribution FROM judgments "
                       "WHERE batch_id = ? ORDER BY judge_id, attribute_id, sample", [batch_id])
    j0_er = rows[(rows.judge_id == "j0") & (rows.attribute_id == ER)]
    assert j0_er.score.tolist() == pytest.approx([1.5, 1.75])
    assert j0_er.confidence.tolist() == pytest.approx([C1, C2])
    assert json.loads(j0_er.distribution.iloc[0]) == pytest.approx({"0": .1, "1": .3, "2": .6})
    argmax = rows[rows.judge_id == "j2"]
    assert argmax.confidence.isna().all() and argmax.distribution.isna().all()
    abst = rows[(rows.judge_id == "j1") & (rows.attribute_id == INT)].iloc[0]
    assert pd.isna(abst.score) and pd.isna(abst.confidence) and pd.isna(abst.distribution)


def test_council_confidence_is_the_mean_of_its_scoring_judges(stored) -> None:
    store, batch_id = stored
    c = store.query("SELECT * FROM council_scores WHERE batch_id = ?", [batch_id]).set_index("attribute_id")
    # emotional_reactions: j0 1.625 (c (C1+C2)/2), j1 1.75 (c C2), j2 2 (argmax: no confidence)
    assert c.loc[ER, "score"] == pytest.approx((1.625 + 1.75 + 2) / 3, abs=1e-15)
    assert c.loc[ER, "confidence"] == pytest.approx(((C1 + C2) / 2 + C2) / 2)
    assert c.loc[ER, "spread"] == pytest.approx(0.375)
    # interpretations: j1 abstained, so only j0's confidence counts
    assert c.loc[INT, "n_scored"] == 2 and c.loc[INT, "confidence"] == pytest.approx(C2)
    assert c.loc[EXP, "confidence"] == pytest.approx((C3 + C1) / 2)
    uncal = store.query("SELECT * FROM council_scores_uncalibrated WHERE batch_id = ?", [batch_id])
    assert uncal.set_index("attribute_id").confidence.sort_index().equals(c.confidence.sort_index())
    comp = store.query("SELECT composite, score, confidence FROM council_composites WHERE batch_id = ?",
                       [batch_id]).set_index("composite")
    assert comp.loc["affective", "confidence"] == pytest.approx(c.loc[ER, "confidence"])
    assert comp.loc["cognitive", "confidence"] == pytest.approx((C2 + (C3 + C1) / 2) / 2)


def test_results_files_keep_fractional_scores_confidence_and_distribution(stored) -> None:
    store, batch_id = stored
    council_er = (1.625 + 1.75 + 2) / 3  # 1.7916666…: more digits than pandas' to_json keeps by default
    table = results_table(store, batch_id)
    assert list(table.columns)[-2:] == ["confidence", "distribution"]
    media, body = results_file(store, batch_id, "json", traces=True)
    doc = json.loads(body)
    rows = {(r["rater"], r["attribute"]): r for r in doc["scores"]}
    assert rows[("j0", ER)]["score"] == 1.625 and rows[("j0", ER)]["confidence"] == pytest.approx((C1 + C2) / 2)
    assert json.loads(rows[("j0", ER)]["distribution"]) == pytest.approx({"0": .075, "1": .225, "2": .7})
    assert rows[("council", ER)]["score"] == pytest.approx(council_er, abs=1e-15)
    assert rows[("council", ER)]["confidence"] == pytest.approx(((C1 + C2) / 2 + C2) / 2)
    assert rows[("j2", ER)]["score"] == 2 and rows[("j2", ER)]["confidence"] is None
    assert rows[("j2", ER)]["distribution"] is None and rows[("j1", INT)]["status"] == "abstained"
    scoring = [t for t in doc["traces"] if t["judge_id"] == "j0" and t["agent"] == "scoring" and t["sample"] == 1]
    assert scoring[0]["output"]["scores"][0]["distribution"] == pytest.approx({"0": .05, "1": .15, "2": .8})
    assert scoring[0]["output"]["scores"][0]["confidence"] == pytest.approx(C2)
    csv = pd.read_csv(io.BytesIO(results_file(store, batch_id, "csv")[1]))
    parquet = pd.read_parquet(io.BytesIO(results_file(store, batch_id, "parquet")[1]))
    for frame in (csv, parquet):
        er = frame[(frame.rater == "council") & (frame.attribute == ER)].iloc[0]
        assert er.score == pytest.approx(council_er, abs=1e-15)
        assert er.confidence == pytest.approx(((C1 + C2) / 2 + C2) / 2)
        j0 = frame[(frame.rater == "j0") & (frame.attribute == ER)].iloc[0]
        assert json.loads(j0.distribution) == pytest.approx({"0": .075, "1": .225, "2": .7})
    as_json = pd.DataFrame(doc["scores"])  # the same rows in all three formats, as the service test checks
    assert list(as_json.columns) == list(csv.columns) == list(parquet.columns)
    assert normalise(csv) == normalise(as_json) == normalise(parquet)


def test_judge_scores_composite_confidence_and_compact_distribution(stored) -> None:
    store, batch_id = stored
    j = judge_scores(store, batch_id).set_index(["judge_id", "attribute"])
    assert j.loc[("j0", "cognitive"), "confidence"] == pytest.approx((C2 + C3) / 2)
    assert pd.isna(j.loc[("j1", "cognitive"), "confidence"])  # a member abstained
    assert format_distribution(j.loc[("j0", EXP), "distribution"]) == "0:.00 1:.50 2:.50"
    assert format_distribution({"10": 0.5, "9": 0.25, "1": 0.25}) == "1:.25 9:.25 10:.50"
    assert format_distribution(None) == ""


def test_cli_tables_show_fractional_scores_with_their_confidence(stored) -> None:
    store, batch_id = stored
    console = Console(width=160, record=True, file=io.StringIO())
    print_batch_tables(console, store, batch_id, council(3, aggregation="mean"))
    text = console.export_text()
    er = next(line for line in text.splitlines() if line.lstrip("│ ").startswith(ER))
    # council 1.79 (c .38) | j0 1.62 (c .31) | j1 1.75 (c .44) | j2 2 (an integer stays one) | spread .375
    assert "1.79 (c .38)" in er and "1.62 (c .31)" in er and "1.75 (c .44)" in er
    assert er.split("│")[5].strip() == "2" and er.split("│")[6].strip() == "0.38"
    assert "abstain: no_logprobs" in text and "confidence = 1 − normalised entropy" in text
    assert max(len(line) for line in text.splitlines()) <= 160
