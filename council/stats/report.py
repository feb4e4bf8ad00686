"""The agreement report: every rater (and the council) against a reference, as flat records."""

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
from council.stats.frames import (
    COMPOSITES,
    Paired,
    add_composites,
    add_council,
    paired,
    self_exclusions,
    system_level,
    validate_tidy,
    wide_scores,
)
from council.stats.icc import ICC_FORMS, MeanSquares, icc_tests, icc_values, mean_squares
from council.stats.types import AgreementRecord, BootstrapSpec, Estimate, Level


class Cell(NamedTuple):
    """One comparison: a rater against the reference on one attribute at one level."""

    rater: str
    attribute: str
    item: Paired
    pairs: Paired


def default_judges(df: pd.DataFrame, reference: str) -> list[str]:
    """Raters other than the reference that are not human (``rater_family`` != 'human' if present)."""
    raters = [r for r in pd.unique(df["rater"]) if r != reference]
    if "rater_family" in df.columns:
        fam = df.drop_duplicates("rater").set_index("rater")["rater_family"]
        raters = [r for r in raters if fam.get(r) != "human"]
    return [str(r) for r in raters]


def prepare(
    df: pd.DataFrame,
    reference: str,
    judges: Sequence[str] | None = None,
    include_council: bool = True,
    council_name: str = "council",
    composites: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Validate, add the council (mean of ``judges``) and the composites (also for the council).

    Raises:
        ValueError: If the reference rater is absent.

    """
    df = validate_tidy(df)
    if reference not in set(df["rater"].unique()):
        raise ValueError(f"reference rater {reference!r} not in frame")
    judges = list(judges) if judges is not None else default_judges(df, reference)
    if include_council and len(judges) >= 2 and council_name not in set(df["rater"].unique()):
        df = add_council(df, judges, name=council_name)
    return add_composites(df, COMPOSITES if composites is None else composites)


def build_cells(
    wide: pd.DataFrame,
    reference: str,
    raters: Sequence[str],
    attributes: Sequence[str],
    level: Level,
    exclude: Mapping[str, Collection[str]],
) -> list[Cell]:
    """Pair every rater with the reference on every attribute (complete cases, exclusions applied).

    Args:
        wide: Output of :func:`~council.stats.frames.wide_scores`.
        reference: Reference rater.
        raters: Raters to pair with it.
        attributes: Attributes (absent ones are skipped).
        level: "item" or "system".
        exclude: rater -> responders removed from its targets.

    """
    cells = []
    for rater in raters:
        for attr in attributes:
            if (attr, rater) not in wide.columns or (attr, reference) not in wide.columns:
                continue
            item = paired(wide, rater, reference, attr, exclude.get(rater, ()))
            pairs = system_level(item) if level == "system" else item
            cells.append(Cell(rater, attr, item, pairs))
    return cells


def _rec(cell: Cell, reference: str, level: Level, est: Estimate, k: int = 2) -> AgreementRecord:
    return AgreementRecord(rater=cell.rater, reference=reference, attribute=cell.attribute, level=level,
                           statistic=est.statistic, value=est.value, ci_low=est.ci_low, ci_high=est.ci_high,
                           n=est.n, k=k, ci_method=est.ci_method, p_value=est.p_value, extra=est.extra)


def icc_records(cells: Sequence[Cell], reference: str, level: Level) -> list[AgreementRecord]:
    """All six ICC forms with F-based CIs for every cell, in one vectorised evaluation."""
    usable = [c for c in cells if len(c.pairs.x) >= 3]
    out = [
        AgreementRecord(rater=c.rater, reference=reference, attribute=c.attribute, level=level, statistic=form,
                        value=float("nan"), ci_low=float("nan"), ci_high=float("nan"), n=len(c.pairs.x), k=2,
                        extra={"n_dropped": c.item.n_dropped, "reason": "fewer than 3 complete targets"})
        for c in cells if len(c.pairs.x) < 3 for form in ICC_FORMS
    ]
    if not usable:
        return out
    parts = [mean_squares(np.column_stack([c.pairs.x, c.pairs.y])) for c in usable]
    ms = MeanSquares(*(np.array([np.asarray(getattr(p, f), dtype=float) for p in parts]) for f in MeanSquares._fields))
    vals, tests = icc_values(ms), icc_tests(ms)
    for i, c in enumerate(usable):
        n = int(ms.n[i])
        for form in ICC_FORMS:
            t = tests[form]
            extra = {"F": float(t["F"][i]), "df1": n - 1, "df2": int(t["df2"][i]), "n_dropped": c.item.n_dropped}
            if level == "system":
                extra["n_items"] = len(c.item.x)
            out.append(AgreementRecord(rater=c.rater, reference=reference, attribute=c.attribute, level=level,
                                       statistic=form, value=float(vals[form][i]), ci_low=float(t["lo"][i]),
                                       ci_high=float(t["hi"][i]), n=n, k=2, ci_method="F",
                                       p_value=float(t["p"][i]), extra=extra))
    return out


def pair_records(cell: Cell, reference: str, level: Level, scale: tuple[int, int]) -> list[AgreementRecord]:
    """Correlations, κ, α, CCC, errors, bias, Bland–Altman limits, SD ratio and ceiling rates."""
    x, y = cell.pairs.x, cell.pairs.y
    ests = pair_agreement(x, y, scale, with_kappa=level == "item")
    ests.append(mean_difference(x, y))
    ba = bland_altman(x, y)
    for side in ("low", "high"):
        ests.append(Estimate(statistic=f"bland_altman_loa_{side}", value=getattr(ba, f"loa_{side}"),
                             ci_low=getattr(ba, f"loa_{side}_ci_low"), ci_high=getattr(ba, f"loa_{side}_ci_high"),
                             n=ba.n, ci_method="bland-altman-1999", extra={"sd_diff": ba.sd_diff}))
    ests.append(sd_ratio(x, y))
    if level == "item":
        ests.extend(ceiling_rates(x, y, top=float(scale[1])))
    return [_rec(cell, reference, level, e) for e in ests]


def bootstrap_records(
    cells: Sequence[Cell],
    wide: pd.DataFrame,
    reference: str,
    level: Level,
    spec: BootstrapSpec,
    points: Mapping[tuple[str, str, str], float],
) -> list[AgreementRecord]:
    """Cluster-bootstrap percentile CIs (contexts resampled) for :data:`BOOTSTRAP_STATISTICS`.

    Raises:
        ValueError: If the frame has no ``context`` column.

    """
    if "context" not in wide.index.names:
        raise ValueError("the cluster bootstrap needs a 'context' column")
    contexts = pd.Index(pd.unique(wide.index.get_level_values("context")))
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
            out.append(AgreementRecord(rater=c.rater, reference=reference, attribute=c.attribute, level=level,
                                       statistic=stat, value=points.get((c.rater, c.attribute, stat), float("nan")),
                                       ci_low=iv.low, ci_high=iv.high, n=len(c.pairs.x), k=2,
                                       ci_method=spec.method, extra={"n_valid_replicates": iv.n_valid,
                                                                     "n_contexts": len(contexts)}))
    return out


def agreement_report(
    df: pd.DataFrame,
    reference: str = "human_expert",
    *,
    level: Level | Sequence[Level] = "item",
    raters: Sequence[str] | None = None,
    attributes: Sequence[str] | None = None,
    judges: Sequence[str] | None = None,
    include_council: bool = True,
    council_name: str = "council",
    exclude_self_family: bool | Mapping[str, Collection[str]] = False,
    bootstrap: BootstrapSpec | Mapping[str, float] | None = None,
    scale: tuple[int, int] = (1, 5),
) -> list[AgreementRecord]:
    """Agreement and bias of every rater (and the council) against ``reference``.

    Covers, per rater × attribute (composites included): the six ICC forms with F-based CIs,
    Pearson/Spearman/Kendall, quadratic κ (item level), Krippendorff's α (interval, ordinal), CCC,
    MAE, RMSE, mean bias with t CI (paired t and Wilcoxon), Bland–Altman limits with CIs, SD ratio
    and ceiling rates (item level). With ``bootstrap``, the moment-based statistics get an
    additional record each whose CI is a cluster-bootstrap percentile interval over contexts
    (``ci_method`` 'cluster-bootstrap(B, seed=s)'); the analytic records are kept.

    Args:
        df: Tidy rating frame.
        reference: The reference rater (usually the human expert).
        level: "item" (per response) or "system" (per-responder means over complete pairs, as in
            Badawi et al. 2025), or a sequence of both (the frame is prepared once).
        raters: Raters to compare; default every non-reference rater plus the council.
        attributes: Attributes; default every attribute present plus the composites.
        judges: Raters averaged into the council; default the non-human raters.
        include_council: Add the council rater (mean of ``judges``).
        council_name: Its rater id.
        exclude_self_family: True removes each rater's own-family responders from its targets
            (family columns); a mapping rater -> responders names them explicitly.
        bootstrap: A :class:`BootstrapSpec` or a dict with ``n_boot``, ``seed``.
        scale: The integer rating scale.

    Returns:
        Flat :class:`AgreementRecord` list.

    Raises:
        ValueError: On a bad level, a missing reference or missing grouping columns.

    References
    ----------
    Badawi, A. et al. (2025). When can we trust LLMs in mental health? Large-scale benchmarks for
    reliable LLM evaluation. arXiv:2510.19032.

    """
    levels: list[Level] = [level] if isinstance(level, str) else list(level)  # type: ignore[list-item]
    if not levels or any(lv not in ("item", "system") for lv in levels):
        raise ValueError(f"level must be 'item', 'system' or a sequence of them, got {level!r}")
    spec = BootstrapSpec(**bootstrap) if isinstance(bootstrap, Mapping) else bootstrap
    df = prepare(df, reference, judges, include_council, council_name)
    if raters is None:
        raters = [str(r) for r in pd.unique(df["rater"]) if r != reference]
    if attributes is None:
        attributes = [str(a) for a in pd.unique(df["attribute"])]
    exclude = self_exclusions(df, exclude_self_family)
    wide = wide_scores(df)
    records: list[AgreementRecord] = []
    for lv in levels:
        cells = build_cells(wide, reference, raters, attributes, lv, exclude)
        recs = icc_records(cells, reference, lv)
        for c in cells:
            recs.extend(pair_records(c, reference, lv, scale))
        if spec is not None:
            points = {(r.rater, r.attribute, r.statistic): r.value for r in recs}
            recs.extend(bootstrap_records(cells, wide, reference, lv, spec, points))
        records.extend(recs)
    return records


def records_frame(records: Sequence[AgreementRecord]) -> pd.DataFrame:
    """The records as a DataFrame (mandatory fields first; ``extra`` kept as a dict column)."""
    return pd.DataFrame([r.model_dump() for r in records], columns=list(AgreementRecord.model_fields))
