"""Items page with probability-weighted scores: the service view carries confidence and distribution, the page
shows ``3.42 (c .61)`` and ``1:.05 2:.20 …`` (no Ray, no HTTP; the full page runs in test_pages/test_browser).

The data are real: :func:`tests.council.expected.store_three_judges` writes judgments to a DuckDB file and
:func:`council.service.views_items.batch_item` reads them as ``GET /v1/views/items/{id}`` would. The
AppTest below draws one item's candidates with the page's own code, its client answering from that view.
"""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from council.service.views_items import batch_item
from council.store.store import Store
from dashboard.views.items import distribution_text, score_table, score_text
from tests.council.expected import C1, C2, ER, INT, store_three_judges


@pytest.fixture
def item(tmp_path):
    path = tmp_path / "items.duckdb"
    store = Store(path)
    batch_id = store_three_judges(store)
    detail = batch_item(store, "local", batch_id, "i1")
    store.close()
    return path, batch_id, detail


def test_the_item_view_carries_confidence_and_distribution(item) -> None:
    _, _, d = item
    j = {(r["judge_id"], r["attribute"], r["sample"]): r for r in d["judgments"]}
    assert j[("j0", ER, 0)]["confidence"] == pytest.approx(C1)
    assert j[("j0", ER, 1)]["distribution"] == pytest.approx({"0": .05, "1": .15, "2": .8})
    assert j[("j2", ER, 0)]["confidence"] is None and j[("j2", ER, 0)]["distribution"] is None
    council = {r["attribute"]: r for r in d["council"]}
    assert council[ER]["confidence"] == pytest.approx(((C1 + C2) / 2 + C2) / 2)


def test_score_cells_and_distribution_text(item) -> None:
    _, _, d = item
    assert score_text(4.0) == "4" and score_text(3.4166, 0.6149) == "3.42 (c .61)" and score_text(None) == "-"
    assert score_text(2.0, 1.0) == "2 (c 1.00)"
    assert distribution_text({"2": 0.5, "1": 0.2, "10": 0.3}) == "1:.20 2:.50 10:.30"
    assert distribution_text(None) == ""
    cj = pd.DataFrame(d["judgments"])
    cc = pd.DataFrame(d["council"]).set_index("attribute")
    wide = score_table(cj, cc).set_index("attribute")
    assert list(wide.columns) == ["j0", "j1", "j2", "council", "spread"]
    assert wide.loc[ER, "j0"] == "1.62 (c .31)"  # mean of the two samples, mean confidence
    assert wide.loc[ER, "j2"] == "2" and wide.loc[INT, "j1"] == "-"
    assert wide.loc[ER, "council"] == "1.79 (c .38)" and wide.loc[ER, "spread"] == pytest.approx(0.375)


def _draw(path: str, batch_id: str) -> None:
    from council.service.views_items import batch_item as view
    from council.store.store import Store as DuckStore
    from dashboard.views.items import _batch_item

    class StoreClient:
        """Answers ``item()`` from the service's view function over the store file."""

        def item(self, scope: dict[str, str], item_id: str) -> dict:
            store = DuckStore(path)
            try:
                return view(store, "local", scope["batch_id"], item_id)
            finally:
                store.close()

    _batch_item(StoreClient(), {"batch_id": batch_id}, "i1")  # type: ignore[arg-type]


def test_the_page_draws_confidence_next_to_each_score(item) -> None:
    path, batch_id, _ = item
    at = AppTest.from_function(_draw, args=(str(path), batch_id), default_timeout=60).run()
    assert not at.exception
    frames = [f.value for f in at.dataframe]
    wide = next(f for f in frames if "council" in f.columns)
    values = wide.data if hasattr(wide, "data") else wide  # a Styler (shaded rows) or a frame
    assert "1.62 (c .31)" in set(values["j0"]) and "1.79 (c .38)" in set(values["council"])
    rows = next(f for f in frames if "distribution" in f.columns)
    j0 = rows[(rows.judge_id == "j0") & (rows.attribute == ER)]
    assert j0.distribution.tolist() == ["0:.10 1:.30 2:.60", "0:.05 1:.15 2:.80"]
    assert j0.confidence.tolist() == pytest.approx([C1, C2])
    assert any("expected score over the scale points" in c.value for c in at.caption)
