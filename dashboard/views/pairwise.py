"""The Leaderboard page's pairwise parts: the Bradley–Terry ranking beside the absolute one, and the judges.

From ``GET /v1/batches/{id}/pairwise`` (the pairwise batch's report, with Kendall τ against its absolute
batch) and ``GET /v1/views/leaderboard`` of that absolute batch. Draws only; every number is the service's.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard.charts import forest, ranking
from dashboard.client import ApiError, Client
from dashboard.common import keep, table

__all__ = ["judges_section", "pairwise_beside", "strengths_frame", "twin_batches"]

_STATISTICS = {"position_consistency_rate": "position consistency", "first_position_bias": "first-position preference",
               "own_family_win_rate_difference": "self-preference"}


def twin_batches(batches: list[dict[str, Any]], batch: dict[str, Any], mode: str) -> list[dict[str, Any]]:
    """The owner's other batches of ``mode`` over exactly the same items as ``batch``, newest first."""
    return [b for b in batches if b.get("mode") == mode and b["batch_id"] != batch["batch_id"]
            and b.get("items_key") == batch.get("items_key")]


def strengths_frame(board: dict[str, Any]) -> pd.DataFrame:
    """One leaderboard's strengths as a table, with whether each rank is separable from the next."""
    rows = pd.DataFrame(board["strengths"])
    separable = {n["higher"]: n["separable"] for n in board["neighbours"]}
    rows["separable_from_next"] = rows["responder"].map(separable)
    return rows[["rank", "responder", "strength", "ci_low", "ci_high", "rank_low", "rank_high", "wins", "comparisons",
                 "separable_from_next"]]


def _ci(r: dict[str, Any], signed: bool = False) -> str:
    f = "+.2f" if signed else ".2f"
    return f"{r['value' if 'value' in r else 'difference']:{f}} [{r['ci_low']:{f}}, {r['ci_high']:{f}}]"


def _absolute_side(c: Client, absolute_id: str | None, attribute: str, given: pd.DataFrame | None) -> None:
    st.markdown("**Absolute ranking** (council mean score)")
    if given is None and absolute_id is None:
        st.info("No absolute batch over the same items: judge them in absolute mode to compare the rankings.")
        return
    if given is None:
        try:
            rows = pd.DataFrame(c.leaderboard({"batch_id": str(absolute_id)}, "council")["rows"])
        except ApiError as e:
            st.warning(f"The absolute batch's leaderboard is not available: {e}")
            return
        attrs = list(dict.fromkeys(rows["attribute"]))
        if attribute in attrs:
            shown = attribute
        else:
            keep("pw_abs_attribute", attrs)
            shown = st.selectbox("Absolute attribute", attrs, key="pw_abs_attribute",
                                 help="Kendall τ of an 'overall' preference is against the mean over every rubric "
                                      "attribute; pick any attribute or composite to look at here")
        given = rows[rows["attribute"] == shown]
    if given.empty:
        st.info("The absolute batch has no responders to rank.")
        return
    st.caption(f"batch `{absolute_id}` · {given['attribute'].iloc[0]}")
    st.altair_chart(ranking(given), width="stretch")
    table(given[["rank", "responder", "mean", "ci_low", "ci_high", "rank_low", "rank_high"]], "absolute_ranking")


def pairwise_beside(c: Client, report: dict[str, Any], *, absolute_rows: pd.DataFrame | None = None) -> None:
    """The pairwise (Bradley–Terry) ranking beside the absolute one, the planted-order line and Kendall τ.

    ``absolute_rows`` is the absolute leaderboard already shown (one attribute); without it the report's
    absolute batch is fetched.
    """
    boards = {b["attribute"]: b for b in report["leaderboards"]}
    keep("pw_attribute", list(boards))
    attribute = st.selectbox("Pairwise attribute", list(boards), key="pw_attribute") if len(boards) > 1 \
        else next(iter(boards))
    board = boards[attribute]
    absolute = report.get("absolute") or {}
    left, right = st.columns(2)
    with left:
        _absolute_side(c, absolute.get("absolute_batch"), attribute, absolute_rows)
    with right:
        st.markdown(f"**Pairwise ranking** (Bradley–Terry strength, {attribute})")
        rows = strengths_frame(board)
        st.caption(f"{board['n_outcomes']} outcomes over {board['n_contexts']} contexts; {report['score']}; "
                   f"95% CIs by {board['ci_method']}; strengths are log-odds: P(i beats j) = σ(sᵢ − sⱼ)")
        st.altair_chart(ranking(rows, "strength", "Bradley–Terry strength (95% CI)"), width="stretch")
        table(rows, f"pairwise_ranking_{attribute}")
    order = " › ".join(rows.sort_values("rank")["responder"])
    n_sep = sum(bool(n["separable"]) for n in board["neighbours"])
    st.markdown(f"**Pairwise order** (best first): {order}")
    st.markdown(f"**{n_sep} of {len(board['neighbours'])}** neighbouring ranks are separable in the pairwise "
                "ranking (the CI of their strength difference excludes 0).")
    taus = [a for a in absolute.get("agreements", []) if a.get("attribute") == attribute]
    if absolute.get("absolute_batch") and taus:
        chosen = {"given": "as asked", "latest_matching": "the newest absolute batch over the same items"}
        tau = taus[0]
        st.markdown(f"**Kendall τ-b** between the pairwise and absolute rankings: {_ci(tau, signed=True)} over "
                    f"{tau['n_responders']} responders and {tau['n_contexts']} contexts "
                    f"(absolute batch `{absolute['absolute_batch']}`, {chosen.get(absolute['chosen'], '')}).")
    for note in absolute.get("notes", []):
        st.caption(f"τ: {note}")
    if not report.get("human"):
        st.caption("Human pairwise preferences: none imported for this batch (τ against them appears here once "
                   "they are).")


def _judge_records(report: dict[str, Any]) -> pd.DataFrame:
    rates = [r for r in [*report["position_consistency"], *report["first_position"]]
             if r["statistic"] in _STATISTICS]
    rows = [{"judge": r["judge_id"], "attribute": r["attribute"], "statistic": _STATISTICS[r["statistic"]],
             "value": r["value"], "ci_low": r["ci_low"], "ci_high": r["ci_high"], "n": r["n"]} for r in rates]
    rows += [{"judge": p["judge_id"], "attribute": p["attribute"], "statistic": _STATISTICS[p["statistic"]],
              "value": p["difference"], "ci_low": p["ci_low"], "ci_high": p["ci_high"], "n": p["n_pairs"]}
             for p in report.get("self_preference", [])]
    return pd.DataFrame(rows, columns=["judge", "attribute", "statistic", "value", "ci_low", "ci_high", "n"])


def judges_section(report: dict[str, Any]) -> None:
    """Each judge's position consistency, first-position preference and self-preference with CIs."""
    st.subheader("Judges in pairwise comparisons")
    st.caption("Position consistency: share of pairs whose two orders agree (1 = never swayed by order). "
               "First-position preference: (wins of the first-shown − of the second-shown) / verdicts (0 = none). "
               "Self-preference: its own family's responders' win rate under this judge minus under judges of other "
               "families, on the same pairs (0 = none). 95% cluster-bootstrap CIs over contexts.")
    frame = _judge_records(report)
    if frame.empty:
        st.info("No judge statistics yet.")
        return
    own = {p["judge_id"]: p for p in report.get("self_preference", [])}
    for judge, rows in frame.groupby("judge", sort=True):
        parts = []
        for stat in ("position consistency", "first-position preference"):
            found = rows[rows["statistic"] == stat]
            if len(found):
                parts.append(f"{stat} {_ci(found.iloc[0].to_dict(), signed=stat != 'position consistency')}")
        if judge in own:
            p = own[judge]
            parts.append(f"self-preference {_ci(p, signed=True)} (family {p['family']}: "
                         f"{', '.join(p['own_responders'])})")
        else:
            parts.append("self-preference: not computable (no family, or no own-family responder)")
        st.markdown(f"- **{judge}**: " + " · ".join(parts))
    st.altair_chart(forest(frame.rename(columns={"judge": "rater", "attribute": "_attribute"})
                           .assign(attribute=lambda d: d["statistic"]), x_title="value (95% CI)", zero=True),
                    width="stretch")
    table(frame, "pairwise_judges")
    families = report.get("families") or {}
    if families:
        st.caption("Families: judges " + (", ".join(f"{j} = {f}" for j, f in families["judges"].items()) or "none")
                   + "; responders " + (", ".join(f"{r} = {f} ({families['responder_sources'][r]})"
                                                  for r, f in families["responders"].items()) or "none")
                   + ". Declare responder families in item `meta.responder_families`.")
    for note in report.get("notes", []):
        st.caption(f"Note: {note}")
