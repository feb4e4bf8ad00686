"""Calibrations as versioned store records, applied to batches whose judge ids match (synthetic, no LLM)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from council.analysis import (
    CalibrationMismatchError,
    NotFoundError,
    apply_calibration_to_batch,
    fit_and_store_calibration,
    get_calibration,
    import_ratings_file,
    list_calibrations,
    ratings_frame,
)
from council.calibration import CouncilCalibration, apply_calibration
from council.ratings import JUDGES
from council.results import council_scores, judge_scores
from council.run import prepare_batch, run_batch
from council.store.store import Store
from protocols import load_protocol
from tests.analysis.helpers import (
    council_of,
    judgment,
    seeded_score,
    small_batch,
    stored_batch,
    synthetic_long,
    write_csv,
)

ATTRS = load_protocol("mentalalign-7").attribute_ids


def _synthetic_dataset(store: Store, tmp: Path, owner: str = "local") -> None:
    """Dataset 'syn': a human expert and four judges named like the MentalAlign judges."""
    df = synthetic_long(JUDGES, ATTRS, n_ctx=30)
    write_csv(df[df.rater == "human_expert"], tmp / "human.csv")
    write_csv(df[df.rater != "human_expert"], tmp / "judges.csv")
    cols = dict(protocol="mentalalign-7", owner=owner)
    from council.ratings import Columns

    columns = Columns(context="context", responder="responder")
    import_ratings_file(store, tmp / "human.csv", dataset="syn", columns=columns, **cols)
    import_ratings_file(
        store,
        tmp / "judges.csv",
        dataset="syn",
        columns=columns,
        kind="external",
        families={j: "fam" for j in JUDGES},
        **cols,
    )


@pytest.fixture(scope="module")
def cal_store(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("cal")
    store = Store(tmp / "s.duckdb")
    _synthetic_dataset(store, tmp)
    council_id = fit_and_store_calibration(
        store, dataset="syn", method="ridge-mm", cv=3, seed=0
    ).calibration_id
    maps_id = fit_and_store_calibration(store, dataset="syn", method="linear", cv=3, seed=0).calibration_id
    yield store, council_id, maps_id
    store.close()


def test_stored_calibration_round_trips_and_versions(cal_store) -> None:
    store, cid, mid = cal_store
    cal = get_calibration(store, cid)
    assert cal.kind == "council" and cal.method == "ridge-mm" and cal.version == 1 and cal.dataset == "syn"
    assert cal.raters == list(JUDGES) and cal.attributes == ATTRS and cal.scale == (1, 5)
    assert cal.council == CouncilCalibration.from_json(cal.council.to_json())
    assert cal.cv is not None and cal.cv.n_splits == 3 and [r.attribute for r in cal.cv.rows] == ATTRS
    assert cal.training.n_contexts == 30 and "default hygiene" in cal.training.description
    maps = get_calibration(store, mid)
    assert maps.kind == "rater_maps" and len(maps.maps) == 4 * 7 and maps.council is None
    again = fit_and_store_calibration(store, dataset="syn", method="ridge-mm", cv=3, seed=0)
    assert get_calibration(store, again.calibration_id).version == 2
    assert again.cv == cal.cv  # same data, folds and seed: same CV table
    names = [(c.name, c.version) for c in list_calibrations(store)]
    assert ("syn-ridge-mm", 2) in names and ("syn-ridge-mm", 1) in names and ("syn-linear", 1) in names


def test_other_owners_cannot_read_or_use_it(cal_store) -> None:
    store, cid, _ = cal_store
    with pytest.raises(NotFoundError) as e:
        get_calibration(store, cid, owner="key-b")
    assert e.value.field == "calibration_id"
    assert list_calibrations(store, owner="key-b") == []
    with pytest.raises(NotFoundError):
        fit_and_store_calibration(store, dataset="syn", owner="key-b")
    with pytest.raises(NotFoundError):  # prepare_batch checks the calibration under the batch's owner
        stored_batch(store, JUDGES, seeded_score(), calibration_id=cid, owner="key-b")


def test_council_calibration_applies_beside_raw_scores(cal_store) -> None:
    store, cid, _ = cal_store
    batch_id, *_ = stored_batch(store, JUDGES, seeded_score(3), calibration_id=cid)
    before = council_scores(store, batch_id)
    assert before.calibrated_score.isna().all()
    rec = apply_calibration_to_batch(store, batch_id, cid)
    assert (
        rec.kind == "council"
        and rec.n_written == 4 * 3 * 7
        and rec.n_missing == 0
        and rec.judges_ignored == []
    )
    after = council_scores(store, batch_id)
    assert after.score.equals(before.score)  # raw council scores untouched
    assert after.calibrated_score.notna().all()  # attributes and both composites
    expected = apply_calibration(
        get_calibration(store, cid).council, ratings_frame(store, batch_id=batch_id)
    ).frame
    got = after[after.attribute.isin(ATTRS)].assign(target=lambda d: d.item_id + ":" + d.candidate_id)
    merged = got.merge(expected, on=["target", "attribute"])
    assert len(merged) == 4 * 3 * 7 and np.allclose(merged.calibrated_score, merged.score_y)
    applied = store.query(
        "SELECT calibration_id FROM calibration_applications WHERE batch_id = ?", [batch_id]
    )
    assert applied.calibration_id.tolist() == [cid]


def test_rater_maps_write_judgment_level_calibrated_scores(cal_store) -> None:
    store, cid, mid = cal_store
    batch_id, *_ = stored_batch(store, [*JUDGES, "extra-judge"], seeded_score(4))
    apply_calibration_to_batch(store, batch_id, cid)
    rec = apply_calibration_to_batch(store, batch_id, mid)  # replaces the council calibration
    assert (
        rec.kind == "rater_maps" and rec.judges_ignored == ["extra-judge"] and rec.n_written == 4 * 4 * 3 * 7
    )
    judges = judge_scores(store, batch_id)
    mapped = judges[judges.judge_id.isin(JUDGES) & judges.attribute.isin(ATTRS)]
    assert mapped.calibrated_score.notna().all() and mapped.score.notna().all()
    assert judges[judges.judge_id == "extra-judge"].calibrated_score.isna().all()
    council = council_scores(store, batch_id).set_index(["item_id", "candidate_id", "attribute"])
    mean = mapped.groupby(["item_id", "candidate_id", "attribute"]).calibrated_score.mean()
    assert np.allclose(council.loc[mean.index, "calibrated_score"], mean)  # council = mean of mapped judges
    assert (
        store.query("SELECT count(*) AS n FROM council_calibrated WHERE batch_id = ?", [batch_id]).n[0] == 0
    )


def test_mismatched_councils_are_refused_naming_the_missing_judges(cal_store) -> None:
    store, cid, _ = cal_store
    with pytest.raises(CalibrationMismatchError) as e:
        prepare_batch(
            store,
            small_batch(),
            load_protocol("mentalalign-7"),
            council_of(["gpt-4o", "my-judge"], calibration_id=cid),
        )
    assert (
        e.value.field == "calibration_id"
        and "o4-mini" in str(e.value)
        and "claude-3-7-sonnet" in str(e.value)
    )
    with pytest.raises(NotFoundError, match="cal_nope"):
        prepare_batch(
            store,
            small_batch(),
            load_protocol("mentalalign-7"),
            council_of(JUDGES, calibration_id="cal_nope"),
        )
    with pytest.raises(CalibrationMismatchError, match="attributes"):  # right judges, other rubric
        prepare_batch(store, small_batch(), load_protocol("epitome"), council_of(JUDGES, calibration_id=cid))
    other, *_ = stored_batch(store, ["ja", "jb"], seeded_score())
    with pytest.raises(CalibrationMismatchError, match="lacks"):
        apply_calibration_to_batch(store, other, cid)
    with pytest.raises(NotFoundError):
        apply_calibration_to_batch(store, other, cid, owner="key-b")


class _FakeExecutor:
    """Returns synthetic judgments instead of calling an LLM."""

    async def judge_context(self, judge, context, candidates, protocol, tags):
        item = next(i for i in small_batch().items if i.id == context.id)
        return judgment(judge.id, item, protocol, seeded_score(5))


async def test_run_batch_applies_the_councils_calibration_at_the_end(cal_store) -> None:
    store, cid, _ = cal_store
    batch, protocol, council = (
        small_batch(),
        load_protocol("mentalalign-7"),
        council_of(JUDGES, calibration_id=cid),
    )
    batch_id = prepare_batch(store, batch, protocol, council)
    summary = await run_batch(store, batch_id, batch, protocol, council, _FakeExecutor())
    assert summary.status == "completed" and summary.judgments == 4 * 4 * 3 * 7
    scores = council_scores(store, batch_id)
    assert scores.score.notna().all() and scores.calibrated_score.notna().all()
    cal = pd.DataFrame(store.query("SELECT * FROM council_calibrated WHERE batch_id = ?", [batch_id]))
    assert len(cal) == 4 * 3 * 7 and set(cal.calibration_id) == {cid}


def test_cli_lists_and_shows_calibrations(cli, tmp_path) -> None:
    store = Store(tmp_path / "cli.duckdb")
    _synthetic_dataset(store, tmp_path)
    cid = fit_and_store_calibration(store, dataset="syn", cv=3).calibration_id
    store.close()  # the CLI opens the file itself
    path = str(tmp_path / "cli.duckdb")
    code, out, _ = cli("calibrations", "list", "--db", path)
    assert code == 0 and cid in out and "syn-ridge-mm v1" in out
    code, out, _ = cli("calibrations", "show", cid, "--db", path)
    assert code == 0 and "calibr." in out and "gain" in out
    code, _, err = cli("calibrations", "show", "cal_nope", "--db", path)
    assert code == 2 and "calibration_id" in err
    code, out, _ = cli(
        "calibrate", "--dataset", "syn", "--method", "isotonic", "--cv", "3", "--json", "--db", path
    )
    res = json.loads(out)
    assert code == 0 and res["kind"] == "rater_maps" and len(res["rows"]) == 7 and res["version"] == 1
