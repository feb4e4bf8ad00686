"""Typed, frozen result records for the statistics core.

Every statistic names its exact form (``ICC(A,1)``, ``pearson``, ``bland_altman_loa_low`` ...) so a
coefficient never travels without saying what it is. ``NaN`` means "not computable" (too few
complete pairs, zero variance); it serialises to JSON ``null``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Level = Literal["item", "system"]
ICCForm = Literal["ICC(1,1)", "ICC(A,1)", "ICC(C,1)", "ICC(1,k)", "ICC(A,k)", "ICC(C,k)"]
ExtraValue = float | int | str | bool | None


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BootstrapSpec(_Frozen):
    """Options of the seeded cluster bootstrap (resampling contexts with replacement)."""

    n_boot: int = Field(1000, ge=10, description="Number of bootstrap replicates.")
    seed: int = Field(0, description="Seed of numpy's default_rng; same seed gives the same CIs.")
    level: float = Field(0.95, gt=0.0, lt=1.0, description="Two-sided confidence level (percentile CI).")

    @property
    def method(self) -> str:
        """The ``ci_method`` label of intervals computed with this spec."""
        return f"cluster-bootstrap({self.n_boot}, seed={self.seed})"


class ICCResult(_Frozen):
    """One intraclass correlation form with its F test and F-based confidence interval."""

    form: ICCForm = Field(description="McGraw & Wong / pingouin label of the ICC form.")
    value: float = Field(description="The coefficient.")
    ci_low: float = Field(description="Lower bound of the 95% CI.")
    ci_high: float = Field(description="Upper bound of the 95% CI.")
    F: float = Field(description="F statistic of the test ICC = 0.")
    df1: int = Field(description="Numerator degrees of freedom (n - 1).")
    df2: int = Field(description="Denominator degrees of freedom.")
    p_value: float = Field(description="p-value of the F test.")
    n: int = Field(description="Number of complete targets used.")
    k: int = Field(description="Number of raters.")
    n_dropped: int = Field(0, description="Targets dropped because a rating was missing (complete cases).")
    ci_method: str = Field("F", description="How the CI was computed.")


class Estimate(_Frozen):
    """A single named statistic with an optional CI and p-value."""

    statistic: str = Field(description="Exact name of the statistic, e.g. 'spearman', 'ccc', 'mae'.")
    value: float = Field(description="The estimate.")
    ci_low: float = Field(float("nan"), description="Lower CI bound (NaN when no CI is available).")
    ci_high: float = Field(float("nan"), description="Upper CI bound (NaN when no CI is available).")
    p_value: float = Field(float("nan"), description="p-value of the associated test, NaN if none.")
    n: int = Field(description="Number of complete pairs used.")
    ci_method: str = Field("none", description="How the CI was computed ('t', 'fisher-z', 'wilson', ...).")
    extra: dict[str, ExtraValue] = Field(default_factory=dict, description="Named side results.")


class BlandAltmanResult(_Frozen):
    """Bland–Altman bias and 95% limits of agreement, each with an approximate 95% CI."""

    bias: float = Field(description="Mean difference rater - reference.")
    bias_ci_low: float
    bias_ci_high: float
    sd_diff: float = Field(description="SD of the differences (ddof=1).")
    loa_low: float = Field(description="bias - z * sd_diff.")
    loa_low_ci_low: float
    loa_low_ci_high: float
    loa_high: float = Field(description="bias + z * sd_diff.")
    loa_high_ci_low: float
    loa_high_ci_high: float
    n: int


class ResponderBias(_Frozen):
    """Mean difference (rater - reference) on the responses of one responder model."""

    rater: str
    reference: str
    attribute: str
    responder: str
    estimate: Estimate


class SelfPreference(_Frozen):
    """Bias of a rater on its own family's responses minus its bias on the others."""

    rater: str
    reference: str
    attribute: str
    own_responders: list[str] = Field(description="Responders counted as the rater's own.")
    bias_own: float
    bias_other: float
    difference: float = Field(description="bias_own - bias_other; > 0 means self-preference.")
    ci_low: float
    ci_high: float
    p_value: float
    n_own: int
    n_other: int
    ci_method: str = Field(description="'paired-by-context t' or 'welch t'.")


class LengthBias(_Frozen):
    """Linear dependence of the difference (rater - reference) on response length."""

    rater: str
    reference: str
    attribute: str
    slope: float = Field(description="Change of (rater - reference) per unit of length.")
    ci_low: float
    ci_high: float
    r: float = Field(description="Pearson correlation of the difference with length.")
    p_value: float
    n: int


class RunSpread(_Frozen):
    """Run-to-run spread of a rater that scored each target more than once."""

    rater: str
    attribute: str
    n_targets: int = Field(description="Targets with at least two scored samples.")
    n_samples: int = Field(description="Largest number of samples per target.")
    mean_sd: float = Field(description="Mean over targets of the within-target SD (ddof=1).")
    share_disagree: float = Field(description="Share of targets whose samples are not all equal.")
    icc_1_1: float = Field(description="ICC(1,1) with samples as raters (test-retest), complete cases.")


class AgreementRecord(_Frozen):
    """The flat output record printed by the CLI as JSON (one statistic of one comparison)."""

    rater: str = Field(description="The rater compared (a judge, 'council', ...).")
    reference: str = Field(description="What it is compared with (usually 'human_expert').")
    attribute: str = Field(description="Attribute or composite id.")
    level: Level = Field(description="'item' (per response) or 'system' (per responder means).")
    statistic: str = Field(description="Exact name, e.g. 'ICC(A,1)', 'pearson', 'bias'.")
    value: float
    ci_low: float
    ci_high: float
    n: int = Field(description="Targets (items or systems) used.")
    k: int = Field(description="Raters in the comparison.")
    ci_method: str = Field("none", description="'F', 't', 'fisher-z', 'wilson', 'cluster-bootstrap(...)'.")
    p_value: float = float("nan")
    extra: dict[str, ExtraValue] = Field(default_factory=dict)
