"""A pairwise batch's report: leaderboards, judges' biases, and τ against the absolute ranking of the same items.

Bradley–Terry leaderboards with CIs; per judge position consistency, first-position, self and length
preferences; Kendall τ of the pairwise ranking against the absolute ranking of the same items.

:func:`report_from_verdicts` is a pure function of frames; :func:`pairwise_report` reads its inputs from the
store: the verdicts (with candidate lengths), the council's judge families and the items' declared responder
families (:mod:`council.pairwise.families`), and the scores of an absolute batch of the same items — the one
asked for, else the owner's newest absolute batch whose item ids are exactly the pairwise batch's.
"""

from __future__ import annotations

import json
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from council.pairwise.agreement import pairwise_vs_absolute
from council.pairwise.consistency import combine_orders, first_position_preference, position_consistency
from council.pairwise.families import Families, declared_families, resolve_families
from council.pairwise.judge_bias import length_preference, self_preference
from council.pairwise.leaderboard import leaderboard
from council.pairwise.types import OVERALL, JudgeRate, Leaderboard, RankingAgreement, SelfPreference
from council.stats.types import BootstrapSpec
from council.store.pairwise_store import ABSOLUTE_SCORES_SQL, BATCH_MODE_SQL, LATEST_MATCHING_ABSOLUTE_SQL
from council.store.store import Store
from council.types import CouncilSpec

__all__ = ["AbsoluteBatchError", "AbsoluteComparison", "PairwiseReport", "candidate_lengths", "pairwise_report",
           "report_from_verdicts"]


class AbsoluteBatchError(ValueError):
    """The asked ``absolute_batch`` cannot be compared (not an absolute batch, or no item in common)."""


class AbsoluteComparison(BaseModel):
    """Kendall τ of the pairwise ranking against an absolute-score ranking of the same items."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    absolute_batch: str | None = Field(description="The absolute batch whose scores were used; None = none.")
    chosen: Literal["given", "latest_matching", "none"] = Field(
        description="given: the absolute_batch asked for; latest_matching: the owner's newest absolute batch "
                    "with exactly the same item ids; none: no such batch.")
    agreements: list[RankingAgreement] = Field(
        description="One per leaderboard attribute: the BT ranking vs responder means of the absolute scores "
                    "('overall' against all rubric attributes, an attribute against its own scores).")
    notes: list[str] = Field(default_factory=list, description="Why an attribute has no τ, or why none exists.")


class PairwiseReport(BaseModel):
    """What a pairwise batch says: per attribute a leaderboard, each judge's biases, agreement with rankings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    leaderboards: list[Leaderboard] = Field(description="One per compared attribute ('overall' or rubric ids).")
    score: str = Field(description="'soft_score_a' (probability-weighted) when every outcome has it, else 'score_a'.")
    position_consistency: list[JudgeRate]
    first_position: list[JudgeRate] = Field(description="first_position_bias and first_position_rate_decisive.")
    self_preference: list[SelfPreference] = Field(
        default_factory=list, description="Per judge with a family and attribute: its own family's win rate "
                                          "minus other-family judges' on the same pairs (win/tie/loss outcomes).")
    length_preference: list[JudgeRate] = Field(
        default_factory=list, description="longer_wins_rate per judge and attribute (0.5 = indifferent).")
    families: Families | None = Field(None, description="Judge and responder families used, and who was skipped.")
    absolute: AbsoluteComparison | None = Field(None, description="τ against the absolute ranking of the items.")
    human: list[RankingAgreement] = Field(
        default_factory=list, description="τ against imported human pairwise preferences (empty until "
                                          "some are imported; GET .../pairwise/human has the full agreement).")
    notes: list[str] = Field(default_factory=list, description="What was skipped and why.")
    verdicts: int = Field(description="Verdict rows (presentation × sample × attribute), abstentions included.")
    abstentions: int
    incomplete_pairs: int = Field(description="Usable verdicts whose other order is missing (no outcome).")


def candidate_lengths(verdicts: pd.DataFrame) -> pd.DataFrame | None:
    """Lengths in characters of every compared candidate (``item_id``, ``candidate_id``, ``length``).

    Read from a store verdict frame's ``first_length``/``second_length``; None when a length is missing (the
    candidate's text is not stored).
    """
    if not {"first_length", "second_length"} <= set(verdicts.columns):
        return None
    parts = [verdicts[["item_id", f"{side}_candidate", f"{side}_length"]].set_axis(
        ["item_id", "candidate_id", "length"], axis=1) for side in ("first", "second")]
    lengths = pd.concat(parts).drop_duplicates(["item_id", "candidate_id"])
    return None if lengths["length"].isna().any() else lengths.reset_index(drop=True)


def _absolute_agreements(outcomes: pd.DataFrame, attributes: list[str], scores: pd.DataFrame, score: str,
                         spec: BootstrapSpec) -> tuple[list[RankingAgreement], list[str]]:
    found, notes = [], []
    for attribute in attributes:
        rows = scores if attribute == OVERALL else scores[scores["attribute"] == attribute]
        if rows.empty:
            notes.append(f"{attribute}: the absolute batch has no score of this attribute")
            continue
        try:
            tau = pairwise_vs_absolute(outcomes, rows, attribute=attribute, score=score, spec=spec)
            found.append(tau.model_copy(update={"attribute": attribute}))
        except ValueError as e:
            notes.append(f"{attribute}: {e}")
    return found, notes


def _family_notes(families: Families) -> list[str]:
    notes = []
    if families.judges_without_family:
        notes.append("self-preference skips judges without a family in the council spec: "
                     + ", ".join(families.judges_without_family))
    if families.responders_without_family:
        notes.append("self-preference skips responders without a family (declare them in item "
                     "meta.responder_families): " + ", ".join(families.responders_without_family))
    return notes


def report_from_verdicts(verdicts: pd.DataFrame, spec: BootstrapSpec | None = None, *,
                         families: Families | None = None, lengths: pd.DataFrame | None = None,
                         absolute: tuple[str | None, Literal["given", "latest_matching", "none"],
                                         pd.DataFrame | None] | None = None) -> PairwiseReport:
    """Combine orders, fit a leaderboard per attribute, and compute each judge's position rates and biases.

    Args:
        verdicts: Verdict frame (:data:`council.pairwise.frames.VERDICT_COLUMNS`).
        spec: Bootstrap options (contexts are resampled).
        families: Judge and responder families; without them there is no self-preference.
        lengths: ``item_id``, ``candidate_id``, ``length``; without them there is no length preference.
        absolute: (absolute batch id or None, how it was chosen, its scores ``item_id``, ``responder``,
            ``attribute``, ``score`` or None); without it the report has no τ against absolute scores.

    Raises:
        ValueError: When no pair has a usable verdict in both orders (nothing to rank).
    """
    spec = spec or BootstrapSpec()
    combined = combine_orders(verdicts)
    outcomes = combined.outcomes
    if outcomes.empty:
        raise ValueError("no pair has a usable verdict in both orders; nothing to rank")
    soft = bool(np.isfinite(outcomes["soft_score_a"].to_numpy(dtype=float)).all())
    score = "soft_score_a" if soft else "score_a"
    attributes = sorted(outcomes["attribute"].unique())
    boards = [leaderboard(outcomes, attribute=a, score=score, spec=spec) for a in attributes]
    notes: list[str] = []
    selfish: list[SelfPreference] = []
    if families is not None:
        notes += _family_notes(families)
        selfish = self_preference(outcomes, families.judges, families.responders, spec)
        if not selfish:
            notes.append("self-preference: no judge with a family has pairs of one own-family responder against "
                         "another family's, judged by a judge of another family too")
    wordy = length_preference(outcomes, lengths, spec) if lengths is not None else []
    if lengths is None:
        notes.append("length preference: candidate texts are not all stored")
    comparison = None
    if absolute is not None:
        batch, chosen, scores = absolute
        if batch is None or scores is None:
            comparison = AbsoluteComparison(absolute_batch=None, chosen="none", agreements=[], notes=[
                "no absolute batch of the same owner has exactly this batch's item ids; judge the same items "
                "in absolute mode (or pass absolute_batch) for Kendall τ against the absolute ranking"])
        else:
            found, why = _absolute_agreements(outcomes, attributes, scores, score, spec)
            comparison = AbsoluteComparison(absolute_batch=batch, chosen=chosen, agreements=found, notes=why)
    return PairwiseReport(
        leaderboards=boards, score=score, position_consistency=position_consistency(outcomes, spec),
        first_position=first_position_preference(outcomes, spec), self_preference=selfish,
        length_preference=wordy, families=families, absolute=comparison, notes=notes, verdicts=len(verdicts),
        abstentions=int(verdicts["verdict"].isna().sum()), incomplete_pairs=len(combined.incomplete))


def _absolute_batch(store: Store, batch_id: str, owner: str,
                    asked: str | None) -> tuple[str | None, Literal["given", "latest_matching", "none"]]:
    if asked is None:
        found = store.query(LATEST_MATCHING_ABSOLUTE_SQL, [batch_id, owner])
        return (str(found.batch_id[0]), "latest_matching") if len(found) else (None, "none")
    row = store.query(f"SELECT owner, {BATCH_MODE_SQL} AS mode FROM batches WHERE batch_id = ?", [asked])
    if row.empty or row.owner[0] != owner:
        raise AbsoluteBatchError(f"no batch {asked[:200]!r}")
    if row["mode"][0] != "absolute":
        raise AbsoluteBatchError(f"batch {asked[:200]!r} is a {row['mode'][0]} batch, not an absolute one")
    shared = store.query("SELECT count(*) AS n FROM items a JOIN items b USING (item_id) WHERE a.batch_id = ? "
                         "AND b.batch_id = ?", [batch_id, asked]).n[0]
    if not shared:
        raise AbsoluteBatchError(f"batch {asked[:200]!r} has no item id in common with {batch_id[:200]!r}")
    return asked, "given"


def pairwise_report(store: Store, batch_id: str, spec: BootstrapSpec | None = None, *,
                    absolute_batch: str | None = None) -> PairwiseReport:
    """:func:`report_from_verdicts` over a stored batch, with families, lengths and an absolute batch.

    Args:
        store: The store.
        batch_id: A pairwise batch.
        spec: Bootstrap options.
        absolute_batch: The absolute batch to compare rankings with (same owner); None picks the owner's
            newest absolute batch whose item ids equal this batch's, and says when there is none.

    Raises:
        KeyError: No such batch.
        AbsoluteBatchError: ``absolute_batch`` is not this owner's absolute batch sharing an item.
        ValueError: No complete pair yet, or a malformed ``meta.responder_families`` declaration.

    """
    row = store.query("SELECT owner, council FROM batches WHERE batch_id = ?", [batch_id])
    if row.empty:
        raise KeyError(batch_id)
    council = CouncilSpec.model_validate(json.loads(row.council[0]))
    metas = [json.loads(m) if m else {} for m in store.query("SELECT meta FROM items WHERE batch_id = ?",
                                                             [batch_id]).meta]
    responders = store.query("SELECT DISTINCT responder FROM candidates WHERE batch_id = ?", [batch_id]).responder
    families = resolve_families(council.judges, responders, declared_families(metas))
    verdicts = store.pair_verdicts(batch_id)
    chosen_batch, chosen = _absolute_batch(store, batch_id, str(row.owner[0]), absolute_batch)
    scores = store.query(ABSOLUTE_SCORES_SQL, [chosen_batch]) if chosen_batch is not None else None
    report = report_from_verdicts(verdicts, spec, families=families, lengths=candidate_lengths(verdicts),
                                  absolute=(chosen_batch, chosen, scores))
    return report.model_copy(update={"human": _human_rankings(store, batch_id, str(row.owner[0]), verdicts, spec)})


def _human_rankings(store: Store, batch_id: str, owner: str, verdicts: pd.DataFrame,
                    spec: BootstrapSpec | None) -> list[RankingAgreement]:
    """τ of the council's BT ranking against the humans' (:mod:`council.pairwise.human`); [] without humans."""
    from council.pairwise.human import human_agreement
    from council.store.human_pairs_store import read_human_pairs

    preferences = read_human_pairs(store, owner, batch_id)
    if preferences.empty:
        return []
    try:
        return human_agreement(combine_orders(verdicts).outcomes, preferences, spec=spec, batch_id=batch_id).rankings
    except ValueError:  # e.g. the humans' pairs do not connect the responders: the human endpoint says why
        return []
