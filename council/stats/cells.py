"""Comparisons ("cells": one rater vs one reference on one attribute at one level) and their records."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from council.stats.agreement import pair_agreement
from council.stats.bias import bland_altman, ceiling_rates, mean_difference, sd_ratio
from council.stats.bootstrap import (
    BOOTSTRAP_STATISTICS,
    cluster_weights,
    item_replicates,
    percentile_interval,
    system_replicates,
)
from council.stats.frames import Paired, WideArrays, paired, system_level
from council.stats.icc import ICC_FORMS, MeanSquares, icc_tests, icc_values, mean_squares
from council.stats.types import AgreementRecord, BootstrapSpec, Estimate, Level


class Cell(NamedTuple):
    """One comparison: a rater against a reference on one attribute at one level."""

    rater: str
    reference: str
    attribute: str
    item: Paired
    pairs: Paired


def build_cells(
    wide: WideArrays,
    reference: str,
    raters: Sequence[str],
    attributes: Sequence[str],
    level: Level,
    exclude: Mapping[str, Collection[str]],
) -> list[Cell]:
    """Pair every rater with the reference on every attribute (complete cases, exclusions applied).

    Args:
        wide: Per-cell arrays (:func:`~council.stats.cube.build_cube` or
            :func:`~council.stats.frames.wide_arrays`).
        reference: Reference rater.
        raters: Raters to pair with it.
        attributes: Attributes (absent ones are skipped).
        level: "item" or "system".
        exclude: rater -> responders removed from its targets.

    """
    cells = []
    for rater in raters:
        for attr in attributes:
            if (attr, rater) not in wide.scores or (attr, reference) not in wide.scores:
                continue
            item = paired(wide, rater, reference, attr, exclude.get(rater, ()))
            pairs = system_level(item) if level == "system" else item
            cells.append(Cell(rater, reference, attr, item, pairs))
    return cells


def _rec(cell: Cell, level: Level, est: Estimate, k: int = 2) -> AgreementRecord:
    return AgreementRecord(
        rater=cell.rater,
        reference=cell.reference,
        attribute=cell.attribute,
        level=level,
        statistic=est.statistic,
        value=est.value,
        ci_low=est.ci_low,
        ci_high=est.ci_high,
        n=est.n,
        k=k,
        ci_method=est.ci_method,
        p_value=est.p_value,
        extra=est.extra,
    )


def _record(
    c: Cell, level: Level, statistic: str, value: float, lo: float, hi: float, n: int, **kw: object
) -> AgreementRecord:
    return AgreementRecord(
        rater=c.rater,
        reference=c.reference,
        attribute=c.attribute,
        level=level,
        statistic=statistic,
        value=value,
        ci_low=lo,
        ci_high=hi,
        n=n,
        k=2,
        **kw,
    )


def icc_records(cells: Sequence[Cell], level: Level) -> list[AgreementRecord]:
    """All six ICC forms with F-based CIs for every cell, in one vectorised evaluation.

    Cells with fewer than 3 complete targets get NaN records that say why.
    """
    nan = float("nan")
    usable = [c for c in cells if len(c.pairs.x) >= 3]
    out = [
        _record(
            c,
            level,
            form,
            nan,
            nan,
            nan,
            len(c.pairs.x),
            extra={"n_dropped": c.item.n_dropped, "reason": "fewer than 3 complete targets"},
        )
        for c in cells
        if len(c.pairs.x) < 3
        for form in ICC_FORMS
    ]
    if not usable:
        return out
    parts = [mean_squares(np.column_stack([c.pairs.x, c.pairs.y])) for c in usable]
    ms = MeanSquares(*(np.array([float(getattr(p, f)) for p in parts]) for f in MeanSquares._fields))
    vals, tests = icc_values(ms), icc_tests(ms)
    for i, c in enumerate(usable):
        n = int(ms.n[i])
        for form in ICC_FORMS:
            t = tests[form]
            extra = {
                "F": float(t["F"][i]),
                "df1": n - 1,
                "df2": int(t["df2"][i]),
                "n_dropped": c.item.n_dropped,
            }
            if level == "system":
                extra["n_items"] = len(c.item.x)
            out.append(
                _record(
                    c,
                    level,
                    form,
                    float(vals[form][i]),
                    float(t["lo"][i]),
                    float(t["hi"][i]),
                    n,
                    ci_method="F",
                    p_value=float(t["p"][i]),
                    extra=extra,
                )
            )
    return out


def pair_records(cell: Cell, level: Level, scale: tuple[int, int]) -> list[AgreementRecord]:
    """Correlations, κ, α, CCC, errors, bias, Bland–Altman limits, SD ratio and ceiling rates."""
    x, y = cell.pairs.x, cell.pairs.y
    ests = pair_agreement(x, y, scale, with_kappa=level == "item")
    ests.append(mean_difference(x, y))
    ba = bland_altman(x, y)
    for side in ("low", "high"):
        ests.append(
            Estimate(
                statistic=f"bland_altman_loa_{side}",
                value=getattr(ba, f"loa_{side}"),
                ci_low=getattr(ba, f"loa_{side}_ci_low"),
                ci_high=getattr(ba, f"loa_{side}_ci_high"),
                n=ba.n,
                ci_method="bland-altman-1999",
                extra={"sd_diff": ba.sd_diff},
            )
        )
    ests.append(sd_ratio(x, y))
    if level == "item":
        ests.extend(ceiling_rates(x, y, top=float(scale[1])))
    return [_rec(cell, level, e) for e in ests]


def bootstrap_records(
    cells: Sequence[Cell],
    wide: WideArrays,
    level: Level,
    spec: BootstrapSpec,
    points: Mapping[tuple[str, str, str, str], float],
) -> list[AgreementRecord]:
    """Cluster-bootstrap percentile CIs (contexts resampled) for :data:`BOOTSTRAP_STATISTICS`.

    Raises:
        ValueError: If the frame has no ``context`` column.

    """
    if wide.context is None:
        raise ValueError("the cluster bootstrap needs a 'context' column")
    contexts = pd.Index(pd.unique(wide.context))
    weights = cluster_weights(len(contexts), spec)
    out = []
    for c in cells:
        if len(c.item.x) < 2:
            continue
        codes = contexts.get_indexer(c.item.context)
        if level == "system":
            groups = pd.Index(c.pairs.responder).get_indexer(c.item.responder)
            reps = system_replicates(c.item.x, c.item.y, codes, groups, weights)
        else:
            reps = item_replicates(c.item.x, c.item.y, codes, weights)
        for stat in BOOTSTRAP_STATISTICS:
            iv = percentile_interval(reps[stat], spec.level)
            out.append(
                AgreementRecord(
                    rater=c.rater,
                    reference=c.reference,
                    attribute=c.attribute,
                    level=level,
                    statistic=stat,
                    value=points.get((c.rater, c.reference, c.attribute, stat), float("nan")),
                    ci_low=iv.low,
                    ci_high=iv.high,
                    n=len(c.pairs.x),
                    k=2,
                    ci_method=spec.method,
                    extra={"n_valid_replicates": iv.n_valid, "n_contexts": len(contexts)},
                )
            )
    return out


def cell_records(
    cells: Sequence[Cell], wide: WideArrays, level: Level, scale: tuple[int, int], spec: BootstrapSpec | None
) -> list[AgreementRecord]:
    """All records of a list of cells: vectorised ICCs, pair statistics, optional bootstrap CIs."""
    recs = icc_records(cells, level)
    for c in cells:
        recs.extend(pair_records(c, level, scale))
    if spec is not None:
        points = {(r.rater, r.reference, r.attribute, r.statistic): r.value for r in recs}
        recs.extend(bootstrap_records(cells, wide, level, spec, points))
    return recs
