"""The bias report: source-model bias, self-preference, length bias and run spread as flat records."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import pandas as pd

from council.stats.bias_frames import length_bias, run_spread, self_preference, source_model_bias
from council.stats.cube import build_cube
from council.stats.frames import COMPOSITES, WideArrays, self_exclusions, validate_tidy
from council.stats.report import default_judges
from council.stats.types import AgreementRecord, Estimate


def _rec(rater: str, reference: str, attribute: str, e: Estimate) -> AgreementRecord:
    return AgreementRecord(
        rater=rater,
        reference=reference,
        attribute=attribute,
        level="item",
        statistic=e.statistic,
        value=e.value,
        ci_low=e.ci_low,
        ci_high=e.ci_high,
        n=e.n,
        k=2,
        ci_method=e.ci_method,
        p_value=e.p_value,
        extra=e.extra,
    )


def _rater_records(
    wide: WideArrays, rater: str, reference: str, attr: str, own: Collection[str]
) -> list[AgreementRecord]:
    out = []
    for rb in source_model_bias(None, rater, reference, attr, wide=wide):
        e = rb.estimate
        out.append(
            _rec(
                rater,
                reference,
                attr,
                e.model_copy(
                    update={"statistic": "source_model_bias", "extra": {**e.extra, "responder": rb.responder}}
                ),
            )
        )
    if own:
        sp = self_preference(None, rater, reference, attr, own, wide=wide)
        out.append(
            _rec(
                rater,
                reference,
                attr,
                Estimate(
                    statistic="self_preference",
                    value=sp.difference,
                    ci_low=sp.ci_low,
                    ci_high=sp.ci_high,
                    p_value=sp.p_value,
                    n=sp.n_own + sp.n_other,
                    ci_method=sp.ci_method,
                    extra={
                        "bias_own": sp.bias_own,
                        "bias_other": sp.bias_other,
                        "n_own": sp.n_own,
                        "own_responders": ",".join(sp.own_responders),
                    },
                ),
            )
        )
    if wide.length is not None:
        lb = length_bias(None, rater, reference, attr, wide=wide)
        out.append(
            _rec(
                rater,
                reference,
                attr,
                Estimate(
                    statistic="length_bias_slope",
                    value=lb.slope,
                    ci_low=lb.ci_low,
                    ci_high=lb.ci_high,
                    p_value=lb.p_value,
                    n=lb.n,
                    ci_method="t",
                    extra={"r": lb.r},
                ),
            )
        )
    return out


def bias_report(
    df: pd.DataFrame,
    reference: str = "human_expert",
    *,
    raters: Sequence[str] | None = None,
    attributes: Sequence[str] | None = None,
    judges: Sequence[str] | None = None,
    include_council: bool = True,
    own_responders: bool | Mapping[str, Collection[str]] = True,
    composites: Mapping[str, Sequence[str]] | None = None,
) -> list[AgreementRecord]:
    """Item-level bias diagnostics of every rater against ``reference`` as flat records.

    Statistics: ``source_model_bias`` (one record per responder, ``extra['responder']``),
    ``self_preference`` (own-family bias minus other bias; needs families or a mapping),
    ``length_bias_slope`` (when ``length`` exists) and, when a rater sampled targets more than
    once, ``run_sd_mean`` (reference = the rater itself; ``extra`` holds the share of targets whose
    samples disagree and the test–retest ICC(1,1)).

    Args:
        df: Tidy frame.
        reference: Reference rater.
        raters: Raters to analyse; default all non-reference raters plus the council.
        attributes: Attributes; default all present plus composites.
        judges: Raters averaged into the council; default the non-human raters.
        include_council: Add the council rater.
        own_responders: True = each rater's family from the family columns (skipped silently when
            they are absent); a mapping rater -> own responders; False = no self-preference.
        composites: name -> component attributes; default the MentalAlign composites.

    Returns:
        Flat :class:`AgreementRecord` list.

    """
    df = validate_tidy(df)
    judges = list(judges) if judges is not None else default_judges(df, reference)
    council = "council" if include_council and len(judges) >= 2 else None
    wide = build_cube(
        df, council=council, judges=judges, composites=COMPOSITES if composites is None else composites
    )
    raters = raters or list(dict.fromkeys(r for _, r in wide.scores if r != reference))
    attributes = attributes or list(dict.fromkeys(a for a, _ in wide.scores))
    has_families = {"rater_family", "responder_family", "responder"} <= set(df.columns)
    own = self_exclusions(df, own_responders) if (own_responders is not True or has_families) else {}
    out: list[AgreementRecord] = []
    for rater in raters:
        for attr in attributes:
            if (
                (attr, rater) in wide.scores
                and (attr, reference) in wide.scores
                and wide.responder is not None
            ):
                out.extend(_rater_records(wide, rater, reference, attr, own.get(rater, frozenset())))
            if "sample" in df.columns and attr in set(df["attribute"]) and rater in set(df["rater"]):
                rs = run_spread(df, rater, attr)
                if rs.n_targets:
                    out.append(
                        AgreementRecord(
                            rater=rater,
                            reference=rater,
                            attribute=attr,
                            level="item",
                            statistic="run_sd_mean",
                            value=rs.mean_sd,
                            ci_low=float("nan"),
                            ci_high=float("nan"),
                            n=rs.n_targets,
                            k=rs.n_samples,
                            extra={"share_disagree": rs.share_disagree, "icc_1_1": rs.icc_1_1},
                        )
                    )
    return out
