"""What every ``council`` sub-command module shares: the store's default path and opening it for one command.

Lives apart from :mod:`council.cli` so the sub-command modules (:mod:`council.cli_analysis`,
:mod:`council.cli_pairwise`) import it instead of the entry point that registers them (no import circle).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from council.store.store import Store

__all__ = ["default_db", "open_store"]


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
