"""Fit a tiered confidence gate on human ratings, and route items through it.

:func:`fit_gate` fits per tier a calibrator and a confidence model, computes out-of-fold confidences
grouped by context, and picks each tier's threshold by fixed-sequence testing on the items that reach that
tier (Trust or Escalate's cascaded selective evaluation, Jung et al. 2024), with the risk split evenly
across tiers (Bonferroni), so that all tiers hold together with probability ≥ 1 − risk; the accepted items
of the whole cascade then agree at ≥ level, as a mixture of tiers that each do. :func:`route` applies a
gate to a frame of tier results: per item the first tier whose confidence clears its threshold, else the
next tier, else the human review queue.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from council.calibration.fit import Method
from council.escalation.confidence import fit_confidence, fit_tier_calibration, halves, tier_view
from council.escalation.features import feature_names, item_table, scale_points
from council.escalation.thresholds import ThresholdSelection, fixed_sequence_threshold, min_accepted_for
from council.escalation.types import (
    AgreementTarget,
    EscalationGate,
    GateSummary,
    GateTraining,
    TierModel,
    TierSpec,
    TierThreshold,
)
from council.stats.frames import validate_tidy

__all__ = ["Routing", "fit_gate", "route", "summarise"]


def _check_tiers(tiers: Sequence[TierSpec]) -> list[str]:
    if not tiers:
        raise ValueError("tiers: at least one tier is needed")
    names = [t.name for t in tiers]
    if len(set(names)) != len(names):
        raise ValueError(f"tiers: names must be unique, got {names}")
    return list(dict.fromkeys(j for t in tiers for j in t.judges))


def _tier_threshold(name: str, sel: ThresholdSelection, n_reaching: int) -> TierThreshold:
    acc = sel.accepted
    failed = [t for t in sel.tests if not t.passed]
    return TierThreshold(
        tier=name,
        threshold=sel.threshold,
        delta=sel.delta,
        n_reaching=n_reaching,
        n_accepted=0 if acc is None else acc.n_accepted,
        agreement=None if acc is None else 1 - acc.n_disagree / acc.n_accepted,
        agreement_lower=None if acc is None else 1 - acc.risk_upper,
        n_effective=None if acc is None else acc.n_effective,
        n_tests=len(sel.tests),
        stopped_at=failed[0].threshold if failed else None,
    )


def fit_gate(
    df: pd.DataFrame,
    tiers: Sequence[TierSpec],
    target: AgreementTarget,
    *,
    reference: str = "human_expert",
    attributes: Sequence[str] | None = None,
    scale: tuple[float, float] = (1, 5),
    seed: int = 0,
    method: Method = "ridge-mm",
    alpha: float = 1.0,
    clustered: bool = True,
    min_accepted: int | None = None,
    C: float = 1.0,
    description: str = "",
) -> EscalationGate:
    """Fit a tiered gate on a tidy frame holding every tier's judges and the human reference.

    The contexts are split in two halves (grouped, shuffled by ``seed``). On the *fit* half each tier's
    calibrator and confidence model are fitted; on the *threshold* half those very models give the
    confidences on which the thresholds are chosen, tier by tier: tier t's confidence model is fitted on
    the fit-half items that reach it (not accepted by earlier tiers), since those are the only items it will
    ever see, and its threshold is chosen on the threshold-half items that reach it. The stored models are
    the tested ones, so the fixed-sequence guarantee applies as stated (exchangeable contexts).

    Args:
        df: Tidy frame (``target``, ``rater``, ``attribute``, ``score``, ``context``; optional
            ``distribution`` on judge rows) with the reference's ratings.
        tiers: Tiers in escalation order.
        target: Criterion, level and risk.
        reference: The human rater.
        attributes: Attributes to gate; default those the reference rated.
        scale: Rating scale.
        seed: Seed of the split into fit and threshold halves.
        method: Calibration method of each tier's calibrator (see :mod:`council.calibration`).
        alpha: Ridge penalty of the calibrator.
        clustered: Bound the risk with the effective sample size of contexts (recommended when a context
            holds several rated items); False gives the plain binomial bound of the paper.
        min_accepted: Smallest accepted set a threshold is tested on (default: see
            :func:`council.escalation.thresholds.min_accepted_for`).
        C: Inverse L2 penalty of the logistic confidence model.
        description: Training-data description stored with the gate.

    Returns:
        :class:`EscalationGate` (serialisable; store it with :func:`council.escalation.save_gate`).

    Raises:
        ValueError: Naming the field (tiers, reference, df, ratings) when the data cannot support a gate.

    References:
        Jung, J., Brahman, F., & Choi, Y. (2025). Trust or Escalate: LLM Judges with Provable Guarantees for
        Human Agreement. ICLR 2025. arXiv:2407.18370.

    """
    judges = _check_tiers(tiers)
    df = validate_tidy(df)
    if "context" not in df.columns:
        raise ValueError("df: a 'context' column is needed (the split and the bound are grouped by context)")
    if reference not in set(df["rater"]):
        raise ValueError(f"reference: rater {reference!r} has no ratings in the frame")
    if attributes is None:
        attributes = sorted(set(df.loc[df["rater"] == reference, "attribute"]))
    table = item_table(df, judges, attributes, reference, scale)
    fitted = np.zeros(table.n_targets, bool)
    fitted[halves(table, seed)[0]] = True
    fit_items = fitted[table.target_rows()]
    rated = ~np.isnan(table.reference)
    groups = table.keys["context"].to_numpy() if clustered else None
    delta = target.risk / len(tiers)
    reaching = np.ones(len(table.keys), bool)
    models, thresholds = [], []
    for tier in tiers:
        cal = fit_tier_calibration(table, tier, fitted, method=method, alpha=alpha, scale=scale,
                                   description=description)
        view = tier_view(table, tier, cal, target, scale)
        agree = target.agrees(view.answer, table.reference)
        train = reaching & fit_items & view.scored & rated
        conf_model = fit_confidence(view.features[train], agree[train],
                                    feature_names(table.attributes, scale_points(scale)), C=C)
        conf = np.where(view.scored, conf_model.predict(view.features), np.nan)
        test = reaching & ~fit_items & view.scored & rated
        sel = fixed_sequence_threshold(conf[test], agree[test], target.level, delta,
                                       groups=None if groups is None else groups[test], min_accepted=min_accepted)
        thresholds.append(_tier_threshold(tier.name, sel, int((reaching & ~fit_items & rated).sum())))
        models.append(TierModel(tier=tier, calibration=cal, confidence=conf_model))
        if sel.threshold is not None:
            reaching &= ~(view.scored & (conf >= sel.threshold))
    training = GateTraining(
        description=description, reference=reference, attributes=list(table.attributes),
        n_targets=int(table.design.reference.notna().any(axis=1).sum()), n_items=int(rated.sum()),
        n_contexts=int(pd.Series(table.keys["context"][rated]).nunique()),
        n_threshold_items=int((rated & ~fit_items).sum()), seed=seed, calibration_method=method,
        clustered_bound=clustered,
        min_accepted=min_accepted if min_accepted is not None else min_accepted_for(target.level, delta),
    )
    return EscalationGate(target=target, scale=scale, tiers=models, thresholds=thresholds, training=training)


class Routing(NamedTuple):
    """Per item decision (frame) and what it adds up to (summary)."""

    frame: pd.DataFrame
    summary: GateSummary


def route(
    gate: EscalationGate,
    df: pd.DataFrame,
    *,
    judged_tiers: int | None = None,
    force_review: Mapping[str, str] | Collection[str] | None = None,
) -> Routing:
    """Route every candidate × attribute of a tidy frame through the gate's tiers.

    Args:
        gate: A fitted gate.
        df: Tidy frame of the tiers' judge scores (``target``, ``rater``, ``attribute``, ``score``, optional
            ``context`` and ``distribution``); the gate's reference rater, when present, only adds the
            realised agreement to the summary.
        judged_tiers: How many tiers have been run on the items escalated to them (None: all). Items
            escalated to a tier that has not been run yet are ``awaiting`` it; the batch runner calls that
            tier's judges on exactly those candidates and routes again with ``judged_tiers + 1``.
        force_review: Targets that go to people whatever their confidence (unsafe candidates, high-risk
            contexts): a collection of targets or target → reason.

    Returns:
        :class:`Routing`: ``frame`` with one row per item — ``target``, ``attribute``, ``context`` (when
        known), ``decision`` (accepted | review | awaiting), ``tier`` (accepting or awaited tier), ``reason``
        (confident | escalated | unscored | awaiting | risk:<why>), ``score`` (the accepted answer),
        ``calibrated`` and ``confidence`` at the deciding (or last evaluated) tier, ``confidence:<tier>``
        per tier, and ``reference``/``agrees`` when the frame holds the reference — and the
        :class:`GateSummary`.

    """
    df = validate_tidy(df)
    n_tiers = len(gate.tiers)
    judged = n_tiers if judged_tiers is None else judged_tiers
    if not 0 <= judged <= n_tiers:
        raise ValueError(f"judged_tiers: must be in 0..{n_tiers}, got {judged_tiers}")
    judges = _check_tiers([m.tier for m in gate.tiers])
    ref = gate.training.reference
    table = item_table(df, judges, gate.training.attributes, ref, gate.scale)
    n = len(table.keys)
    decision = np.full(n, "review", dtype=object)
    tier_col = np.full(n, None, dtype=object)
    reason = np.full(n, "escalated", dtype=object)
    score, calibrated, confidence = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    per_tier: dict[str, np.ndarray] = {}
    pending = np.ones(n, bool)
    for t, (model, th) in enumerate(zip(gate.tiers, gate.thresholds, strict=True)):
        name = model.tier.name
        if t >= judged:
            decision[pending], tier_col[pending], reason[pending] = "awaiting", name, "awaiting"
            pending[:] = False
            break
        view = tier_view(table, model.tier, model.calibration, gate.target, gate.scale)
        conf = np.where(view.scored, model.confidence.predict(view.features), np.nan)
        per_tier[name] = conf
        here = pending & view.scored
        calibrated[here], confidence[here] = view.calibrated[here], conf[here]
        acc = here & (conf >= th.threshold) if th.threshold is not None else np.zeros(n, bool)
        decision[acc], tier_col[acc], reason[acc], score[acc] = "accepted", name, "confident", view.answer[acc]
        pending &= ~acc
    never = pending & np.isnan(confidence)
    reason[never] = "unscored"
    risk = _risk_reasons(force_review)
    if risk:
        flagged = table.keys["target"].map(risk)
        hit = flagged.notna().to_numpy()
        decision[hit], tier_col[hit], score[hit] = "review", None, np.nan
        reason[hit] = ("risk:" + flagged[hit].astype(str)).to_numpy()
    frame = table.keys.assign(decision=decision, tier=tier_col, reason=reason, score=score, calibrated=calibrated,
                              confidence=confidence)
    for name, conf in per_tier.items():
        frame[f"confidence:{name}"] = conf
    if not np.isnan(table.reference).all():
        frame["reference"] = table.reference
        frame["agrees"] = np.where(np.isnan(table.reference) | np.isnan(score), np.nan,
                                   gate.target.agrees(score, table.reference))
    return Routing(frame, summarise(frame, gate.tier_names))


def _risk_reasons(force_review: Mapping[str, str] | Collection[str] | None) -> dict[str, str]:
    if not force_review:
        return {}
    if isinstance(force_review, Mapping):
        return {str(k): str(v) for k, v in force_review.items()}
    return {str(k): "flagged" for k in force_review}


def summarise(frame: pd.DataFrame, tier_names: Sequence[str]) -> GateSummary:
    """Coverage per tier, review and awaiting counts, predicted and realised agreement of a routing frame."""
    n = len(frame)
    acc = frame["decision"] == "accepted"
    accepted = {t: int((acc & (frame["tier"] == t)).sum()) for t in tier_names}
    realised, n_ref = None, 0
    if "agrees" in frame.columns:
        rated = acc & frame["reference"].notna()
        n_ref = int(rated.sum())
        realised = float(frame.loc[rated, "agrees"].mean()) if n_ref else None
    return GateSummary(
        n_items=n,
        accepted=accepted,
        coverage={t: (c / n if n else 0.0) for t, c in accepted.items()},
        n_review=int((frame["decision"] == "review").sum()),
        n_risk=int(frame["reason"].astype(str).str.startswith("risk:").sum()),
        n_awaiting=int((frame["decision"] == "awaiting").sum()),
        predicted_agreement=float(frame.loc[acc, "confidence"].mean()) if acc.any() else None,
        realised_agreement=realised,
        n_with_reference=n_ref,
    )
