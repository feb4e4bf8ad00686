"""Fractional judge scores (``scoring: expected``) through agreement, bias and calibration of a batch.

A mentalalign-7 batch (scale 1–5) of 12 contexts × 3 candidates on a real DuckDB file. The human expert
gives integers; three judges give the expected value of a distribution over 1..5 centred on the human
score plus their bias (ja +0.8, jb +0.3, jc −0.2) plus per-cell noise, so every judge score is
fractional (e.g. 3.42). The numbers are checked against direct computations on the same values:

- statistics that need categories (quadratic κ, ceiling rates) round half up to the nearest scale point
  and say how many values they rounded in ``extra['rounded']``;
- everything else (α, bias, ICC, calibration maps) uses the fractional values as they are.
"""

from __future__ import annotations

import hashlib
import math

import krippendorff
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from council.analysis import apply_calibration_to_batch, get_calibration, import_ratings_file, run_agreement
from council.analysis.calibrate import fit_and_store_calibration
from council.results import council_scores, judge_scores
from council.run import prepare_batch
from council.store.store import Store
from protocols import load_protocol
from tests.analysis.helpers import council_of, small_batch
from tests.council.expected import context_judgment, expected_score

JUDGES = {"ja": 0.8, "jb": 0.3, "jc": -0.2}
N_ITEMS, N_CANDS = 12, 3


def _u(*key: object) -> float:
    """A deterministic uniform in [0, 1) keyed by ``key``."""
    return int.from_bytes(hashlib.sha256("|".join(map(str, key)).encode()).digest()[:4], "big") / 2**32


def human(item: str, cand: str, attr: str) -> int:
    return 1 + int(_u("human", item, cand, attr) * 5)


def weights(judge: str, item: str, cand: str, attr: str) -> dict[int, float]:
    centre = human(item, cand, attr) + JUDGES[judge] + 1.4 * (_u(judge, item, cand, attr) - 0.5)
    return {k: math.exp(-((k - centre) ** 2) / (2 * 0.8**2)) for k in range(1, 6)}


def judge_score(judge: str, item: str, cand: str, attr: str) -> float:
    return float(expected_score(attr, weights(judge, item, cand, attr), 5).score)  # type: ignore[arg-type]


@pytest.fixture
def batch(tmp_path):
    store = Store(tmp_path / "fractional.duckdb")
    protocol, b = load_protocol("mentalalign-7"), small_batch(N_ITEMS, N_CANDS)
    batch_id = prepare_batch(store, b, protocol, council_of(list(JUDGES)))
    for item in b.items:
        for j in JUDGES:
            samples = {c.id: [[expected_score(a, weights(j, item.id, c.id, a), 5) for a in protocol.attribute_ids]]
                       for c in item.candidates}
            store.save_context_judgment(batch_id, "r_test", context_judgment(j, item.id, samples), protocol)
    rows = [(i.id, c.id, "human_expert", a, human(i.id, c.id, a))
            for i in b.items for c in i.candidates for a in protocol.attribute_ids]
    path = tmp_path / "human.csv"
    pd.DataFrame(rows, columns=["item_id", "candidate_id", "rater", "attribute", "score"]).to_csv(path, index=False)
    import_ratings_file(store, path, batch_id=batch_id)
    yield store, batch_id, b
    store.close()


def _pairs(b, judge: str, attr: str) -> tuple[np.ndarray, np.ndarray]:
    cells = [(i.id, c.id) for i in b.items for c in i.candidates]
    return (np.array([human(i, c, attr) for i, c in cells], float),
            np.array([judge_score(judge, i, c, attr) for i, c in cells]))


def _half_up(a: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(a + 0.5), 1, 5).astype(int)


def test_stored_judge_scores_are_fractional_with_confidence(batch) -> None:
    store, batch_id, _ = batch
    j = judge_scores(store, batch_id)
    attrs = j[j.attribute == "empathy"].sort_values(["item_id", "candidate_id", "judge_id"])
    assert (attrs.score != attrs.score.round()).all()  # no judge score is a scale point
    assert attrs.confidence.between(0, 1).all() and attrs.distribution.map(len).eq(5).all()
    ja = attrs[attrs.judge_id == "ja"]
    y = [judge_score("ja", i, c, "empathy") for i, c in zip(ja.item_id, ja.candidate_id, strict=True)]
    assert np.allclose(ja.score.to_numpy(), y, rtol=0, atol=1e-12)


def test_agreement_rounds_only_for_kappa_and_ceiling_and_says_so(batch) -> None:
    store, batch_id, b = batch
    _, records = run_agreement(store, batch_id=batch_id)
    rec = {(r.rater, r.attribute, r.statistic): r for r in records if r.reference == "human_expert"}
    n = N_ITEMS * N_CANDS
    x, y = _pairs(b, "ja", "empathy")

    qwk = rec[("ja", "empathy", "qwk")]
    expected_k = cohen_kappa_score(x.astype(int), _half_up(y), labels=[1, 2, 3, 4, 5], weights="quadratic")
    assert qwk.value == pytest.approx(expected_k, abs=1e-12) and qwk.n == n
    assert qwk.extra["rounded"] == n  # every judge value was rounded; the human integers were not

    alpha = rec[("ja", "empathy", "krippendorff_alpha_interval")]
    on_values = krippendorff.alpha(reliability_data=np.vstack([x, y]), level_of_measurement="interval")
    on_rounded = krippendorff.alpha(reliability_data=np.vstack([x, _half_up(y)]), level_of_measurement="interval")
    assert alpha.value == pytest.approx(on_values, abs=1e-10) and abs(on_values - on_rounded) > 1e-3

    bias = rec[("ja", "empathy", "bias")]
    assert bias.value == pytest.approx(float(np.mean(y - x)), abs=1e-12) and bias.value > 0.4

    ceiling = rec[("ja", "empathy", "ceiling_rate_rater")]
    hits = int((_half_up(y) == 5).sum())
    assert (y >= 5).sum() == 0 < hits  # counting exact 5s only would report no ceiling at all
    assert ceiling.value == pytest.approx(hits / n) and ceiling.extra == {"top": 5.0, "count": hits, "rounded": n}
    reference = rec[("ja", "empathy", "ceiling_rate_reference")]
    assert reference.extra["rounded"] == 0 and reference.value == pytest.approx(float((x == 5).mean()))

    council_qwk = rec[("council", "empathy", "qwk")]
    assert council_qwk.extra["rounded"] > 0 and not math.isnan(council_qwk.value)


def test_calibration_fits_and_applies_on_fractional_scores(batch) -> None:
    store, batch_id, b = batch
    fit = fit_and_store_calibration(store, batch_id=batch_id, method="linear", cv=3, seed=0)
    cal = get_calibration(store, fit.calibration_id)
    assert cal.kind == "rater_maps" and len(cal.maps) == len(JUDGES) * 7
    x, y = _pairs(b, "ja", "empathy")
    m = next(m for m in cal.maps if (m.rater, m.attribute) == ("ja", "empathy"))
    slope, intercept = np.polyfit(y, x, 1)  # OLS of the human on the fractional judge scores
    assert m.params["slope"] == pytest.approx(slope, abs=1e-9) and m.params["intercept"] == pytest.approx(intercept,
                                                                                                         abs=1e-9)
    assert all(math.isfinite(r.calibrated_icc_a1) for r in fit.cv.rows) and len(fit.cv.rows) == 7

    rec = apply_calibration_to_batch(store, batch_id, fit.calibration_id)
    assert rec.kind == "rater_maps" and rec.n_missing == 0
    j = judge_scores(store, batch_id)
    ja = j[(j.judge_id == "ja") & (j.attribute == "empathy")]
    raw = np.array([judge_score("ja", i, c, "empathy") for i, c in zip(ja.item_id, ja.candidate_id, strict=True)])
    assert np.allclose(ja.calibrated_score.to_numpy(), np.clip(intercept + slope * raw, 1, 5), atol=1e-9)
    assert ja.calibrated_score.nunique() > 5  # a continuous map of continuous scores, not 5 scale points

    council = fit_and_store_calibration(store, batch_id=batch_id, method="ridge-mm", cv=3, seed=0)
    assert council.cv.method.startswith("ridge-mm") and all(math.isfinite(r.calibrated_mae) for r in council.cv.rows)
    apply_calibration_to_batch(store, batch_id, council.calibration_id)
    scores = council_scores(store, batch_id)
    assert scores.calibrated_score.between(1, 5).all() and scores.confidence.between(0, 1).all()
