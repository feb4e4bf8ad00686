"""What the ``council`` sub-command modules share: store path and opening, progress bar, demo batch, local judges.

Lives apart from :mod:`council.cli` so the sub-command modules (:mod:`council.cli_analysis`,
:mod:`council.cli_pairwise`, :mod:`council.cli_gating`, :mod:`council.robustness.cli`) import it instead of the
entry point that registers them (no import circle).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from council.store.store import Store
from council.types import CouncilSpec

__all__ = ["DEMO_BATCH", "default_db", "local_judges", "open_store", "unit_progress"]

DEMO_BATCH = Path(__file__).resolve().parents[1] / "examples" / "demo_batch.jsonl"
"""The example batch ``council demo`` judges."""


def local_judges(council: CouncilSpec) -> list[str]:
    """Ids of council members that are embedded judges served on this machine."""
    from judges.local.models import LOCAL_MODELS
    from judges.local.server import local_judge_spec

    return [j.id for j in council.judges if j.id in LOCAL_MODELS and j.api_base == local_judge_spec(j.id).api_base]


def default_db() -> str:
    """The store file: ``$COUNCIL_DB`` or ``.council/council.duckdb`` in the working directory."""
    return os.environ.get("COUNCIL_DB", str(Path(".council") / "council.duckdb"))


@contextmanager
def open_store(args: argparse.Namespace) -> Iterator[Store]:
    """The store at ``args.db`` for one command, closed (checkpointed) afterwards."""
    store = Store(args.db)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def unit_progress(console: Console, description: str, total: int) -> Iterator[Callable[[int, int, object], None]]:
    """A progress bar over (item, judge) units; yields the progress callback the run functions take."""
    columns = [TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(description, total=total)

        def advance(done: int, total: int, judgment: object) -> None:
            judge, context = getattr(judgment, "judge_id", ""), getattr(judgment, "context_id", "")
            bar.update(task, completed=done, description=f"{judge} finished {context}")

        yield advance
