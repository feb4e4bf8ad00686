"""Shared fixtures: reference data paths and the MentalAlign frames (skipped when the data are absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[1] / "data"


def mentalalign_dir() -> Path:
    """``$MENTALALIGN_DIR`` or ``<repo>/../shared/data/mentalalign``."""
    env = os.environ.get("MENTALALIGN_DIR")
    return (
        Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mentalalign"
    )


@pytest.fixture(scope="session")
def ma_dir() -> Path:
    d = mentalalign_dir()
    if not (d / "ratings.jsonl").is_file():
        pytest.skip(
            f"MentalAlign-70k not found at {d} (set MENTALALIGN_DIR to the folder holding ratings.jsonl)"
        )
    return d


@pytest.fixture(scope="session")
def ma_paper(ma_dir: Path):
    from council.ratings import import_mentalalign

    return import_mentalalign(ma_dir, paper_compatible=True)


@pytest.fixture(scope="session")
def ma_default(ma_dir: Path):
    from council.ratings import import_mentalalign

    return import_mentalalign(ma_dir)


@pytest.fixture()
def shrout_fleiss() -> pd.DataFrame:
    return pd.read_csv(DATA / "shrout_fleiss_1979.csv")
