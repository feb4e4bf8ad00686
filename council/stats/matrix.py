"""Rater-pair agreement: the judge–judge matrix and the human–human ceiling."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np
import pandas as pd

from council.stats.frames import (
    COMPOSITES,
    add_composites,
    paired,
    system_level,
    validate_tidy,
    wide_arrays,
    wide_scores,
)
from council.stats.icc import icc_matrix
from council.stats.report import Cell, cell_records
from council.stats.types import AgreementRecord, BootstrapSpec, Level


def pairwise_records(
    df: pd.DataFrame,
    raters: Sequence[str],
    attributes: Sequence[str] | None = None,
    *,
    level: Level = "item",
    bootstrap: BootstrapSpec | None = None,
    scale: tuple[int, int] = (1, 5),
    composites: Mapping[str, Sequence[str]] | None = None,
) -> list[AgreementRecord]:
    """Every statistic of the agreement report for every unordered pair of ``raters``.

    For a pair (a, b) with a listed before b, ``rater`` is b and ``reference`` is a, so the bias
    is b − a. Composites (default the MentalAlign ones) are added first.

    Raises:
        ValueError: With fewer than two raters.

    """
    if len(raters) < 2:
        raise ValueError("need at least two raters")
    df = add_composites(validate_tidy(df), COMPOSITES if composites is None else composites)
    attributes = list(attributes) if attributes is not None else [str(a) for a in pd.unique(df["attribute"])]
    wide = wide_scores(df)
    arrays = wide_arrays(wide)
    cells = []
    for a, b in combinations(raters, 2):
        for attr in attributes:
            if (attr, a) in arrays.scores and (attr, b) in arrays.scores:
                item = paired(arrays, b, a, attr)
                cells.append(Cell(b, a, attr, item, system_level(item) if level == "system" else item))
    return cell_records(cells, arrays, level, scale, bootstrap)


def agreement_matrix(
    records: Sequence[AgreementRecord], attribute: str, statistic: str = "ICC(A,1)", level: Level = "item"
) -> pd.DataFrame:
    """Square rater × rater matrix of one statistic from :func:`pairwise_records` output.

    Symmetric statistics are mirrored; for ``bias`` the cell (row r, column c) is r − c. The
    diagonal is 1 for ICCs and correlations, 0 for bias and error statistics.
    """
    sel = [
        r
        for r in records
        if (r.attribute, r.statistic, r.level) == (attribute, statistic, level)
        and not r.ci_method.startswith("cluster-bootstrap")
    ]
    names = list(dict.fromkeys([n for r in sel for n in (r.reference, r.rater)]))
    m = pd.DataFrame(np.nan, index=names, columns=names)
    sign = -1.0 if statistic == "bias" else 1.0
    for r in sel:
        m.loc[r.rater, r.reference] = r.value
        m.loc[r.reference, r.rater] = sign * r.value
    diag = 0.0 if statistic in ("bias", "mae", "rmse") else 1.0
    for n in names:
        m.loc[n, n] = diag
    return m


def human_ceiling(
    df: pd.DataFrame,
    humans: Sequence[str],
    attributes: Sequence[str] | None = None,
    *,
    scale: tuple[int, int] = (1, 5),
    composites: Mapping[str, Sequence[str]] | None = None,
) -> list[AgreementRecord]:
    """Agreement among several human raters: the ceiling a judge can be expected to reach.

    Returns the six ICC forms over all humans jointly (k = number of humans, complete cases) with
    rater = reference = 'human_panel', followed by every pairwise record of
    :func:`pairwise_records`. Empty when fewer than two humans are given (e.g. MentalAlign has one
    expert score set per response, so no ceiling can be estimated from it). ``scale`` and
    ``composites`` as in :func:`pairwise_records`.
    """
    if len(humans) < 2:
        return []
    df = add_composites(validate_tidy(df), COMPOSITES if composites is None else composites)
    attributes = list(attributes) if attributes is not None else [str(a) for a in pd.unique(df["attribute"])]
    wide = wide_scores(df)
    out = []
    for attr in attributes:
        cols = [(attr, h) for h in humans if (attr, h) in wide.columns]
        if len(cols) < 2:
            continue
        y = wide[cols].to_numpy(dtype=float)
        if (~np.isnan(y).any(axis=1)).sum() < 3:
            continue
        for r in icc_matrix(y):
            out.append(
                AgreementRecord(
                    rater="human_panel",
                    reference="human_panel",
                    attribute=attr,
                    level="item",
                    statistic=r.form,
                    value=r.value,
                    ci_low=r.ci_low,
                    ci_high=r.ci_high,
                    n=r.n,
                    k=r.k,
                    ci_method="F",
                    p_value=r.p_value,
                    extra={
                        "F": r.F,
                        "df1": r.df1,
                        "df2": r.df2,
                        "n_dropped": r.n_dropped,
                        "raters": ",".join(h for _, h in cols),
                    },
                )
            )
    return out + pairwise_records(df, humans, attributes, scale=scale, composites=composites)
