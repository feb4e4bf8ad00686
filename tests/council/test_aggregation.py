"""Council aggregation in the store's SQL views: mean, median, trimmed mean, strict majority, quorum, spread."""

import math

import pytest

from council.store.store import Store
from tests.council.helpers import council, store_scores


def council_rows(store, batch_id):
    df = store.query("SELECT * FROM council_scores WHERE batch_id = ? ORDER BY attribute_id", [batch_id])
    return {r.attribute_id: r for r in df.itertuples()}


@pytest.fixture
def store():
    s = Store(":memory:")
    yield s
    s.close()


# epitome attributes sorted by id: emotional_reactions, explorations, interpretations
def test_mean_median_and_spread(store):
    spec = council(4, aggregation="mean")
    bid = store_scores(store, spec, {"j0": [0, 1, 2], "j1": [1, 1, 2], "j2": [2, 1, 0], "j3": [2, 2, 2]})
    rows = council_rows(store, bid)
    er = rows["emotional_reactions"]  # 0, 1, 2, 2
    assert er.mean == pytest.approx(1.25) and er.score == pytest.approx(1.25)
    assert er.median == pytest.approx(1.5)
    assert er.spread == 2 and er.n_scored == 4 and er.n_judges == 4 and er.status == "ok"
    assert er.sd == pytest.approx(0.9574271077563381)  # sample SD of 0, 1, 2, 2


def test_trimmed_mean_cuts_floor_n_times_trim_from_each_end(store):
    spec = council(5, aggregation="trimmed_mean", trim=0.2)
    bid = store_scores(store, spec, {"j0": [0, 0, 0], "j1": [1, 2, 2], "j2": [2, 2, 2], "j3": [2, 2, 2],
                                     "j4": [2, 1, 0]})
    er = council_rows(store, bid)["emotional_reactions"]  # 0,1,2,2,2 → cut one each end → 1,2,2
    assert er.trimmed_mean == pytest.approx(5 / 3) and er.score == pytest.approx(5 / 3)
    assert er.mean == pytest.approx(7 / 5)


def test_strict_majority_needs_more_than_half(store):
    spec = council(4, aggregation="majority")
    bid = store_scores(store, spec, {"j0": [2, 1, 0], "j1": [2, 1, 0], "j2": [2, 2, 1], "j3": [1, 2, 2]})
    rows = council_rows(store, bid)
    assert rows["emotional_reactions"].score == 2 and rows["emotional_reactions"].status == "ok"  # 3 of 4
    assert rows["explorations"].score is None or math.isnan(rows["explorations"].score)  # 2 of 4 is a tie
    assert rows["explorations"].status == "no_majority"
    assert rows["interpretations"].status == "no_majority"  # 0, 0, 1, 2: 2 of 4 is not more than half


def test_abstentions_excluded_and_quorum_gives_no_consensus(store):
    spec = council(3, aggregation="median", quorum=2)
    bid = store_scores(store, spec, {"j0": [2, None, None], "j1": [0, None, 1], "j2": [None, 1, None]})
    rows = council_rows(store, bid)
    er = rows["emotional_reactions"]
    assert er.n_scored == 2 and er.median == pytest.approx(1.0) and er.score == pytest.approx(1.0)
    ex = rows["explorations"]
    assert ex.n_scored == 1 and ex.status == "no_consensus"
    assert ex.score is None or math.isnan(ex.score)  # never a number below quorum
    assert ex.mean == pytest.approx(1.0)  # the lone score is still visible, just not the council's


def test_default_quorum_is_half_the_council_rounded_up():
    assert council(1).effective_quorum == 1
    assert council(2).effective_quorum == 1
    assert council(3).effective_quorum == 2
    assert council(4).effective_quorum == 2
    with pytest.raises(ValueError, match="quorum"):
        council(2, quorum=3)


def test_composites_need_every_member(store):
    spec = council(1, aggregation="mean")
    bid = store_scores(store, spec, {"j0": [2, None, 1]})
    comps = store.query("SELECT composite, score FROM council_composites WHERE batch_id = ?", [bid])
    by_name = dict(zip(comps.composite, comps.score, strict=True))
    assert by_name["affective"] == pytest.approx(2.0)  # emotional_reactions only
    assert by_name["cognitive"] is None or math.isnan(by_name["cognitive"])  # explorations abstained


def test_samples_are_averaged_per_judge_first(store):
    spec = council(2, aggregation="mean")
    bid = store_scores(store, spec, {"j0": [0, 0, 0], "j1": [2, 2, 2]})
    # a second sample of j0 scoring 2 makes j0's score 1; the council mean is then (1 + 2) / 2
    store.db.execute("""INSERT INTO judgments SELECT batch_id, item_id, candidate_id, judge_id, attribute_id, 1,
                        2.0, NULL, '', '', NULL, '', protocol_hash, run_id, created_at, NULL, NULL
                        FROM judgments WHERE judge_id = 'j0'""")
    er = council_rows(store, bid)["emotional_reactions"]
    assert er.mean == pytest.approx(1.5)
