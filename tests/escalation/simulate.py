"""A synthetic rating set for gate tests: a cheap noisy judge, a stronger judge and a human reference.

Each context has ``per`` responders rated on two attributes. The human score h is drawn per item; the
cheap judge writes h with probability 0.92 when h = 5 and 0.45 otherwise, and when wrong it is one point
lower (9 times in 10) or higher, so its 5s are reliable (P(h = 5 | cheap 5) ≈ 0.96) and its other scores are
not; the strong judge writes h with probability 0.9 everywhere (wrong: one point up or down).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ATTRS = ("empathy", "safety")


def _noisy(rng: np.random.Generator, h: np.ndarray, p_right: np.ndarray, p_down: float = 0.5) -> np.ndarray:
    step = np.where(rng.random(h.shape) < p_down, -1, 1)
    wrong = np.clip(h + step, 1, 5)
    wrong = np.where(wrong == h, h - step, wrong)
    return np.where(rng.random(h.shape) < p_right, h, np.clip(wrong, 1, 5))


def ratings(n_contexts: int, per: int = 4, seed: int = 0) -> pd.DataFrame:
    """Tidy frame: raters human_expert, cheap, strong; targets ``c<i>:r<j>``; context ``c<i>``."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_contexts):
        for r in range(per):
            target = f"c{c}:r{r}"
            for a in ATTRS:
                h = rng.choice([2, 3, 4, 5], p=[0.1, 0.2, 0.3, 0.4])
                cheap = _noisy(rng, np.array([h]), np.array([0.92 if h == 5 else 0.45]), p_down=0.9)[0]
                strong = _noisy(rng, np.array([h]), np.array([0.9]))[0]
                for rater, s in (("human_expert", h), ("cheap", cheap), ("strong", strong)):
                    rows.append((target, rater, a, float(s), f"c{c}"))
    return pd.DataFrame(rows, columns=["target", "rater", "attribute", "score", "context"])
