"""ICC tests: published values (Shrout & Fleiss 1979) and the fast path against pingouin."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pingouin
import pytest

from council.stats.icc import ICC_FORMS, icc, icc_matrix, icc_tests, icc_values, mean_squares

DATA = Path(__file__).resolve().parents[1] / "data"


def _long(y: np.ndarray) -> pd.DataFrame:
    n, k = y.shape
    return pd.DataFrame(
        [(i, j, y[i, j]) for i in range(n) for j in range(k)], columns=["target", "rater", "score"]
    )


def test_shrout_fleiss_1979_table_2(shrout_fleiss: pd.DataFrame) -> None:
    """Shrout & Fleiss (1979), Psychological Bulletin 86(2), Tables 1-2: 6 targets x 4 judges.

    Published: ICC(1,1)=.17, ICC(2,1)=.29 [ICC(A,1)], ICC(3,1)=.71 [ICC(C,1)], ICC(1,4)=.44,
    ICC(2,4)=.62, ICC(3,4)=.91; mean squares BMS 11.24, WMS 6.26, JMS 32.49, EMS 1.02.
    F, df, p and CIs are those printed by R psych::ICC for this data (cross-check).
    """
    y = shrout_fleiss[["judge_1", "judge_2", "judge_3", "judge_4"]].to_numpy(float)
    ms = mean_squares(y)
    assert (round(float(ms.msb), 2), round(float(ms.msw), 2)) == (11.24, 6.26)
    assert (round(float(ms.msj), 2), round(float(ms.mse), 2)) == (32.49, 1.02)
    res = {r.form: r for r in icc_matrix(y)}
    published = {
        "ICC(1,1)": 0.17,
        "ICC(A,1)": 0.29,
        "ICC(C,1)": 0.71,
        "ICC(1,k)": 0.44,
        "ICC(A,k)": 0.62,
        "ICC(C,k)": 0.91,
    }
    for form, value in published.items():
        assert round(res[form].value, 2) == value, form
        assert (res[form].n, res[form].k, res[form].df1) == (6, 4, 5)
    for form in ("ICC(1,1)", "ICC(1,k)"):
        assert round(res[form].F, 2) == 1.79 and res[form].df2 == 18
        assert round(res[form].p_value, 5) == 0.16477
    for form in ("ICC(A,1)", "ICC(C,1)", "ICC(A,k)", "ICC(C,k)"):
        assert round(res[form].F, 2) == 11.03 and res[form].df2 == 15
        assert round(res[form].p_value, 5) == 0.00013
    # psych::ICC lower bounds (3 dp) and upper bounds (2 dp)
    lows = {
        "ICC(1,1)": -0.133,
        "ICC(A,1)": 0.019,
        "ICC(C,1)": 0.342,
        "ICC(1,k)": -0.884,
        "ICC(A,k)": 0.071,
        "ICC(C,k)": 0.676,
    }
    highs = {
        "ICC(1,1)": 0.72,
        "ICC(A,1)": 0.76,
        "ICC(C,1)": 0.95,
        "ICC(1,k)": 0.91,
        "ICC(A,k)": 0.93,
        "ICC(C,k)": 0.99,
    }
    for form in ICC_FORMS:
        assert round(res[form].ci_low, 3) == lows[form], form
        assert round(res[form].ci_high, 2) == highs[form], form


def test_pingouin_wine_docstring_values() -> None:
    """pingouin's own example (dataset 'icc', 8 wines x 4 judges; values from its docstring)."""
    data = pingouin.read_dataset("icc")
    res = {r.form: r for r in icc(data, target="Wine", rater="Judge", rating="Scores")}
    assert round(res["ICC(1,1)"].value, 3) == 0.728 and round(res["ICC(1,1)"].F, 3) == 11.680
    assert round(res["ICC(C,k)"].value, 3) == 0.915 and round(res["ICC(A,1)"].F, 3) == 11.787
    assert [round(res["ICC(1,k)"].ci_low, 2), round(res["ICC(1,k)"].ci_high, 2)] == [0.75, 0.98]
    # Full precision: the wrapper switched pingouin's CI rounding off and restored the option.
    assert res["ICC(A,1)"].ci_low != round(res["ICC(A,1)"].ci_low, 2)
    assert pingouin.options.get("round.column.CI95") == 2


def _datasets() -> list[np.ndarray]:
    rng = np.random.default_rng(42)
    out = [pd.read_csv(DATA / "shrout_fleiss_1979.csv").iloc[:, 1:].to_numpy(float)]
    wine = pingouin.read_dataset("icc").pivot_table(index="Wine", columns="Judge", values="Scores")
    out.append(wine.to_numpy(float))
    truth = rng.normal(3, 1, 200)
    out.append(np.clip(np.round(truth[:, None] + rng.normal([0, 0.5, -0.3], 0.7, (200, 3))), 1, 5))
    out.append(rng.normal(0, 1, (50, 2)))
    noisy = np.round(rng.uniform(1, 5, (300, 2)))
    noisy[rng.random((300, 2)) < 0.05] = np.nan
    out.append(noisy)
    return out


@pytest.mark.parametrize("idx", range(5))
def test_fast_path_equals_pingouin(idx: int) -> None:
    """The vectorised mean-square path equals pingouin.intraclass_corr to 1e-9 (values, F, CIs)."""
    y = _datasets()[idx]
    ref = icc(_long(y))
    fast = icc_matrix(y)
    for a, b in zip(ref, fast, strict=True):
        assert a.form == b.form
        assert a.n == b.n and a.k == b.k and a.df2 == b.df2 and a.n_dropped == b.n_dropped
        for field in ("value", "ci_low", "ci_high", "F", "p_value"):
            assert getattr(b, field) == pytest.approx(getattr(a, field), abs=1e-9), (a.form, field)


def test_batched_mean_squares_equal_loop() -> None:
    """Mean squares over a batch axis equal the per-matrix computation (the bootstrap relies on it)."""
    rng = np.random.default_rng(0)
    batch = rng.normal(size=(7, 30, 3))
    ms = mean_squares(batch)
    vals, tests = icc_values(ms), icc_tests(ms)
    for b in range(7):
        single = {r.form: r for r in icc_matrix(batch[b])}
        for form in ICC_FORMS:
            assert vals[form][b] == pytest.approx(single[form].value, abs=1e-12)
            assert tests[form]["lo"][b] == pytest.approx(single[form].ci_low, abs=1e-12)


def test_complete_cases_and_validation() -> None:
    y = np.array([[1, 2], [2, np.nan], [3, 3], [4, 5.0]])
    res = icc_matrix(y)
    assert res[0].n == 3 and res[0].n_dropped == 1
    with pytest.raises(ValueError):
        icc_matrix(np.array([[1.0, 2.0]]))
    with pytest.raises(ValueError):
        icc(_long(np.array([[1, 2], [2, np.nan], [3, 3.0]])), nan_policy="raise")
    with pytest.raises(ValueError):
        icc(_long(y), nan_policy="drop")
