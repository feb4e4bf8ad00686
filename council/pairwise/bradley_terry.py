"""Bradley–Terry strengths by maximum likelihood, from pairwise outcomes (ties as half wins).

No maintained Python Bradley–Terry library is a dependency (``choix`` is not installed), so the model is
fitted here as what it is, a logistic regression without intercept on the difference of two strengths:
P(a beats b) = σ(s_a − s_b [+ γ when a is shown first]), maximised with ``scipy.optimize.minimize``
(L-BFGS-B, analytic gradient). The tests check it against the published MLEs of Agresti's baseball
example and against an independent unpenalised scikit-learn ``LogisticRegression``.

Ties count as half a win for each side (a fractional binomial response). Davidson's (1970) tie model
was not chosen: its strength score equations use the same sufficient statistic, 2·wins + ties, so the
ranking it gives is driven by the same half-win counts, while its extra tie parameter would make the
likelihood non-standard and lose the logistic-regression cross-check.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["BTFit", "Comparisons", "bradley_terry", "comparisons", "fit_strengths", "win_rates"]

FIT_METHOD = "maximum likelihood, scipy.optimize.minimize (L-BFGS-B)"
TIES = "half-win (fractional binomial)"


class Comparisons(NamedTuple):
    """Comparisons as index arrays: responder ``a[k]`` vs ``b[k]``, a's share ``y[k]`` of weight ``w[k]``."""

    responders: list[str]
    a: np.ndarray
    b: np.ndarray
    y: np.ndarray
    w: np.ndarray


class BTFit(NamedTuple):
    """A Bradley–Terry fit: strengths centred to mean 0 and their model-based covariance."""

    responders: list[str]
    strengths: np.ndarray
    position_effect: float | None
    covariance: np.ndarray  # of (strengths, position_effect); Moore–Penrose inverse of the information
    log_likelihood: float


def comparisons(outcomes: pd.DataFrame, score: str = "score_a", responders: list[str] | None = None) -> Comparisons:
    """Index the outcome frame's ``responder_a``/``responder_b``/``score`` columns (rows without a score dropped).

    Pairs of two candidates by the same responder carry no information about responders and are dropped.
    A ``weight`` column, when present, weights rows (default 1).
    """
    rows = outcomes[outcomes[score].notna() & (outcomes["responder_a"] != outcomes["responder_b"])]
    names = responders or sorted(set(rows["responder_a"]) | set(rows["responder_b"]))
    index = {r: i for i, r in enumerate(names)}
    weight = rows["weight"].to_numpy(float) if "weight" in rows else np.ones(len(rows))
    return Comparisons(names, rows["responder_a"].map(index).to_numpy(np.int64),
                       rows["responder_b"].map(index).to_numpy(np.int64), rows[score].to_numpy(float), weight)


def is_connected(n: int, a: np.ndarray, b: np.ndarray, w: np.ndarray) -> bool:
    """Whether every responder is linked to every other by a chain of comparisons with positive weight."""
    keep = w > 0
    graph = coo_matrix((np.ones(int(keep.sum())), (a[keep], b[keep])), shape=(n, n))
    return connected_components(graph, directed=False)[0] == 1


def fit_strengths(n: int, a: np.ndarray, b: np.ndarray, y: np.ndarray, w: np.ndarray, *,
                  position_effect: bool = False, l2: float = 0.0, start: np.ndarray | None = None) -> np.ndarray:
    """Maximum-likelihood parameters (n strengths, then γ when ``position_effect``), strengths centred.

    Minimises Σ w·[y·softplus(−d) + (1 − y)·softplus(d)] + l2/2·‖s‖², d = s_a − s_b (+ γ). Starting from a
    centred point the gradient keeps the strengths centred, so the unpenalised fit needs no reference level.
    With ``l2 = 0`` and a responder that wins (or loses) every comparison the MLE does not exist; the optimiser
    then stops at large finite strengths, so pass ``l2 > 0`` for such data.

    Raises:
        RuntimeError: When the optimiser stops with a gradient that is not near zero.

    """
    k = n + int(position_effect)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        s = theta[:n]
        d = s[a] - s[b] + (theta[n] if position_effect else 0.0)
        value = np.sum(w * (y * np.logaddexp(0, -d) + (1 - y) * np.logaddexp(0, d))) + l2 / 2 * s @ s
        g = w * (0.5 * (1 + np.tanh(d / 2)) - y)  # ∂loss/∂d, with a stable σ(d)
        grad = np.bincount(a, g, minlength=n) - np.bincount(b, g, minlength=n) + l2 * s
        if position_effect:
            grad = np.append(grad, g.sum())
        return float(value), grad

    x0 = np.zeros(k) if start is None else start
    result = minimize(loss, x0, jac=True, method="L-BFGS-B", options={"gtol": 1e-10, "ftol": 1e-15, "maxiter": 500})
    # L-BFGS-B sometimes flags a line-search stop at these tight tolerances after converging; judge by the gradient
    if not np.isfinite(result.x).all() or np.abs(result.jac).max() > 1e-4 * max(1.0, float(w.sum())):
        raise RuntimeError(f"Bradley–Terry fit did not converge: {result.message}")
    theta = result.x.copy()
    theta[:n] -= theta[:n].mean()
    return theta


def _information(n: int, a: np.ndarray, b: np.ndarray, w: np.ndarray, theta: np.ndarray,
                 position_effect: bool) -> np.ndarray:
    d = theta[a] - theta[b] + (theta[n] if position_effect else 0.0)
    p = 0.5 * (1 + np.tanh(d / 2))
    x = np.zeros((len(a), n + int(position_effect)))
    x[np.arange(len(a)), a] += 1.0
    x[np.arange(len(a)), b] -= 1.0
    if position_effect:
        x[:, n] = 1.0
    return x.T @ (x * (w * p * (1 - p))[:, None])


def bradley_terry(outcomes: pd.DataFrame, *, score: str = "score_a", position_effect: bool = False,
                  l2: float = 0.0) -> BTFit:
    """Fit Bradley–Terry strengths of the responders in an outcome frame.

    Args:
        outcomes: Rows with ``responder_a``, ``responder_b`` and ``score`` (a's result: 1 win, 0.5 tie,
            0 loss, or any share in [0, 1]); optional ``weight``. For ``position_effect``, ``responder_a``
            must be the responder shown first.
        score: The score column (``score_a``, or ``soft_score_a`` for probability-weighted outcomes).
        position_effect: Also fit γ, the log-odds bonus of being shown first (Agresti's home advantage).
        l2: Ridge penalty on the strengths; 0 is the plain MLE. A small value keeps strengths finite when a
            responder wins or loses every comparison.

    Returns:
        The fit; ``covariance`` gives model-based standard errors of contrasts (s_i − s_j), which ignore the
        clustering of outcomes by context: use the cluster bootstrap of :mod:`.leaderboard` for CIs.

    Raises:
        ValueError: Fewer than two responders, a score outside [0, 1], or comparisons that do not connect
            every responder (their strengths would not be on one scale).

    References:
        Bradley, R. A., & Terry, M. E. (1952). Rank analysis of incomplete block designs I. Biometrika 39.
        Agresti, A. (2002). Categorical Data Analysis (2nd ed.), §10.6. Wiley.

    """
    c = comparisons(outcomes, score)
    n = len(c.responders)
    if n < 2:
        raise ValueError("Bradley–Terry needs comparisons between at least two responders")
    if ((c.y < 0) | (c.y > 1)).any():
        raise ValueError(f"{score} must lie in [0, 1]")
    if not is_connected(n, c.a, c.b, c.w):
        raise ValueError("the comparisons do not connect every responder; strengths would not be comparable")
    theta = fit_strengths(n, c.a, c.b, c.y, c.w, position_effect=position_effect, l2=l2)
    d = theta[c.a] - theta[c.b] + (theta[n] if position_effect else 0.0)
    loglik = -float(np.sum(c.w * (c.y * np.logaddexp(0, -d) + (1 - c.y) * np.logaddexp(0, d))))
    cov = np.linalg.pinv(_information(n, c.a, c.b, c.w, theta, position_effect))
    return BTFit(c.responders, theta[:n], float(theta[n]) if position_effect else None, cov, loglik)


def win_rates(outcomes: pd.DataFrame, score: str = "score_a") -> pd.DataFrame:
    """Observed win-rate matrix in long form: responder, opponent, win_rate (ties half), n.

    Every comparison appears from both sides, so ``win_rate(r, o) + win_rate(o, r) = 1``.
    """
    rows = outcomes[outcomes[score].notna() & (outcomes["responder_a"] != outcomes["responder_b"])]
    both = pd.concat([
        pd.DataFrame({"responder": rows["responder_a"], "opponent": rows["responder_b"], "s": rows[score]}),
        pd.DataFrame({"responder": rows["responder_b"], "opponent": rows["responder_a"], "s": 1 - rows[score]}),
    ])
    table = both.groupby(["responder", "opponent"], sort=True)["s"].agg(["mean", "size"]).reset_index()
    return table.rename(columns={"mean": "win_rate", "size": "n"})
