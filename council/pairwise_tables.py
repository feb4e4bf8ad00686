"""Terminal tables of a pairwise report: leaderboards (Bradley–Terry strengths with CIs), judges' biases, τ."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from council.pairwise.plan import calls_per_context, parse_pairs
from council.pairwise.report import PairwiseReport, pairwise_report
from council.stats.types import BootstrapSpec
from council.store.store import Store
from council.types import Batch, CouncilSpec, PairwiseOptions

__all__ = ["formula_calls", "print_pairwise_tables", "print_report"]


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


def _ci(low: float, high: float, digits: int = 3) -> str:
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


def print_report(console: Console, report: PairwiseReport) -> None:
    """Print a pairwise report: leaderboards, judges' position / self / length preferences, τ vs absolute, notes."""
    for board in report.leaderboards:
        table = Table(title=f"{board.attribute}: Bradley–Terry strengths ({report.score}; {board.ci_method}, "
                            f"{board.n_contexts} contexts)")
        for column in ("rank", "responder", "strength", f"{board.level:.0%} CI", "rank interval", "wins / comparisons",
                       "separable from next"):
            table.add_column(column, justify="right" if column != "responder" else "left")
        separable = {n.higher: n.separable for n in board.neighbours}
        for s in board.strengths:
            sep = separable.get(s.responder)
            table.add_row(str(s.rank), s.responder, f"{s.strength:+.2f}", f"[{s.ci_low:+.2f}, {s.ci_high:+.2f}]",
                          f"{s.rank_low}–{s.rank_high}", f"{s.wins:g} / {s.comparisons}",
                          "" if sep is None else ("yes" if sep else "no"))
        console.print(table)
    rates = Table(title="judges: position consistency, first-position and length preference")
    for column in ("judge", "attribute", "statistic", "value", "CI", "n"):
        rates.add_column(column)
    for r in [*report.position_consistency, *report.first_position, *report.length_preference]:
        rates.add_row(r.judge_id, r.attribute, r.statistic, f"{r.value:.3f}", _ci(r.ci_low, r.ci_high), str(r.n))
    console.print(rates)
    if report.self_preference:
        selfish = Table(title="judges: self-preference (own family's win rate, this judge − other-family judges)")
        for column in ("judge", "family", "attribute", "own responders", "judge", "others", "difference", "CI",
                       "pairs"):
            selfish.add_column(column)
        for p in report.self_preference:
            selfish.add_row(p.judge_id, p.family, p.attribute, ", ".join(p.own_responders), f"{p.win_rate_judge:.3f}",
                            f"{p.win_rate_others:.3f}", f"{p.difference:+.3f}", _ci(p.ci_low, p.ci_high),
                            str(p.n_pairs))
        console.print(selfish)
    absolute = report.absolute
    if absolute is not None and absolute.absolute_batch is not None:
        console.print(f"pairwise vs absolute ranking (batch {absolute.absolute_batch}, {absolute.chosen}):")
        for a in absolute.agreements:
            console.print(f"  Kendall τ-b = {a.value:+.3f} {_ci(a.ci_low, a.ci_high)} over {a.n_responders} "
                          f"responders, {a.n_contexts} contexts ({a.ci_method})")
    for note in [*report.notes, *(absolute.notes if absolute is not None else [])]:
        console.print(f"[yellow]note:[/yellow] {note}")
    console.print(f"{report.verdicts} verdicts, {report.abstentions} abstentions, {report.incomplete_pairs} verdicts "
                  "without their other order")


def print_pairwise_tables(console: Console, store: Store, batch_id: str, batch: Batch, council: CouncilSpec,
                          options: PairwiseOptions, n_boot: int = 1000) -> None:
    """After a pairwise run: :func:`print_report` of the batch and the calls its plan costs by the formula."""
    try:
        report = pairwise_report(store, batch_id, BootstrapSpec(n_boot=n_boot))
    except ValueError as e:
        console.print(f"[yellow]no leaderboard: {e}[/yellow]")
        return
    print_report(console, report)
    console.print(f"calls by the formula: {formula_calls(batch, council, options)}")
