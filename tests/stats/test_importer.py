"""Importer: every cell counted exactly once; hygiene options; long and wide layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from council.ratings import Columns, Hygiene, import_ratings

DATA = Path(__file__).resolve().parents[1] / "data"
LONG_COLS = Columns(
    target=["item", "candidate"],
    rater="annotator",
    attribute="dimension",
    score="value",
    context="conv",
    empty_flag="empty",
)


def _counts(report) -> dict[tuple[str, str], dict[str, int]]:
    return {(c.rater, c.attribute): c.model_dump(exclude={"rater", "attribute"}) for c in report.counts}


def test_long_csv_default_hygiene() -> None:
    """Counts derived by hand from tests/data/ratings_long.csv (see SOURCES.csv)."""
    frame, report = import_ratings(DATA / "ratings_long.csv", columns=LONG_COLS)
    c = _counts(report)
    z = dict.fromkeys(
        ("kept", "out_of_scale", "out_of_scale_kept", "blank", "non_numeric", "dropped_item"), 0
    )
    assert c[("ann1", "empathy")] == {**z, "kept": 1, "out_of_scale": 1, "dropped_item": 1}
    assert c[("ann1", "safety")] == {**z, "kept": 1, "out_of_scale": 1, "dropped_item": 1}
    assert c[("ann2", "empathy")] == {**z, "kept": 1, "non_numeric": 1, "dropped_item": 1}
    assert c[("ann2", "safety")] == {**z, "blank": 2, "dropped_item": 1}
    assert sum(x.total for x in report.counts) == 12
    assert report.n_items_dropped == {"empty_response": 1} and report.n_items == 2
    assert set(frame["target"]) == {"1:a", "1:b"} and set(frame["attribute"]) == {"empathy", "safety"}
    assert frame["score"].notna().sum() == 3 and len(frame) == 8  # missing ratings stay as NaN rows


def test_long_csv_paper_compatible_keeps_everything() -> None:
    frame, report = import_ratings(
        DATA / "ratings_long.csv", columns=LONG_COLS, dataset="toy", hygiene=Hygiene(paper_compatible=True)
    )
    c = _counts(report)
    assert c[("ann1", "empathy")]["out_of_scale_kept"] == 1 and c[("ann1", "empathy")]["kept"] == 2
    assert c[("ann2", "empathy")]["kept"] == 2  # 3 and 2.5
    assert report.n_items_dropped == {} and report.n_items == 3
    assert sorted(frame["score"].dropna()) == [0.0, 1.0, 2.0, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0]
    assert frame["target"].str.startswith("toy:").all()


def test_wide_jsonl() -> None:
    frame, report = import_ratings(
        DATA / "ratings_wide.jsonl",
        layout="wide",
        attributes=["Empathy", "Guidance"],
        columns=Columns(target="id", rater="rater", context="conv", length="length"),
    )
    c = _counts(report)
    assert (c[("gpt-4o", "empathy")]["kept"], c[("gpt-4o", "empathy")]["blank"]) == (1, 1)
    assert c[("gpt-4o", "empathy")]["out_of_scale"] == 1
    assert (c[("gpt-4o", "guidance")]["kept"], c[("gpt-4o", "guidance")]["non_numeric"]) == (2, 1)
    assert c[("human_1", "guidance")]["kept"] == 1
    assert frame["length"].dtype.kind in "if" and set(frame["attribute"]) == {"empathy", "guidance"}
    keep = import_ratings(
        DATA / "ratings_wide.jsonl",
        layout="wide",
        attributes={"Empathy": "empathy"},
        columns=Columns(target="id"),
        hygiene=Hygiene(out_of_scale="keep"),
    )
    assert 7.0 in set(keep.frame["score"])


def test_constant_rater_and_errors(tmp_path: Path) -> None:
    p = tmp_path / "h.csv"
    p.write_text("cid,Empathy\nx1,4\nx2,null\n")
    frame, report = import_ratings(
        p,
        layout="wide",
        attributes=["Empathy"],
        columns=Columns(target="cid", rater=None),
        rater="human_expert",
    )
    assert list(frame["rater"].unique()) == ["human_expert"] and np.isnan(frame["score"].iloc[1])
    assert report.counts[0].blank == 1
    with pytest.raises(ValueError):
        import_ratings(p, layout="wide", attributes=["Empathy"], columns=Columns(target="cid", rater=None))
    with pytest.raises(ValueError):
        import_ratings(p, layout="diagonal", columns=Columns(target="cid", rater=None), rater="h")
    with pytest.raises(ValueError):
        import_ratings(
            p, layout="wide", attributes=["Empathy"], columns=Columns(target="nope", rater=None), rater="h"
        )
    with pytest.raises(ValueError):
        import_ratings(tmp_path / "h.txt", columns=Columns(target="cid"))
