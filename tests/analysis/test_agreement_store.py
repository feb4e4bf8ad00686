"""Agreement and bias reports over a batch (attributes, composites, scale from its protocol), stored."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from council.analysis import (
    AnalysisError,
    NotFoundError,
    get_report,
    import_ratings_file,
    list_reports,
    run_agreement,
    run_bias,
)
from council.store.migrations import MIGRATIONS
from council.store.store import Store
from tests.analysis.helpers import seeded_score, stored_batch

EPITOME = ["emotional_reactions", "interpretations", "explorations"]


def _human_csv(tmp_path, batch, raters=("human_expert",), seed=0):
    """Humans on the 0-2 scale for every candidate, loosely following the judges."""
    score = seeded_score(seed, 0, 2)
    rows = [
        (f"{i.id}", c.id, r, a, score(r, i.id, c.id, a))
        for i in batch.items
        for c in i.candidates
        for r in raters
        for a in EPITOME
    ]
    path = tmp_path / "humans.csv"
    pd.DataFrame(rows, columns=["item_id", "candidate_id", "rater", "attribute", "score"]).to_csv(
        path, index=False
    )
    return path


@pytest.fixture
def epitome_batch(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    batch_id, batch, *_ = stored_batch(
        store, ["ja", "jb", "jc"], seeded_score(2, 0, 2), protocol_id="epitome"
    )
    import_ratings_file(store, _human_csv(tmp_path, batch, ("human_expert", "human_b")), batch_id=batch_id)
    yield store, batch_id
    store.close()


def test_migration_003_adds_tables_and_keeps_council_scores_columns() -> None:
    store = Store()
    assert [n for n, _ in MIGRATIONS][:3] == [
        "001_core_tables",
        "002_score_views",
        "003_ratings_reports_calibrations",
    ]
    tables = set(store.query("SELECT table_name FROM information_schema.tables").table_name)
    assert {
        "datasets",
        "imports",
        "ratings",
        "reports",
        "report_records",
        "calibrations",
        "council_calibrated",
        "calibration_applications",
        "council_scores",
        "council_scores_uncalibrated",
    } <= tables
    cols = lambda v: store.query(f"DESCRIBE {v}").column_name.tolist()  # noqa: E731
    assert cols("council_scores") == cols("council_scores_uncalibrated")
    for table in ("datasets", "imports", "ratings", "reports", "calibrations", "calibration_applications"):
        assert "owner" in cols(table)


def test_batch_agreement_uses_the_protocol_and_is_stored(epitome_batch) -> None:
    store, batch_id = epitome_batch
    report_id, records = run_agreement(store, batch_id=batch_id, level="both", pairwise=True)
    attrs = {r.attribute for r in records}
    assert set(EPITOME) | {"affective", "cognitive"} <= attrs and "cognitive_support" not in attrs
    raters = {r.rater for r in records if r.reference == "human_expert"}
    assert {"ja", "jb", "jc", "council", "human_b"} <= raters
    assert {r.level for r in records} == {"item", "system"}
    assert any(r.rater == "human_panel" for r in records)  # two humans: the ceiling
    assert any(r.reference == "ja" and r.rater == "jb" for r in records)  # judge-judge pairs
    assert {r.extra["scale"] for r in records if r.statistic == "qwk"} == {"0-2"}  # the protocol's scale
    stored = get_report(store, report_id)
    assert stored.kind == "agreement" and stored.batch_id == batch_id and stored.n_records == len(records)
    assert [json.loads(r.model_dump_json()) for r in stored.records] == [
        json.loads(r.model_dump_json()) for r in records
    ]
    assert stored.params["reference"] == "human_expert" and stored.params["judges"] == ["ja", "jb", "jc"]
    assert [r.report_id for r in list_reports(store)] == [report_id]


def test_bias_report_on_a_batch_has_length_bias(epitome_batch) -> None:
    store, batch_id = epitome_batch
    report_id, records = run_bias(store, batch_id=batch_id)
    stats = {r.statistic for r in records}
    assert {"source_model_bias", "length_bias_slope"} <= stats
    assert get_report(store, report_id).kind == "bias"


def test_reports_are_scoped_by_owner(epitome_batch) -> None:
    store, batch_id = epitome_batch
    report_id, _ = run_agreement(store, batch_id=batch_id)
    with pytest.raises(NotFoundError) as e:
        get_report(store, report_id, owner="key-b")
    assert e.value.field == "report_id"
    with pytest.raises(NotFoundError) as e:
        run_agreement(store, batch_id=batch_id, owner="key-b")
    assert e.value.field == "batch_id"
    assert list_reports(store, owner="key-b") == []


def test_bad_arguments_name_the_field(epitome_batch) -> None:
    store, batch_id = epitome_batch
    cases = [
        (dict(batch_id=batch_id, level="galaxy"), "level"),
        (dict(batch_id=batch_id, reference="nobody"), "reference"),
        (dict(batch_id=batch_id, bootstrap={"n_boot": 1}), "bootstrap.n_boot"),
        (dict(), "dataset"),
        (dict(dataset="nope"), "dataset"),
    ]
    for kwargs, field in cases:
        with pytest.raises(AnalysisError) as e:
            run_agreement(store, **kwargs)
        assert e.value.field == field, kwargs
    batch_only, *_ = stored_batch(store, ["ja", "jb"], seeded_score(), protocol_id="epitome")
    with pytest.raises(AnalysisError, match="no human ratings"):
        run_agreement(store, batch_id=batch_only)


def test_cli_agreement_on_a_batch_and_exit_code_2(cli, tmp_path) -> None:
    path = str(tmp_path / "cli.duckdb")
    store = Store(path)
    batch_id, batch, *_ = stored_batch(store, ["ja", "jb"], seeded_score(2, 0, 2), protocol_id="epitome")
    store.close()  # the CLI opens the file itself
    code, out, _ = cli(
        "ratings", "import", str(_human_csv(tmp_path, batch)), "--batch", batch_id, "--db", path
    )
    assert code == 0 and "human_expert" in out and "kept" in out
    code, out, err = cli(
        "agreement", "--batch", batch_id, "--level", "item", "--bootstrap", "20", "--seed", "1", "--db", path
    )
    assert code == 0 and "ICC(A,1)" in out and "emotional_reactions" in out and "report rep_" in err
    code, out, _ = cli("agreement", "--batch", batch_id, "--bootstrap", "20", "--json", "--db", path)
    assert any(r["ci_method"].startswith("cluster-bootstrap(20") for r in json.loads(out))
    code, _, err = cli("agreement", "--dataset", "nope", "--json", "--db", path)
    assert code == 2 and "dataset" in err and "nope" in err
    code, out, _ = cli("reports", "list", "--db", path)
    assert code == 0 and out.count("rep_") == 2
