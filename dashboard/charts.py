"""Altair charts of the dashboard: forest plots, heatmaps, Bland–Altman, histograms, leaderboards.

Each takes a tidy frame as the service returns it and draws it; none computes a statistic.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

__all__ = ["bland_altman", "forest", "heatmap", "histogram", "ranking"]


def forest(df: pd.DataFrame, *, x_title: str, bands: bool = False, zero: bool = False) -> alt.FacetChart:
    """Point estimates with CI bars: one row per rater, one panel per attribute.

    ``df`` has ``rater, attribute, value, ci_low, ci_high, n``.

    ``bands`` draws the Koo & Li (2016) ICC thresholds 0.5, 0.75 and 0.9; ``zero`` a line at 0.
    """
    tooltip = ["rater", "attribute", alt.Tooltip("value:Q", format=".3f"), alt.Tooltip("ci_low:Q", format=".3f"),
               alt.Tooltip("ci_high:Q", format=".3f"), "n"]
    base = alt.Chart().encode(y=alt.Y("rater:N", title=None, axis=alt.Axis(labelLimit=260)))
    layers: list[alt.Chart] = [
        base.mark_rule(strokeWidth=2).encode(x=alt.X("ci_low:Q", title=x_title), x2="ci_high:Q",
                                             color=alt.Color("rater:N", legend=None)),
        base.mark_point(filled=True, size=60).encode(x="value:Q", color="rater:N", tooltip=tooltip)]
    marks = [0.5, 0.75, 0.9] if bands else [0.0] if zero else []
    layers += [alt.Chart().mark_rule(strokeDash=[4, 4], color="gray").encode(x=alt.datum(v)) for v in marks]
    order = list(dict.fromkeys(df["attribute"]))
    return alt.layer(*layers, data=df).properties(width=280).facet(
        row=alt.Row("attribute:N", sort=order, title=None, header=alt.Header(labelAngle=0, labelAlign="left",
                                                                             labelFontWeight="bold")),
        spacing=6)


def heatmap(df: pd.DataFrame, x: str, y: str, value: str = "value", fmt: str = ".2f",
            scheme: str = "blues", domain: tuple[float, float] | None = None) -> alt.Chart:
    """A labelled heatmap of ``value`` over ``x`` × ``y``."""
    scale = alt.Scale(scheme=scheme, domain=list(domain)) if domain else alt.Scale(scheme=scheme)
    base = alt.Chart(df).encode(x=alt.X(f"{x}:N", title=None), y=alt.Y(f"{y}:N", title=None))
    rect = base.mark_rect().encode(color=alt.Color(f"{value}:Q", scale=scale, title=value),
                                   tooltip=[x, y, alt.Tooltip(f"{value}:Q", format=fmt)])
    text = base.mark_text(fontSize=11).encode(text=alt.Text(f"{value}:Q", format=fmt))
    return (rect + text).properties(height=max(160, 36 * df[y].nunique()))


def bland_altman(points: pd.DataFrame, lines: pd.DataFrame, title: str) -> alt.LayerChart:
    """Binned Bland–Altman points (size = responses) with the bias and limits of agreement of one rater.

    ``points``: ``mean, diff, n``; ``lines``: ``y, line`` (bias, LoA low, LoA high).
    """
    dots = alt.Chart(points).mark_circle(opacity=0.6).encode(
        x=alt.X("mean:Q", title="mean of rater and human"), y=alt.Y("diff:Q", title="rater − human"),
        size=alt.Size("n:Q", title="responses", scale=alt.Scale(range=[10, 600])),
        tooltip=["mean", "diff", "n"])
    rules = alt.Chart(lines).mark_rule(strokeDash=[6, 3]).encode(
        y="y:Q", color=alt.Color("line:N", title=None), tooltip=["line", alt.Tooltip("y:Q", format=".3f")])
    return alt.layer(dots, rules).properties(title=title, height=260)


def histogram(df: pd.DataFrame) -> alt.Chart:
    """Share of responses per score, one bar per rater side by side (``rater, score, share, n``)."""
    return alt.Chart(df).mark_bar().encode(
        x=alt.X("score:O", title="score"), xOffset="rater:N", y=alt.Y("share:Q", title="share of responses",
                                                                      axis=alt.Axis(format="%")),
        color="rater:N", tooltip=["rater", "score", "n", alt.Tooltip("share:Q", format=".1%")])


def ranking(df: pd.DataFrame, value: str = "mean", title: str = "mean score (95% CI)") -> alt.Chart:
    """Responders by ``value`` with bootstrap CIs, best on top (``responder, rank, <value>, ci_low, ci_high``).

    The absolute leaderboard draws ``mean``; the pairwise one ``strength`` (Bradley–Terry log-strength).
    """
    order = df.sort_values("rank")["responder"].tolist()
    tooltip = ["rank", "responder", alt.Tooltip(f"{value}:Q", format=".3f"), alt.Tooltip("ci_low:Q", format=".3f"),
               alt.Tooltip("ci_high:Q", format=".3f")]
    base = alt.Chart(df).encode(y=alt.Y("responder:N", sort=order, title=None))
    return (base.mark_rule(strokeWidth=2).encode(x=alt.X("ci_low:Q", title=title, scale=alt.Scale(zero=False)),
                                                 x2="ci_high:Q")
            + base.mark_point(filled=True, size=70).encode(x=f"{value}:Q", tooltip=tooltip))
