"""Statistics core: agreement, bias and bootstrap over tidy rating frames (pure functions, no I/O)."""

from council.stats.agreement import (
    correlations,
    error_metrics,
    krippendorff_alpha,
    lin_ccc,
    pair_agreement,
    quadratic_kappa,
)
from council.stats.bias import bland_altman, ceiling_rates, mean_difference, sd_ratio
from council.stats.bias_frames import length_bias, run_spread, self_preference, source_model_bias
from council.stats.bias_report import bias_report
from council.stats.bootstrap import BOOTSTRAP_STATISTICS, cluster_weights, item_replicates, system_replicates
from council.stats.cube import build_cube
from council.stats.frames import (
    ATTRIBUTES,
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
from council.stats.icc import ICC_FORMS, MeanSquares, icc, icc_matrix, icc_tests, icc_values, mean_squares
from council.stats.matrix import agreement_matrix, human_ceiling, pairwise_records
from council.stats.report import agreement_report, records_frame
from council.stats.types import (
    AgreementRecord,
    BlandAltmanResult,
    BootstrapSpec,
    Estimate,
    ICCResult,
    LengthBias,
    ResponderBias,
    RunSpread,
    SelfPreference,
)

__all__ = [
    "ATTRIBUTES",
    "BOOTSTRAP_STATISTICS",
    "COMPOSITES",
    "ICC_FORMS",
    "AgreementRecord",
    "BlandAltmanResult",
    "BootstrapSpec",
    "Estimate",
    "ICCResult",
    "LengthBias",
    "MeanSquares",
    "Paired",
    "ResponderBias",
    "RunSpread",
    "SelfPreference",
    "add_composites",
    "add_council",
    "agreement_matrix",
    "agreement_report",
    "bias_report",
    "bland_altman",
    "build_cube",
    "ceiling_rates",
    "cluster_weights",
    "correlations",
    "error_metrics",
    "human_ceiling",
    "icc",
    "icc_matrix",
    "icc_tests",
    "icc_values",
    "item_replicates",
    "krippendorff_alpha",
    "length_bias",
    "lin_ccc",
    "mean_difference",
    "mean_squares",
    "pair_agreement",
    "paired",
    "pairwise_records",
    "quadratic_kappa",
    "records_frame",
    "run_spread",
    "sd_ratio",
    "self_exclusions",
    "self_preference",
    "source_model_bias",
    "system_level",
    "system_replicates",
    "validate_tidy",
    "wide_scores",
]
