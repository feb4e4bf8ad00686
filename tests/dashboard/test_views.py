"""The service's dashboard views as plain functions (no Ray, no HTTP): leaderboard bootstrap, binning, caching.

Synthetic data with known answers; the HTTP path is covered by the AppTest and browser tests.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pandas as pd
import pytest

from council.analysis import import_ratings_file
from council.ratings import Columns
from council.service.views import ViewError, ViewsService
from council.service.views_stats import bland_altman_points, leaderboard, score_histograms
from council.store.store import Store


def frame(n_contexts: int = 60, gap: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """Three responders per context; 'strong' beats 'weak' by ``gap`` on average; 'twin' scores as 'weak'."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_contexts):
        base = rng.normal(3, 0.5)
        weak = base + rng.normal(0, 0.3)
        for responder, score in (("strong", base + gap + rng.normal(0, 0.3)), ("weak", weak), ("twin", weak)):
            rows.append({"target": f"{c}:{responder}", "rater": "council", "attribute": "empathy",
                         "score": score, "context": str(c), "responder": responder})
    return pd.DataFrame(rows)


def test_leaderboard_ranks_separates_and_is_seeded() -> None:
    board = leaderboard(frame(), "council", ["empathy"], n_boot=500, seed=1)
    assert board["responder"].iloc[0] == "strong" and board["rank"].tolist() == [1, 2, 3]
    assert (board["ci_low"] <= board["mean"]).all() and (board["mean"] <= board["ci_high"]).all()
    first, second = board.iloc[0], board.iloc[1]
    assert bool(first["separable_from_next"]) and first["diff_next_ci_low"] > 0.5
    assert not bool(second["separable_from_next"])  # weak vs twin: identical scores, the CI of the difference is [0, 0]
    assert pd.isna(board.iloc[2].get("separable_from_next"))  # the last rank has no neighbour below
    again = leaderboard(frame(), "council", ["empathy"], n_boot=500, seed=1)
    pd.testing.assert_frame_equal(board, again)


def test_bland_altman_points_count_every_pair_and_histograms_sum_to_one() -> None:
    rng = np.random.default_rng(2)
    n = 400
    human = rng.integers(1, 6, n).astype(float)
    judge = np.clip(human + rng.integers(-1, 2, n), 1, 5)
    df = pd.concat([pd.DataFrame({"target": [f"t{i}" for i in range(n)], "rater": r, "attribute": "empathy",
                                  "score": s}) for r, s in (("human", human), ("judge", judge))])
    pts = bland_altman_points(df, "human", ["judge"], ["empathy"])
    assert pts["n"].sum() == n
    diffs = judge - human
    assert np.isclose((pts["diff"] * pts["n"]).sum() / n, diffs.mean())
    hist = score_histograms(df, ["human", "judge"], ["empathy"])
    assert np.allclose(hist.groupby("rater")["share"].sum(), 1.0)
    assert set(hist["score"]) <= {1.0, 2.0, 3.0, 4.0, 5.0}


def _csv(raters: tuple[str, ...], mult: dict[str, int]) -> bytes:
    rows = "".join(f"t{i},{r},empathy,{(i * mult[r]) % 5 + 1},c{i // 3},m{i % 3}\n" for i in range(60) for r in raters)
    return ("target,rater,attribute,score,context,responder\n" + rows).encode()


def toy_store(path) -> Store:  # noqa: ANN001
    """A dataset 'toy': a human reference and two external judges on 60 responses (20 contexts x 3 models)."""
    store = Store(path)
    cols = Columns(context="context", responder="responder")
    import_ratings_file(store, _csv(("human",), {"human": 1}), dataset="toy", fmt="csv", kind="human",
                        protocol="mentalalign-7", columns=cols)
    import_ratings_file(store, _csv(("j1", "j2"), {"j1": 2, "j2": 3}), dataset="toy", fmt="csv", kind="external",
                        columns=cols)
    return store


def test_views_answer_errors_and_never_serve_stale_data(tmp_path) -> None:  # noqa: ANN001
    store = toy_store(tmp_path / "v.duckdb")
    service = ViewsService(store)

    async def run() -> None:
        first = await service.agreement("local", "toy", None)
        assert first["scope"]["reference"] == "human"
        again = await service.agreement("local", "toy", None)
        assert again["scope"]["data_version"] == first["scope"]["data_version"]
        # another owner does not see the dataset; a bad scope names its field
        missing = await service.agreement("bob", "toy", None)
        assert isinstance(missing, ViewError) and missing.status == 404 and missing.field == "dataset"
        both = await service.agreement("local", "toy", "b_1")
        assert isinstance(both, ViewError) and both.status == 422
        # new ratings change the data version: the next answer is recomputed, not served from the cache
        extra = "target,rater,attribute,score\n" + "".join(f"t{i},j3,empathy,3\n" for i in range(60))
        import_ratings_file(store, extra.encode(), dataset="toy", fmt="csv", kind="external",
                            columns=Columns(context=None))
        fresh = await service.agreement("local", "toy", None)
        assert fresh["scope"]["data_version"] != first["scope"]["data_version"]
        assert "j3" in fresh["scope"]["raters"] and "j3" not in first["scope"]["raters"]

    asyncio.run(run())
    store.close()


@pytest.mark.parametrize("view", ["bias", "leaderboard", "items"])
def test_other_views_on_a_small_dataset(tmp_path, view: str) -> None:  # noqa: ANN001
    store = toy_store(tmp_path / "v.duckdb")
    service = ViewsService(store)
    answer = asyncio.run(getattr(service, view)("local", "toy", None))
    assert not isinstance(answer, ViewError), answer
    assert answer.get("items") or answer.get("rows") or answer.get("histograms")
    store.close()
