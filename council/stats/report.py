"""The agreement report: every rater (and the council) against a reference, as flat records."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import pandas as pd

from council.stats._threads import single_threaded_blas
from council.stats.cells import Cell, build_cells, cell_records, icc_records, pair_records
from council.stats.cube import build_cube
from council.stats.frames import COMPOSITES, add_composites, add_council, self_exclusions, validate_tidy
from council.stats.types import AgreementRecord, BootstrapSpec, Level

__all__ = [
    "Cell",
    "agreement_report",
    "build_cells",
    "cell_records",
    "default_judges",
    "icc_records",
    "pair_records",
    "prepare",
    "records_frame",
]


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
    composites: Mapping[str, Sequence[str]] | None = None,
) -> list[AgreementRecord]:
    """Agreement and bias of every rater (and the council) against ``reference``.

    Covers, per rater × attribute (composites included): the six ICC forms with F-based CIs,
    Pearson/Spearman/Kendall, quadratic κ (item level), Krippendorff's α (interval, ordinal), CCC,
    MAE, RMSE, mean bias with t CI (paired t and Wilcoxon), Bland–Altman limits with CIs, SD ratio
    and ceiling rates (item level). With ``bootstrap``, the moment-based statistics get an
    additional record each whose CI is a cluster-bootstrap percentile interval over contexts
    (``ci_method`` 'cluster-bootstrap(B, seed=s)'); the analytic records are kept.

    Reading the two kinds of CI: the F-based CI of ICC(A,1) treats raters as sampled, so with two
    raters and a large offset (df of the rater effect = 1) it is wide even for 10,000 items; the
    context bootstrap treats raters and, at system level, the responders as fixed and measures only
    the sampling of contexts, so it is narrow. Report the one that matches the question.

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
            (family columns); a mapping rater -> responders names them explicitly. The council
            mixes families and is not excluded unless the mapping names it. Note: family
            exclusion removes both OpenAI responders for an OpenAI judge on MentalAlign (n = 8
            systems); the paper removed only each judge's own model (``PAPER_SELF_EXCLUSIONS``).
        bootstrap: A :class:`BootstrapSpec` or a dict with ``n_boot``, ``seed``.
        scale: The integer rating scale.
        composites: name -> component attributes; default the MentalAlign composites
            (:data:`~council.stats.frames.COMPOSITES`). Pass a protocol's composites for other rubrics.

    Returns:
        Flat :class:`AgreementRecord` list.

    Raises:
        ValueError: On a bad level, a missing reference or missing grouping columns.

    References:
        Badawi, A. et al. (2025). When can we trust LLMs in mental health? Large-scale benchmarks for
        reliable LLM evaluation. arXiv:2510.19032.

    """
    levels: list[Level] = [level] if isinstance(level, str) else list(level)  # type: ignore[list-item]
    if not levels or any(lv not in ("item", "system") for lv in levels):
        raise ValueError(f"level must be 'item', 'system' or a sequence of them, got {level!r}")
    spec = BootstrapSpec(**bootstrap) if isinstance(bootstrap, Mapping) else bootstrap
    df = validate_tidy(df)
    if reference not in set(df["rater"].unique()):
        raise ValueError(f"reference rater {reference!r} not in frame")
    judges = list(judges) if judges is not None else default_judges(df, reference)
    with_council = include_council and len(judges) >= 2 and council_name not in set(df["rater"].unique())
    wide = build_cube(
        df,
        council=council_name if with_council else None,
        judges=judges,
        composites=COMPOSITES if composites is None else composites,
    )
    if raters is None:
        raters = list(dict.fromkeys(r for _, r in wide.scores if r != reference))
    if attributes is None:
        attributes = list(dict.fromkeys(a for a, _ in wide.scores))
    exclude = self_exclusions(df, exclude_self_family)
    records: list[AgreementRecord] = []
    with single_threaded_blas():
        for lv in levels:
            cells = build_cells(wide, reference, raters, attributes, lv, exclude)
            records.extend(cell_records(cells, wide, lv, scale, spec))
    return records


def records_frame(records: Sequence[AgreementRecord]) -> pd.DataFrame:
    """Return the records as a DataFrame (mandatory fields first; ``extra`` kept as a dict column)."""
    return pd.DataFrame([r.model_dump() for r in records], columns=list(AgreementRecord.model_fields))
