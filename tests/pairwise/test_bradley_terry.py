"""Bradley–Terry MLE against published values and an independent logistic-regression fit.

Reference: Agresti (2002), Categorical Data Analysis, 2nd ed., §10.6, 1987 American League East baseball
(Table 10.10 data, Table 10.11 estimates); the 4-decimal values are BradleyTerry2's BTm() output for the
same data (see tests/data/SOURCES.csv). The home team plays the role of the first-shown candidate.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from council.pairwise.bradley_terry import bradley_terry, win_rates

DATA = Path(__file__).parents[1] / "data" / "agresti_baseball_1987.csv"

# Baltimore = 0, as in BTm's default reference level.
MODEL_1 = {"Boston": 1.1077, "Cleveland": 0.6839, "Detroit": 1.4364, "Milwaukee": 1.5814, "New York": 1.2476,
           "Toronto": 1.2945}
MODEL_2 = {"Boston": 1.1438, "Cleveland": 0.7047, "Detroit": 1.4754, "Milwaukee": 1.6196, "New York": 1.2813,
           "Toronto": 1.3271}


@pytest.fixture(scope="module")
def baseball():
    games = pd.read_csv(DATA)
    n = games["home_wins"] + games["away_wins"]
    return pd.DataFrame({"responder_a": games["home_team"], "responder_b": games["away_team"],
                         "score_a": games["home_wins"] / n, "weight": n})


def _relative_to_baltimore(fit):
    base = fit.strengths[fit.responders.index("Baltimore")]
    return {r: s - base for r, s in zip(fit.responders, fit.strengths, strict=True) if r != "Baltimore"}


def test_strengths_match_agresti_table_10_11(baseball):
    fit = bradley_terry(baseball)
    assert _relative_to_baltimore(fit) == pytest.approx(MODEL_1, abs=5e-5)
    assert fit.position_effect is None
    i, j = fit.responders.index("Boston"), fit.responders.index("Baltimore")
    contrast = np.zeros(len(fit.responders))
    contrast[[i, j]] = [1, -1]
    assert np.sqrt(contrast @ fit.covariance @ contrast) == pytest.approx(0.3339, abs=5e-5)


def test_home_advantage_model_matches_agresti(baseball):
    fit = bradley_terry(baseball, position_effect=True)
    assert _relative_to_baltimore(fit) == pytest.approx(MODEL_2, abs=5e-5)
    assert fit.position_effect == pytest.approx(0.3023, abs=5e-5)
    assert np.sqrt(fit.covariance[-1, -1]) == pytest.approx(0.1309, abs=5e-5)


def test_half_win_ties_match_an_unpenalised_sklearn_logistic_regression():
    rng = np.random.default_rng(11)
    names = [f"m{i}" for i in range(5)]
    strengths = np.array([0.8, 0.4, 0.0, -0.3, -0.9])
    a = rng.integers(0, 5, 600)
    b = (a + rng.integers(1, 5, 600)) % 5
    p = 1 / (1 + np.exp(-(strengths[a] - strengths[b])))
    u = rng.random(600)
    score = np.where(u < 0.15, 0.5, (rng.random(600) < p).astype(float))  # 15 % ties
    outcomes = pd.DataFrame({"responder_a": np.array(names)[a], "responder_b": np.array(names)[b], "score_a": score})
    ours = bradley_terry(outcomes)

    # Independent fit: design +1/−1, a tie as two half-weight rows (a won, a lost), responder m4 as reference.
    x = np.zeros((600, 5))
    x[np.arange(600), a] += 1
    x[np.arange(600), b] -= 1
    xx = np.vstack([x, x])[:, :4]
    yy = np.concatenate([np.ones(600), np.zeros(600)])
    ww = np.concatenate([score, 1 - score])
    keep = ww > 0
    model = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-10, max_iter=10_000)
    model.fit(xx[keep], yy[keep], sample_weight=ww[keep])
    theirs = np.append(model.coef_[0], 0.0)
    assert ours.strengths == pytest.approx(theirs - theirs.mean(), abs=1e-5)


def test_disconnected_comparisons_are_refused():
    outcomes = pd.DataFrame({"responder_a": ["a", "c"], "responder_b": ["b", "d"], "score_a": [1.0, 0.5]})
    with pytest.raises(ValueError, match="connect"):
        bradley_terry(outcomes)


def test_same_responder_pairs_carry_no_information_and_are_dropped():
    outcomes = pd.DataFrame({"responder_a": ["a", "a", "b"], "responder_b": ["b", "a", "a"],
                             "score_a": [1.0, 1.0, 0.5]})
    fit = bradley_terry(outcomes)
    # a scored 1 + 0.5 of 2 against b: σ(d) = 3/4, d = ln 3, centred ±ln(3)/2
    assert fit.strengths == pytest.approx([np.log(3) / 2, -np.log(3) / 2])


def test_win_rates_count_ties_as_halves():
    outcomes = pd.DataFrame({"responder_a": ["a", "b", "a"], "responder_b": ["b", "a", "c"],
                             "score_a": [1.0, 0.5, 0.0]})
    table = win_rates(outcomes).set_index(["responder", "opponent"])
    assert table.loc[("a", "b"), "win_rate"] == pytest.approx(0.75) and table.loc[("a", "b"), "n"] == 2
    assert table.loc[("b", "a"), "win_rate"] == pytest.approx(0.25)
    assert table.loc[("c", "a"), "win_rate"] == 1.0
