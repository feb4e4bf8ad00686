"""Human pairwise preferences in a real DuckDB file: migration 008, import validation, idempotent re-import,
owner scoping, the store-level agreement and the CLI."""

import json

import duckdb
import pandas as pd
import pytest

from council.analysis.errors import AnalysisError, NotFoundError
from council.cli import main as council_main
from council.pairwise.consistency import combine_orders
from council.pairwise.human import human_agreement, human_pairwise_agreement
from council.pairwise.human_import import import_human_pairs
from council.pairwise.types import PairVerdict
from council.run import prepare_batch
from council.stats.types import BootstrapSpec
from council.store.human_pairs_store import read_human_pairs
from council.store.migrations import migrate
from council.store.store import Store
from council.types import Batch, BatchItem, CouncilSpec, PairwiseOptions
from judges.types import Candidate
from protocols import load_protocol
from tests.pairwise.simulate import PLANTED, RESPONDERS, SimJudge, simulate
from tests.pairwise.test_human_agreement import planted_humans

N_CONTEXTS = 30
SPEC = BootstrapSpec(n_boot=20, seed=1)


def _council() -> CouncilSpec:
    return CouncilSpec.model_validate({"id": "sim", "judges": [
        {"id": j, "model": f"openai/{j}", "api_base": "http://127.0.0.1:9/v1"} for j in ("oracle", "noisy")]})


def _batch() -> Batch:
    return Batch(name="human-pairs", items=[BatchItem(id=f"i{c:03d}", context=f"I feel alone, day {c}.", candidates=[
        Candidate(id=f"c{k}", text=f"reply {k} on day {c}", responder=r) for k, r in enumerate(RESPONDERS)])
        for c in range(N_CONTEXTS)])


def _verdicts(frame: pd.DataFrame) -> list[PairVerdict]:
    keep = ["item_id", "judge_id", "attribute", "first_candidate", "second_candidate", "first_responder",
            "second_responder", "order", "sample", "verdict"]
    return [PairVerdict(**row) for row in frame[keep].to_dict("records")]


def _make(path):
    """A pairwise batch of 30 contexts × 6 candidates with the verdicts of two simulated judges."""
    store = Store(path)
    protocol = load_protocol("epitome")
    batch_id = prepare_batch(store, _batch(), protocol, _council(), pairwise=PairwiseOptions())
    verdicts, _ = simulate([SimJudge("oracle"), SimJudge("noisy", first_bias=0.3)], n_contexts=N_CONTEXTS, seed=2,
                           strengths=PLANTED * 3)
    store.save_pair_verdicts(batch_id, None, _verdicts(verdicts), protocol.content_hash)
    return store, batch_id


@pytest.fixture
def stored(tmp_path):
    store, batch_id = _make(tmp_path / "council.duckdb")
    yield store, batch_id
    store.close()


def _write(tmp_path, frame: pd.DataFrame, name: str = "prefs.csv") -> str:
    path = tmp_path / name
    if name.endswith(".jsonl"):
        path.write_text("".join(json.dumps(r) + "\n" for r in frame.to_dict("records")))
    else:
        frame.to_csv(path, index=False)
    return str(path)


def _humans(raters=("ann", "bo"), n_contexts=N_CONTEXTS) -> pd.DataFrame:
    return planted_humans(raters=raters, n_contexts=n_contexts, seed=4).drop(columns=["responder_a", "responder_b"])


def test_migration_008_adds_the_table_with_its_key(tmp_path):
    db = duckdb.connect(str(tmp_path / "m.duckdb"))
    assert "008_human_pair_preferences" in migrate(db)
    key = db.execute("SELECT constraint_column_names FROM duckdb_constraints() WHERE table_name = "
                     "'human_pair_preferences' AND constraint_type = 'PRIMARY KEY'").fetchone()[0]
    assert key == ["owner", "batch_id", "item_id", "attribute", "rater", "candidate_a", "candidate_b"]
    assert migrate(db) == []


def test_import_stores_every_preference_with_its_responders(stored, tmp_path):
    store, batch_id = stored
    humans = _humans()
    rec = import_human_pairs(store, _write(tmp_path, humans), batch_id=batch_id)
    assert rec.n_rows == rec.n_preferences == len(humans) == 2 * N_CONTEXTS * 15 and rec.n_replaced == 0
    assert rec.raters == ["ann", "bo"] and rec.attributes == ["overall"] and rec.n_pairs == N_CONTEXTS * 15
    assert [(c.rater, c.kept, c.blank) for c in rec.counts] == [("ann", 450, 0), ("bo", 450, 0)]
    rows = read_human_pairs(store, "local", batch_id)
    assert rows[["item_id", "rater", "candidate_a", "candidate_b", "preference"]].equals(
        humans[["item_id", "rater", "candidate_a", "candidate_b", "preference"]])
    resp = dict(zip([f"c{k}" for k in range(6)], RESPONDERS, strict=True))
    assert (rows["responder_a"] == rows["candidate_a"].map(resp)).all()
    assert (rows["import_id"] == rec.import_id).all() and (rows["source"].str.endswith("prefs.csv")).all()


def test_reimport_replaces_only_the_same_rater_and_attribute(stored, tmp_path):
    store, batch_id = stored
    humans = _humans()
    first = import_human_pairs(store, _write(tmp_path, humans), batch_id=batch_id)
    again = import_human_pairs(store, _write(tmp_path, humans), batch_id=batch_id)
    assert again.n_replaced == first.n_preferences and again.import_id != first.import_id
    assert len(read_human_pairs(store, "local", batch_id)) == len(humans)  # stored once
    # ann's 'empathy' preferences are another (rater, attribute): they do not replace her 'overall' ones
    empathy = humans[humans.rater == "ann"].head(10).assign(attribute="Emotional_Reactions")  # ids are lower-cased
    assert import_human_pairs(store, _write(tmp_path, empathy, "er.csv"), batch_id=batch_id).n_replaced == 0
    # bo again with one preference flipped: only bo's overall rows change
    bo = humans[humans.rater == "bo"].copy()
    bo.iloc[0, bo.columns.get_loc("preference")] = "tie"
    assert import_human_pairs(store, _write(tmp_path, bo, "bo.csv"), batch_id=batch_id).n_replaced == 450
    rows = read_human_pairs(store, "local", batch_id)
    assert len(rows) == len(humans) + 10
    assert rows.groupby(["rater", "attribute"]).size().to_dict() == {
        ("ann", "emotional_reactions"): 10, ("ann", "overall"): 450, ("bo", "overall"): 450}
    assert (rows[rows.rater == "bo"].preference == "tie").sum() == 1


def test_responder_columns_jsonl_lower_case_and_blank_preferences(stored, tmp_path):
    store, batch_id = stored
    rows = pd.DataFrame({"item_id": ["i000", "i000", "i001"], "responder_a": ["r0", "r2", "r5"],
                         "responder_b": ["r1", "r3", "r4"], "preference": ["a", "TIE", None]})
    rec = import_human_pairs(store, _write(tmp_path, rows, "p.jsonl"), batch_id=batch_id, rater="cy")
    assert (rec.n_rows, rec.n_preferences) == (3, 2)
    assert [(c.rater, c.kept, c.blank) for c in rec.counts] == [("cy", 2, 1)]
    stored_rows = read_human_pairs(store, "local", batch_id)
    assert stored_rows[["candidate_a", "candidate_b", "preference"]].values.tolist() == [["c0", "c1", "A"],
                                                                                          ["c2", "c3", "tie"]]


BASE = {"item_id": "i000", "candidate_a": "c0", "candidate_b": "c1", "preference": "A", "rater": "ann"}


@pytest.mark.parametrize(("change", "field", "needle"), [
    ({"item_id": "nope"}, "item_id", "data row 2 ('nope')"),
    ({"candidate_b": "c9"}, "candidate_b", "data row 2 ('c9')"),
    ({"preference": "1"}, "preference", "data row 2 ('1')"),
    ({"preference": "left"}, "preference", "other than A, B or tie"),
    ({"candidate_b": "c0"}, "candidate_b", "itself"),
    ({"attribute": "kindness"}, "attribute", "data row 2 ('kindness')"),
    ({"rater": "oracle"}, "rater", "judge of this batch's council"),
    ({"rater": ""}, "rater", "data row 2"),
    ({"item_id": ""}, "item_id", "have no item_id"),
    ({"candidate_a": "c1", "candidate_b": "c0", "preference": "B"}, "content", "same unordered pair twice"),
])
def test_a_bad_row_is_an_error_naming_field_and_row_and_nothing_is_lost(stored, tmp_path, change, field, needle):
    store, batch_id = stored
    import_human_pairs(store, _write(tmp_path, _humans(("ann",), 3), "good.csv"), batch_id=batch_id)
    before = read_human_pairs(store, "local", batch_id)
    bad = pd.DataFrame([BASE, {**BASE, **change}, {**BASE, "candidate_b": "c2"}])
    with pytest.raises(AnalysisError) as e:
        import_human_pairs(store, _write(tmp_path, bad, "bad.csv"), batch_id=batch_id)
    assert e.value.field == field and needle in str(e.value), str(e.value)
    assert read_human_pairs(store, "local", batch_id).equals(before)


@pytest.mark.parametrize(("content", "field", "needle"), [
    ("item_id,candidate_a,candidate_b,rater\ni000,c0,c1,ann\n", "preference", "no preference column"),
    ("item_id,preference,rater\ni000,A,ann\n", "candidate_a", "responder_a and responder_b"),
    ("item_id,candidate_a,preference,rater\ni000,c0,A,ann\n", "candidate_b", "no candidate_b column"),
    ("item_id,candidate_a,candidate_b,preference\ni000,c0,c1,A\n", "rater", "no rater column"),
    ("item_id,responder_a,responder_b,preference,rater\ni000,r0,gpt,A,ann\n", "responder_b", "('gpt')"),
    ("item_id,candidate_a,candidate_b,responder_a,preference,rater\ni000,c0,c1,r3,A,ann\n", "responder_a",
     "did not write candidate_a"),
    ('item_id,candidate_a,candidate_b,preference,rater\n"i000,c0,c1,A,ann\n', "content", "CSV"),
    ("item_id,candidate_a,candidate_b,preference,rater\ni000,c0,c1,A,ann,extra\n", "content", "line 2"),
    ("item_id,candidate_a,candidate_b,preference,rater\ni000,c0,c1,,ann\n", "preference", "blank preference"),
])
def test_malformed_files_are_errors_naming_the_field(stored, content, field, needle):
    store, batch_id = stored
    with pytest.raises(AnalysisError) as e:
        import_human_pairs(store, content.encode(), batch_id=batch_id, fmt="csv")
    assert e.value.field == field and needle in str(e.value), str(e.value)
    assert read_human_pairs(store, "local", batch_id).empty


def test_ambiguous_responders_need_candidate_ids(tmp_path):
    store = Store()
    batch = Batch(items=[BatchItem(id="i0", context="I feel alone.", candidates=[
        Candidate(id="c0", text="a", responder="gpt"), Candidate(id="c1", text="b", responder="gpt"),
        Candidate(id="c2", text="c", responder="human")])])
    batch_id = prepare_batch(store, batch, load_protocol("epitome"), _council())
    content = b"item_id,responder_a,responder_b,preference,rater\ni0,gpt,human,A,ann\n"
    with pytest.raises(AnalysisError, match="several candidates") as e:
        import_human_pairs(store, content, batch_id=batch_id, fmt="csv")
    assert e.value.field == "responder_a"


def test_another_owner_can_neither_import_nor_read(stored, tmp_path):
    store, batch_id = stored
    path = _write(tmp_path, _humans())
    with pytest.raises(NotFoundError):
        import_human_pairs(store, path, batch_id=batch_id, owner="bob")
    import_human_pairs(store, path, batch_id=batch_id)
    with pytest.raises(NotFoundError):
        human_pairwise_agreement(store, batch_id, owner="bob", spec=SPEC)
    assert read_human_pairs(store, "bob", batch_id).empty


def test_store_agreement_equals_the_function_on_the_stored_frames(stored, tmp_path):
    store, batch_id = stored
    with pytest.raises(AnalysisError, match="no human pairwise preferences") as e:
        human_pairwise_agreement(store, batch_id, spec=SPEC)
    assert e.value.field == "batch_id"
    import_human_pairs(store, _write(tmp_path, _humans()), batch_id=batch_id)
    got = human_pairwise_agreement(store, batch_id, spec=SPEC)
    outcomes = combine_orders(store.pair_verdicts(batch_id)).outcomes
    expected = human_agreement(outcomes, read_human_pairs(store, "local", batch_id), spec=SPEC, batch_id=batch_id)
    assert got == expected
    assert got.rankings[0].value > 0.6 and got.n_pairs == got.n_pairs_judged == N_CONTEXTS * 15
    assert {r.rater for r in got.agreement} == {"oracle", "noisy", "council"}
    # the position-biased judge turns more pairs into ties, so it matches the humans' winners less often
    exact = {r.rater: r.value for r in got.agreement if r.statistic == "pair_agreement_rate"}
    assert exact["oracle"] > exact["noisy"]


def test_cli_imports_and_prints_agreement(tmp_path, capsys):
    path = tmp_path / "cli.duckdb"
    store, batch_id = _make(path)
    store.close()
    prefs = _write(tmp_path, _humans())
    assert council_main(["ratings", "import-pairwise", prefs, "--batch", batch_id, "--db", str(path)]) == 0
    assert "900 preferences on 450 pairs" in capsys.readouterr().out
    assert council_main(["pairwise-agreement", "--batch", batch_id, "--db", str(path), "--bootstrap", "20",
                         "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_preferences"] == 900 and out["rankings"][0]["statistic"] == "kendall_tau_b"
    assert council_main(["pairwise-agreement", "--batch", batch_id, "--db", str(path), "--bootstrap", "20"]) == 0
    table = capsys.readouterr().out
    assert "Kendall τ-b" in table and "council" in table and "other_humans" in table
    bad = tmp_path / "bad.csv"
    bad.write_text("item_id,candidate_a,candidate_b,preference,rater\ni000,c0,c1,maybe,ann\n")
    assert council_main(["ratings", "import-pairwise", str(bad), "--batch", batch_id, "--db", str(path)]) == 2
    assert "preference:" in capsys.readouterr().err
    again = Store(path)
    try:
        assert len(read_human_pairs(again, "local", batch_id)) == 900  # the failed import lost nothing
    finally:
        again.close()
