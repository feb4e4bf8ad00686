"""A tier's calibrated score and its calibrated confidence, fitted on human ratings (and out of fold).

Per tier: the council calibrator of :mod:`council.calibration` (ridge + moment matching on the tier's judges'
scores over all attributes) gives the calibrated score; a logistic regression on the features of
:mod:`council.escalation.features` gives P(rounded calibrated score agrees with the human). The thresholds
must be chosen on confidences that were not fitted on the same items, so :func:`out_of_fold_tier` refits
both models per fold, grouped by context with the same shuffled ``GroupKFold`` as
:func:`council.calibration.cv.out_of_fold`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from council.calibration.fit import Method, feature_name, fit_attribute, predict_attribute
from council.calibration.model import CouncilCalibration, TrainingInfo
from council.escalation.features import ItemTable, answers, tier_features
from council.escalation.types import AgreementTarget, ConfidenceModel, TierSpec
from council.stats._threads import single_threaded_blas

__all__ = ["TierView", "fit_confidence", "fit_tier_calibration", "halves", "tier_view"]


class TierView(NamedTuple):
    """One tier's answer, features and confidence for every item of an :class:`ItemTable`."""

    calibrated: np.ndarray
    answer: np.ndarray
    features: np.ndarray
    scored: np.ndarray


def _tier_columns(table: ItemTable, tier: TierSpec) -> tuple[list[str], list[int]]:
    names = list(table.design.features.columns)
    cols = [feature_name(j, a) for j in tier.judges for a in table.attributes]
    missing = [c for c in cols if c not in names]
    if missing:
        raise ValueError(f"tiers: judges {sorted({c.split('|')[0] for c in missing})} are not in the frame")
    return cols, [names.index(c) for c in cols]


def fit_tier_calibration(table: ItemTable, tier: TierSpec, rows: np.ndarray, *, method: Method, alpha: float,
                         scale: tuple[float, float], description: str = "") -> CouncilCalibration:
    """Fit the tier's council calibrator on the targets ``rows`` (bool mask over the table's targets)."""
    names, cols = _tier_columns(table, tier)
    x = table.design.features.to_numpy(float)[rows][:, cols]
    models = []
    for a in table.attributes:
        y = table.design.reference[a].to_numpy(float)[rows]
        mean_cols = [i for i, n in enumerate(names) if n.endswith("|" + a)]
        models.append(fit_attribute(x, y, names, a, method, alpha, scale, mean_cols))
    ctx = table.design.context
    info = TrainingInfo(description=description, reference="reference", judges=list(tier.judges),
                        attributes=list(table.attributes), n_targets=int(rows.sum()),
                        n_contexts=None if ctx is None else int(len(set(np.asarray(ctx)[rows]))))
    return CouncilCalibration(method=method, alpha=0.0 if method == "mean-mm" else alpha, scale=scale,
                              judges=list(tier.judges), attributes=list(table.attributes), models=models,
                              training=info)


def tier_view(table: ItemTable, tier: TierSpec, cal: CouncilCalibration, target: AgreementTarget,
              scale: tuple[float, float]) -> TierView:
    """Calibrated score, answer and confidence features of every item for one tier.

    ``scored`` is False where the tier cannot answer: some judge of the tier has no score on any attribute of
    the item's target (it has not run there), or no judge scored the item.
    """
    cols_names, cols = _tier_columns(table, tier)
    x = table.design.features.to_numpy(float)[:, cols]
    calibrated = np.concatenate([predict_attribute(cal.model_for(a), x, scale) for a in table.attributes])
    jidx = [table.judges.index(j) for j in tier.judges]
    scores = table.scores[:, jidx]
    dist = None if table.dist is None else table.dist[:, jidx, :]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # targets no tier judge scored: NaN, handled as unscored
        target_mean = np.nanmean(x, axis=1)[table.target_rows()]
    feats = tier_features(scores, dist, calibrated, table.attribute_index(), target_mean, k=target.k,
                          attributes=table.attributes, scale=scale)
    # A tier has run on a target when every one of its judges scored at least one attribute of it (a judge that
    # never ran must not be imputed by its training mean); the item itself needs one score at least.
    ran = np.column_stack([~np.isnan(x[:, [i for i, c in enumerate(cols_names) if c.startswith(j + "|")]]).any(axis=1)
                           for j in tier.judges]).all(axis=1)
    scored = ran[table.target_rows()] & ~np.isnan(scores).all(axis=1) & ~np.isnan(calibrated)
    return TierView(calibrated, answers(calibrated, scale), feats, scored)


def fit_confidence(x: np.ndarray, agree: np.ndarray, names: Sequence[str], *, C: float = 1.0) -> ConfidenceModel:
    """Fit the logistic confidence model on items' features and whether they agreed.

    Raises:
        ValueError: With fewer than 20 items, or when every item agrees or every item disagrees.

    """
    y = np.asarray(agree, bool)
    if len(y) < 20:
        raise ValueError(f"ratings: only {len(y)} items with a reference to fit the confidence model")
    if y.all() or not y.any():
        raise ValueError("ratings: the tier agrees on every item or on none; no confidence to learn")
    with single_threaded_blas():
        lr = LogisticRegression(C=C, max_iter=2000).fit(x, y)
    return ConfidenceModel(features=list(names), coef=[float(c) for c in lr.coef_[0]],
                           intercept=float(lr.intercept_[0]), C=C, n=len(y), base_rate=float(y.mean()))


def halves(table: ItemTable, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Target rows of two halves grouped by context (shuffled ``GroupKFold``, as the calibration CV): fit, test.

    Raises:
        ValueError: Without contexts, or with fewer than 2 of them.

    """
    ctx = table.design.context
    if ctx is None or len(set(np.asarray(ctx).tolist())) < 2:
        raise ValueError("ratings: a split grouped by context needs a 'context' column and ≥ 2 contexts")
    x = np.zeros((table.n_targets, 1))
    fit, test = next(GroupKFold(n_splits=2, shuffle=True, random_state=seed).split(x, groups=ctx))
    return fit, test
