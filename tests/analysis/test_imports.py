"""Importing rating files into datasets and onto batches: counts, storage, read-time hygiene, field errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from council.analysis import AnalysisError, NotFoundError, get_dataset, import_ratings_file, ratings_frame
from council.store.store import Store
from tests.analysis.helpers import seeded_score, stored_batch

# 3 targets x 2 raters x 2 attributes = 12 cells. Per rater x attribute (worked out by hand):
#   ann/empathy: 4, "" (blank), 6 (out of scale)       -> kept 1, blank 1, out_of_scale 1
#   ann/safety:  0 (out of scale), NA (blank), 3       -> kept 1, blank 1, out_of_scale 1
#   bob/empathy: 5, abc (non-numeric), 2.5             -> kept 2, non_numeric 1
#   bob/safety:  1, 2, 3                               -> kept 3
SMALL_CSV = """target,context,responder,rater,attribute,score
t1,c1,m1,ann,empathy,4
t2,c1,m2,ann,empathy,
t3,c2,m1,ann,empathy,6
t1,c1,m1,ann,safety,0
t2,c1,m2,ann,safety,NA
t3,c2,m1,ann,safety,3
t1,c1,m1,bob,empathy,5
t2,c1,m2,bob,empathy,abc
t3,c2,m1,bob,empathy,2.5
t1,c1,m1,bob,safety,1
t2,c1,m2,bob,safety,2
t3,c2,m1,bob,safety,3
"""


def _counts(rec):
    return {
        (c.rater, c.attribute): (c.kept, c.blank, c.out_of_scale, c.out_of_scale_kept, c.non_numeric)
        for c in rec.report.counts
    }


def test_report_counts_blank_and_out_of_scale(tmp_path) -> None:
    path = tmp_path / "small.csv"
    path.write_text(SMALL_CSV)
    store = Store(tmp_path / "s.duckdb")
    rec = import_ratings_file(
        store,
        path,
        dataset="mini",
        columns=None,
        owner="local",
        families={"bob": "openai"},
        description="hand-written",
    )
    assert _counts(rec) == {
        ("ann", "empathy"): (1, 1, 1, 0, 0),
        ("ann", "safety"): (1, 1, 1, 0, 0),
        ("bob", "empathy"): (2, 0, 0, 0, 1),
        ("bob", "safety"): (3, 0, 0, 0, 0),
    }
    assert rec.n_ratings == 12 and rec.raters == ["ann", "bob"]
    paper = import_ratings_file(
        store, path, dataset="mini", paper_compatible=True, families={"bob": "openai"}
    )
    assert _counts(paper)[("ann", "empathy")] == (1, 1, 0, 1, 0)  # the 6 is kept as given
    store.close()
    store = Store(tmp_path / "s.duckdb")  # a real file, reopened
    default = ratings_frame(store, dataset="mini")
    as_given = ratings_frame(store, dataset="mini", paper_compatible=True)
    ann = lambda df: df[(df.rater == "ann") & (df.attribute == "empathy")].score.tolist()  # noqa: E731
    assert ann(default)[0] == 4 and np.isnan(ann(default)[1]) and np.isnan(ann(default)[2])
    assert ann(as_given)[2] == 6
    assert set(default.target) == {"mini:t1", "mini:t2", "mini:t3"} and len(default) == 12
    fam = default.drop_duplicates("rater").set_index("rater").rater_family.to_dict()
    assert fam == {"ann": "human", "bob": "openai"}
    info = get_dataset(store, "mini")
    assert (
        info.attributes == ["empathy", "safety"]
        and info.scale == (1, 5)
        and info.description == "hand-written"
    )
    assert store.query("SELECT count(*) AS n FROM ratings").n[0] == 12  # the re-import replaced, not added
    assert store.query("SELECT count(*) AS n FROM imports").n[0] == 2
    store.close()


def test_wide_jsonl_bytes_onto_a_batch(tmp_path) -> None:
    """Wide JSONL uploaded as bytes, keyed by item_id and candidate_id; empty responses dropped by default."""
    store = Store(tmp_path / "s.duckdb")
    batch_id, batch, _, _ = stored_batch(store, ["ja", "jb"], seeded_score(1, 0, 2), protocol_id="epitome")
    lines = [
        {
            "item_id": "i0",
            "candidate_id": "c0",
            "emotional_reactions": 2,
            "interpretations": 1,
            "explorations": 0,
            "empty": False,
        },
        {
            "item_id": "i0",
            "candidate_id": "c1",
            "emotional_reactions": 3,
            "interpretations": None,
            "explorations": 1,
            "empty": False,
        },
        {
            "item_id": "i1",
            "candidate_id": "c0",
            "emotional_reactions": 0,
            "interpretations": 0,
            "explorations": 0,
            "empty": True,
        },
    ]
    data = "\n".join(json.dumps(x) for x in lines).encode()
    from council.ratings import Columns

    rec = import_ratings_file(
        store,
        data,
        batch_id=batch_id,
        fmt="jsonl",
        layout="wide",
        rater="rater_1",
        attributes=["emotional_reactions", "interpretations", "explorations"],
        columns=Columns(target=["item_id", "candidate_id"], empty_flag="empty"),
    )
    c = {(x.rater, x.attribute): x for x in rec.report.counts}
    assert c[("rater_1", "emotional_reactions")].out_of_scale == 1  # 3 on a 0-2 scale
    assert c[("rater_1", "interpretations")].blank == 1
    assert rec.report.n_items_dropped == {"empty_response": 1} and rec.excluded_targets == {
        "empty_response": 1
    }
    df = ratings_frame(store, batch_id=batch_id)
    human = df[df.rater == "rater_1"]
    assert set(human.target) == {"i0:c0", "i0:c1"} and human.length.notna().all()
    assert set(df.rater) == {"ja", "jb", "rater_1"} and len(df[df.rater == "ja"]) == 4 * 3 * 3
    assert (
        len(ratings_frame(store, batch_id=batch_id, paper_compatible=True).query("rater == 'rater_1'")) == 9
    )
    store.close()


def test_errors_name_the_field(tmp_path) -> None:
    store = Store()
    path = tmp_path / "small.csv"
    path.write_text(SMALL_CSV)
    batch_id, *_ = stored_batch(store, ["ja", "jb"], seeded_score(), protocol_id="epitome")
    with pytest.raises(AnalysisError) as e:
        import_ratings_file(store, path, batch_id=batch_id)
    assert e.value.field == "attribute"  # empathy/safety are not epitome attributes
    bad = tmp_path / "bad.csv"
    bad.write_text("target,rater,attribute,score\nnope:c0,ann,explorations,1\n")
    with pytest.raises(AnalysisError) as e:
        import_ratings_file(store, bad, batch_id=batch_id)
    assert e.value.field == "target" and "nope:c0" in str(e.value)
    clash = tmp_path / "clash.csv"
    clash.write_text("target,rater,attribute,score\ni0:c0,ja,explorations,1\n")
    with pytest.raises(AnalysisError, match="rater"):
        import_ratings_file(store, clash, batch_id=batch_id)
    with pytest.raises(AnalysisError) as e:
        import_ratings_file(store, path, dataset="d", columns=None, layout="wide")
    assert e.value.field == "columns"
    with pytest.raises(AnalysisError) as e:
        import_ratings_file(store, path, dataset="d", batch_id=batch_id)
    assert e.value.field == "dataset"
    with pytest.raises(AnalysisError) as e:
        import_ratings_file(store, b"x", dataset="d")
    assert e.value.field == "format"
    with pytest.raises(NotFoundError):
        import_ratings_file(store, path, batch_id=batch_id, owner="someone-else")
    with pytest.raises(AnalysisError) as e:
        import_ratings_file(store, path, dataset="p", protocol="epitome")
    assert e.value.field == "attribute"
