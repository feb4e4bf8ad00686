"""Tidy rating frames: validation, composites, the council rater, self-family exclusion and pairing.

A tidy frame has one row per rating with columns ``target``, ``rater``, ``attribute``, ``score``
(float, NaN = missing) and optional ``context``, ``responder``, ``length``, ``sample``,
``rater_family``, ``responder_family``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

ATTRIBUTES: tuple[str, ...] = (
    "guidance",
    "informativeness",
    "relevance",
    "safety",
    "empathy",
    "helpfulness",
    "understanding",
)
COMPOSITES: dict[str, tuple[str, ...]] = {
    "cognitive_support": ("guidance", "informativeness", "relevance", "safety"),
    "affective_resonance": ("empathy", "helpfulness", "understanding"),
}
REQUIRED_COLUMNS: tuple[str, ...] = ("target", "rater", "attribute", "score")
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "context",
    "responder",
    "length",
    "sample",
    "rater_family",
    "responder_family",
)
_TARGET_INFO = ("context", "responder", "length", "responder_family")


class Paired(NamedTuple):
    """Complete-case pairs of one rater and one reference on one attribute.

    ``x`` is the reference, ``y`` the rater; ``target`` labels each pair (items, or responders at
    system level); ``context`` and ``responder`` are None when the frame lacks them.
    """

    x: np.ndarray
    y: np.ndarray
    target: np.ndarray
    context: np.ndarray | None
    responder: np.ndarray | None
    n_dropped: int


def validate_tidy(df: pd.DataFrame) -> pd.DataFrame:
    """Check that ``df`` is a tidy rating frame and return it with a float ``score``.

    Args:
        df: Tidy frame.

    Returns:
        The same rows, ``score`` as float64.

    Raises:
        ValueError: On missing columns, non-numeric scores or duplicated ratings.

    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"tidy frame lacks columns {missing}; it has {list(df.columns)}")
    try:
        score = pd.to_numeric(df["score"], errors="raise").astype("float64")
    except (ValueError, TypeError) as e:
        raise ValueError("column 'score' must be numeric (NaN for missing)") from e
    key = ["target", "rater", "attribute"] + (["sample"] if "sample" in df.columns else [])
    dup = int(df.duplicated(key).sum())
    if dup:
        raise ValueError(f"{dup} duplicated ratings for key {key}; aggregate or add a 'sample' column")
    return df.assign(score=score)


def add_composites(df: pd.DataFrame, composites: Mapping[str, Sequence[str]] | None = None) -> pd.DataFrame:
    """Append composite attributes (means of their components) per target × rater (× sample).

    A composite is NaN unless every component is present, so a composite never silently averages
    a different set of attributes for different targets. Existing composite rows are replaced.

    Args:
        df: Tidy frame.
        composites: name -> component attribute ids; defaults to :data:`COMPOSITES`.

    Returns:
        The frame with composite rows appended.

    """
    composites = dict(COMPOSITES if composites is None else composites)
    base = df[~df["attribute"].isin(list(composites))]
    keys = ["target", "rater"] + (["sample"] if "sample" in df.columns else [])
    extra = [c for c in df.columns if c not in (*keys, "attribute", "score")]
    parts = [base]
    for name, comps in composites.items():
        sub = base[base["attribute"].isin(list(comps))]
        if sub.empty:
            continue
        g = sub.groupby(keys, sort=False, dropna=False)
        agg = g["score"].agg(["mean", "count"]).reset_index()
        agg["score"] = np.where(agg["count"] == len(comps), agg["mean"], np.nan)
        info = g[extra].first().reset_index() if extra else None
        out = agg[[*keys, "score"]].assign(attribute=name)
        if info is not None:
            out = out.merge(info, on=keys, how="left")
        parts.append(out[[c for c in df.columns]])
    return pd.concat(parts, ignore_index=True)


def add_council(
    df: pd.DataFrame,
    judges: Sequence[str],
    *,
    name: str = "council",
    min_judges: int = 1,
) -> pd.DataFrame:
    """Add a council rater: the mean of the judges' scores per target × attribute.

    Samples of one judge are averaged first, so a judge that sampled three times counts once.
    The council is NaN where fewer than ``min_judges`` judges scored (recorded, never defaulted).

    Args:
        df: Tidy frame.
        judges: Rater ids to average.
        name: Rater id of the council.
        min_judges: Minimum number of judges with a score.

    Returns:
        The frame with the council rows appended (``rater_family`` = "council" if present).

    Raises:
        ValueError: If a judge is absent or ``name`` already exists.

    """
    absent = sorted(set(judges) - set(df["rater"].unique()))
    if absent:
        raise ValueError(f"judges not in frame: {absent}")
    if name in set(df["rater"].unique()):
        raise ValueError(f"rater {name!r} already exists")
    if min_judges < 1:
        raise ValueError("min_judges must be >= 1")
    sub = df[df["rater"].isin(list(judges))]
    per_judge = sub.groupby(["target", "attribute", "rater"], sort=False)["score"].mean()
    g = per_judge.groupby(level=["target", "attribute"], sort=False)
    agg = pd.DataFrame({"score": g.mean(), "count": g.count()}).reset_index()
    agg.loc[agg["count"] < min_judges, "score"] = np.nan
    out = agg[["target", "attribute", "score"]].assign(rater=name)
    info_cols = [c for c in _TARGET_INFO if c in df.columns]
    if info_cols:
        info = sub.groupby("target", sort=False)[info_cols].first().reset_index()
        out = out.merge(info, on="target", how="left")
    if "rater_family" in df.columns:
        out["rater_family"] = "council"
    return pd.concat([df, out], ignore_index=True)


def self_exclusions(
    df: pd.DataFrame, exclude: bool | Mapping[str, Collection[str]]
) -> dict[str, frozenset[str]]:
    """Resolve which responders each rater must not be scored on.

    Args:
        df: Tidy frame.
        exclude: False (none); True (each rater's own family, from the ``rater_family`` and
            ``responder_family`` columns); or an explicit mapping rater -> responders.

    Returns:
        rater -> responders excluded from that rater's targets.

    Raises:
        ValueError: If True is asked but the family columns are missing.

    """
    if exclude is False:
        return {}
    if isinstance(exclude, Mapping):
        return {r: frozenset(v) for r, v in exclude.items()}
    if not {"rater_family", "responder_family", "responder"} <= set(df.columns):
        raise ValueError(
            "exclude_self_family=True needs rater_family, responder_family and responder columns"
        )
    resp = df[["responder", "responder_family"]].drop_duplicates()
    by_family = resp.groupby("responder_family")["responder"].agg(frozenset).to_dict()
    fam = df[["rater", "rater_family"]].drop_duplicates().dropna()
    return {r: by_family.get(f, frozenset()) for r, f in zip(fam["rater"], fam["rater_family"], strict=True)}


def wide_scores(df: pd.DataFrame) -> pd.DataFrame:
    """Pivot a tidy frame to one row per target and columns (attribute, rater).

    Samples are averaged. Target information columns (context, responder, ...) become the index.
    """
    idx = ["target"] + [c for c in ("context", "responder") if c in df.columns]
    keys = [*idx, "attribute", "rater"]
    means = df.groupby(keys, sort=False, dropna=False)["score"].mean()
    return means.unstack(["attribute", "rater"])


class WideArrays(NamedTuple):
    """:func:`wide_scores` output as plain arrays, so that many pairings cost no pandas indexing."""

    scores: dict[tuple[str, str], np.ndarray]
    target: np.ndarray
    context: np.ndarray | None
    responder: np.ndarray | None
    length: np.ndarray | None = None


def wide_arrays(wide: pd.DataFrame) -> WideArrays:
    """Split :func:`wide_scores` output into per-(attribute, rater) float arrays and index arrays."""
    names = wide.index.names
    level = {n: wide.index.get_level_values(n).to_numpy() for n in names}
    values = wide.to_numpy(dtype=float)
    scores = {(str(a), str(r)): values[:, i] for i, (a, r) in enumerate(wide.columns)}
    return WideArrays(scores, level["target"], level.get("context"), level.get("responder"))


def paired(
    wide: pd.DataFrame | WideArrays,
    rater: str,
    reference: str,
    attribute: str,
    excluded: Collection[str] = (),
) -> Paired:
    """Complete-case pairs (reference, rater) on one attribute from :func:`wide_scores` output.

    Args:
        wide: Output of :func:`wide_scores` (or :func:`wide_arrays` of it, for speed in loops).
        rater: Rater id (becomes ``y``).
        reference: Reference id (becomes ``x``).
        attribute: Attribute id.
        excluded: Responders whose targets are removed (self-family exclusion).

    Returns:
        :class:`Paired`; ``n_dropped`` counts targets lost to a missing rating (not exclusions).

    Raises:
        ValueError: If either rater has no scores on the attribute.

    """
    w = wide_arrays(wide) if isinstance(wide, pd.DataFrame) else wide
    for who in (rater, reference):
        if (attribute, who) not in w.scores:
            raise ValueError(f"no scores for rater {who!r} on attribute {attribute!r}")
    x, y = w.scores[(attribute, reference)], w.scores[(attribute, rater)]
    keep = np.ones(len(x), dtype=bool)
    if excluded and w.responder is not None:
        keep &= ~np.isin(w.responder, list(excluded))
    ok = keep & ~np.isnan(x) & ~np.isnan(y)
    return Paired(
        x=x[ok],
        y=y[ok],
        target=w.target[ok],
        context=None if w.context is None else w.context[ok],
        responder=None if w.responder is None else w.responder[ok],
        n_dropped=int(keep.sum() - ok.sum()),
    )


def system_level(p: Paired) -> Paired:
    """Collapse item pairs to per-responder means (the paper's system level).

    Means are taken over the complete pairs only, so both columns average the same responses.

    Raises:
        ValueError: If the pairs carry no responder labels.

    """
    if p.responder is None:
        raise ValueError("system level needs a 'responder' column")
    codes, uniq = pd.factorize(p.responder, sort=True)
    cnt = np.bincount(codes, minlength=len(uniq)).astype(float)
    x = np.bincount(codes, weights=p.x, minlength=len(uniq)) / cnt
    y = np.bincount(codes, weights=p.y, minlength=len(uniq)) / cnt
    return Paired(x=x, y=y, target=np.asarray(uniq), context=None, responder=np.asarray(uniq), n_dropped=0)
