"""What orders the review queue and what queues a candidate by itself: risk, unsafe flags, council uncertainty.

Risk comes from the judges' own agent outputs (stored in ``agent_outputs``): the domain agent's ``risk_level``
and the ToM agent's ``risk_signals`` per context, the scoring agent's ``flags`` per candidate. Uncertainty is
read from ``council_scores``: per attribute the larger of the judges' spread (max − min, over the scale's
range) and 1 − the council's mean confidence (probability-weighted scoring only); 1 where the council has
no score (no quorum, every judge abstained). A candidate's uncertainty is the mean over its attributes: the
larger it is, the more a human rating can move a calibration fitted on it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import pandas as pd

from council.review.types import RISK_LEVELS
from council.store.store import Store

__all__ = ["HIGH_RISK", "candidate_flags", "context_risk", "double_review", "uncertainties"]

HIGH_RISK = RISK_LEVELS.index("high")
"""Risk ranks at or above this one always go to review (``high``, ``imminent``)."""


def context_risk(store: Store, batch_id: str) -> dict[str, tuple[int, str]]:
    """Per item of the batch with any risk: (risk rank, detail naming the judges and what they said).

    The rank is the most severe domain ``risk_level`` of any judge; ToM risk signals (self-harm, harm to
    others, abuse, medical) and a flagging risk screen (:mod:`judges.agents.safety`) raise it to at least
    ``high``, since the seeker's own words carry the risk.
    """
    df = store.query(
        "SELECT item_id, judge_id, agent, output FROM agent_outputs WHERE batch_id = ? "
        "AND agent IN ('tom', 'domain', 'risk_screen') AND output IS NOT NULL ORDER BY item_id, judge_id, agent",
        [batch_id])
    out: dict[str, tuple[int, list[str]]] = {}
    for row in df.itertuples():
        output = json.loads(row.output)
        rank, notes = out.get(row.item_id, (0, []))
        if row.agent == "domain" and output.get("risk_level") in RISK_LEVELS:
            level = output["risk_level"]
            if RISK_LEVELS.index(level) >= HIGH_RISK:
                notes = [*notes, f"{row.judge_id} domain agent: risk {level}"]
            rank = max(rank, RISK_LEVELS.index(level))
        if row.agent == "tom" and output.get("risk_signals"):
            kinds = sorted({str(s.get("kind")) for s in output["risk_signals"]})
            notes = [*notes, f"{row.judge_id} ToM agent: risk signals {', '.join(kinds)}"]
            rank = max(rank, HIGH_RISK)
        if row.agent == "risk_screen" and output.get("flagged"):
            notes = [*notes, f"{row.judge_id} risk screen: {_screen_note(output)}"]
            rank = max(rank, HIGH_RISK)
        out[row.item_id] = (rank, notes)
    return {item: (rank, "; ".join(notes)) for item, (rank, notes) in out.items()}


def _screen_note(output: dict) -> str:
    p_yes = output.get("p_yes")
    return (f"P(yes) {p_yes:.2f} ≥ {output.get('threshold'):.2f}" if isinstance(p_yes, float)
            else f"answered {output.get('answer')}")


def candidate_flags(store: Store, batch_id: str, flag: str = "unsafe_advice") -> dict[tuple[str, str], str]:
    """Candidates some judge flagged with ``flag``: (item, candidate) -> who flagged them and how.

    A judge flags through its scoring agent's ``flags`` or, for ``unsafe_advice``, its advice screen
    (:mod:`judges.agents.safety`).
    """
    df = store.query(
        "SELECT item_id, candidate_id, judge_id, agent, output FROM agent_outputs WHERE batch_id = $1 "
        "AND output IS NOT NULL AND ((agent = 'scoring' "
        "AND list_contains(CAST(json_extract(output, '$.flags') AS VARCHAR[]), $2)) "
        "OR ($2 = 'unsafe_advice' AND agent = 'advice_screen' AND json_extract(output, '$.flagged')::BOOLEAN)) "
        "ORDER BY item_id, candidate_id, judge_id, agent", [batch_id, flag])
    out: dict[tuple[str, str], list[str]] = {}
    for row in df.itertuples():
        who = (str(row.judge_id) if row.agent == "scoring"
               else f"{row.judge_id}'s advice screen ({_screen_note(json.loads(row.output))})")
        out.setdefault((row.item_id, row.candidate_id), []).append(who)
    return {key: f"flagged {flag} by {', '.join(sorted(set(judges)))}" for key, judges in out.items()}


def uncertainties(store: Store, batch_id: str, scale: tuple[float, float],
                  attributes: Sequence[str] | None = None) -> dict[tuple[str, str], float]:
    """Per candidate of the batch: the council's uncertainty in [0, 1] (see the module docstring)."""
    width = float(scale[1] - scale[0]) or 1.0
    df = store.query(
        "SELECT item_id, candidate_id, attribute_id, score, status, spread, confidence FROM council_scores "
        "WHERE batch_id = ?", [batch_id])
    if attributes:
        df = df[df["attribute_id"].isin(list(attributes))]
    if df.empty:
        return {}
    spread = (df["spread"].astype(float).fillna(0.0) / width).clip(0, 1)
    unsure = (1.0 - df["confidence"].astype(float)).fillna(0.0).clip(0, 1)
    u = pd.concat([spread, unsure], axis=1).max(axis=1)
    u[df["score"].isna() | (df["status"] != "ok")] = 1.0
    per = df.assign(u=u).groupby(["item_id", "candidate_id"])["u"].mean()
    return {(str(i), str(c)): float(v) for (i, c), v in per.items()}


def double_review(owner: str, batch_id: str, item_id: str, candidate_id: str, share: float) -> bool:
    """Whether a candidate belongs to the double-review share: a deterministic hash draw, uniform in [0, 1).

    The same candidate is always in or out for a given share, whatever order things are queued in, and the
    fraction of candidates in it converges to ``share``.
    """
    digest = hashlib.sha256(f"{owner}\x1f{batch_id}\x1f{item_id}\x1f{candidate_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share
