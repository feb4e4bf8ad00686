"""Tidy frames of pairwise verdicts: one row per (context, judge, attribute, ordered pair, sample)."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from council.pairwise.types import PairVerdict

__all__ = ["VERDICT_COLUMNS", "validate_verdicts", "verdicts_frame"]

VERDICT_COLUMNS: tuple[str, ...] = (
    "item_id", "judge_id", "attribute", "first_candidate", "second_candidate", "first_responder",
    "second_responder", "order", "sample", "verdict", "p_first", "p_second", "p_tie", "preference",
)
"""Columns every verdict frame has (a store frame adds rationale, abstention, calls, lengths ...)."""

_VERDICTS = {"A", "B", "tie"}


def verdicts_frame(verdicts: Iterable[PairVerdict]) -> pd.DataFrame:
    """Turn verdict records into the tidy frame the statistics take (abstentions kept, verdict missing)."""
    rows = [v.model_dump(mode="python") for v in verdicts]
    frame = pd.DataFrame(rows, columns=[*VERDICT_COLUMNS, "rationale", "abstention", "detail", "calls"])
    return frame.astype({"p_first": float, "p_second": float, "p_tie": float, "preference": float})


def validate_verdicts(frame: pd.DataFrame) -> None:
    """Check a verdict frame's columns and values.

    Raises:
        ValueError: A column is missing, an order is not AB/BA, a verdict is not A/B/tie/missing, or a
            candidate is compared with itself.

    """
    missing = [c for c in VERDICT_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"verdict frame lacks columns {missing}")
    if not frame["order"].isin(["AB", "BA"]).all():
        raise ValueError("order must be 'AB' or 'BA'")
    verdicts = frame["verdict"].dropna()
    if not verdicts.isin(_VERDICTS).all():
        raise ValueError(f"verdicts must be one of {sorted(_VERDICTS)} or missing")
    if (frame["first_candidate"] == frame["second_candidate"]).any():
        raise ValueError("a candidate cannot be compared with itself")
