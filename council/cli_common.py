"""What every ``council`` sub-command module shares: the store's default path, opening it, a progress bar.

Lives apart from :mod:`council.cli` so the sub-command modules (:mod:`council.cli_analysis`,
:mod:`council.cli_pairwise`) import it instead of the entry point that registers them (no import circle).
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

__all__ = ["default_db", "open_store", "unit_progress"]


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
