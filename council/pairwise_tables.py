"""Terminal tables of a pairwise batch: leaderboard (Bradley–Terry strengths with CIs), judges' position rates."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from council.pairwise.plan import calls_per_context, parse_pairs
from council.pairwise.report import pairwise_report
from council.stats.types import BootstrapSpec
from council.store.store import Store
from council.types import Batch, CouncilSpec, PairwiseOptions

__all__ = ["formula_calls", "print_pairwise_tables"]


def formula_calls(batch: Batch, council: CouncilSpec, options: PairwiseOptions) -> int:
    """Calls the batch costs by the formula (no repairs, empty cache).

    Per judge and context with pairs: ToM + domain + 2 × pairs × samples (``2 + k(k−1)`` for all pairs); a
    context without a pair costs none.
    """
    spec = parse_pairs(options.pairs)
    total = 0
    for item in batch.items:
        k = len(item.candidates)
        refs = sum(c.responder == spec.reference for c in item.candidates) if spec.kind == "reference" else 1
        if k < 2 or refs == 0 or (spec.kind == "reference" and refs == k):
            continue
        total += sum(calls_per_context(k, spec, tom=j.agents.tom, domain=j.agents.domain, samples=j.samples,
                                       reference_candidates=refs) for j in council.judges)
    return total


def print_pairwise_tables(console: Console, store: Store, batch_id: str, batch: Batch, council: CouncilSpec,
                          options: PairwiseOptions, n_boot: int = 1000) -> None:
    """Print one leaderboard per compared attribute and each judge's position consistency and first-position bias."""
    try:
        report = pairwise_report(store, batch_id, BootstrapSpec(n_boot=n_boot))
    except ValueError as e:
        console.print(f"[yellow]no leaderboard: {e}[/yellow]")
        return
    for board in report.leaderboards:
        table = Table(title=f"{board.attribute}: Bradley–Terry strengths ({report.score}; {board.ci_method}, "
                            f"{board.n_contexts} contexts)")
        for column in ("rank", "responder", "strength", f"{board.level:.0%} CI", "rank interval", "wins / comparisons"):
            table.add_column(column, justify="right" if column != "responder" else "left")
        for s in board.strengths:
            table.add_row(str(s.rank), s.responder, f"{s.strength:+.2f}", f"[{s.ci_low:+.2f}, {s.ci_high:+.2f}]",
                          f"{s.rank_low}–{s.rank_high}", f"{s.wins:g} / {s.comparisons}")
        console.print(table)
    rates = Table(title="judges: position consistency and first-position bias")
    for column in ("judge", "attribute", "statistic", "value", "CI", "n"):
        rates.add_column(column)
    for r in [*report.position_consistency, *report.first_position]:
        rates.add_row(r.judge_id, r.attribute, r.statistic, f"{r.value:.3f}", f"[{r.ci_low:.3f}, {r.ci_high:.3f}]",
                      str(r.n))
    console.print(rates)
    console.print(f"{report.verdicts} verdicts, {report.abstentions} abstentions, {report.incomplete_pairs} verdicts "
                  f"without their other order; calls by the formula: {formula_calls(batch, council, options)}")
