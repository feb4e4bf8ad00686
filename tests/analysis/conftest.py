"""Fixtures: a DuckDB file holding MentalAlign-70k (skipped without ../shared) and the CLI runner."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from council.ratings import default_mentalalign_dir


@pytest.fixture(scope="session")
def ma_dir() -> Path:
    d = default_mentalalign_dir()
    if not (d / "ratings.jsonl").is_file():
        pytest.skip(
            f"MentalAlign-70k not found at {d} (set MENTALALIGN_DIR to the folder holding ratings.jsonl)"
        )
    return d


@pytest.fixture(scope="session")
def ma_db(ma_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store file with dataset 'mentalalign' imported through the CLI (default hygiene report)."""
    from council.cli import main

    path = tmp_path_factory.mktemp("ma") / "council.duckdb"
    assert main(["ratings", "import-mentalalign", str(ma_dir), "--db", str(path), "--json"]) == 0
    return path


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """``cli(*argv)`` runs ``council.cli.main`` and returns (exit code, stdout, stderr)."""
    from council.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def parse_json(text: str):
    return json.loads(text)
