"""The EPITOME part of the empathy-experts data (Kumar et al. 2025) as a batch and its raters' ratings.

50 Reddit posts with one reply each, rated 0–2 on emotional reactions, interpretations and explorations by
three experts, a crowd and three frontier LLMs. The files are read in place from ``../shared/data`` (or
``$EMPATHY_EXPERTS_DIR``) and never copied into the repository. Used by the validity benchmark and by the
gated demo, which fits its confidence gate on the embedded judge's agreement with one of these experts.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from council.types import Batch, BatchItem
from judges.errors import ConfigError
from judges.types import Candidate

__all__ = ["DIMENSIONS", "EMPATHY_EXPERTS", "EXPERTS", "RATERS", "epitome_batch", "epitome_ratings"]

_SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
EMPATHY_EXPERTS = Path(os.environ.get("EMPATHY_EXPERTS_DIR", _SHARED / "empathy-experts"))
DIMENSIONS = ("emotional_reactions", "interpretations", "explorations")
EXPERTS = ("expert1", "expert2", "expert3")
RATERS = {"expert1": "human", "expert2": "human", "expert3": "human", "crowd": "external", "gpt": "external",
          "claude": "external", "gemini": "external"}
"""Every rater of the set and the kind the product imports it as."""


def _texts(data_dir: Path, limit: int | None) -> pd.DataFrame:
    path = data_dir / "texts" / "sample_epitome.csv"
    if not path.is_file():
        raise ConfigError(f"the empathy-experts data is not at {data_dir} (no texts/sample_epitome.csv): put the "
                          "shared data beside the repository or set EMPATHY_EXPERTS_DIR")
    texts = pd.read_csv(path)
    return texts.head(limit) if limit else texts


def epitome_batch(limit: int | None = None, data_dir: Path = EMPATHY_EXPERTS) -> Batch:
    """The EPITOME posts as a batch: item = post, one candidate = the reply (``limit``: the first N posts)."""
    items = [BatchItem(id=str(r.sp_id), context=str(r.seeker_post),
                       candidates=[Candidate(id=str(r.rp_id), text=str(r.response_post), responder="reddit")])
             for r in _texts(data_dir, limit).itertuples()]
    return Batch(name="epitome-experts", items=items)


def epitome_ratings(limit: int | None = None, data_dir: Path = EMPATHY_EXPERTS,
                    raters: tuple[str, ...] = tuple(RATERS)) -> pd.DataFrame:
    """Long ratings of the batch's targets: ``target`` (``post:reply``), ``rater``, ``attribute``, ``score``."""
    texts = _texts(data_dir, limit)
    rows = []
    for rater in raters:
        table = pd.read_csv(data_dir / "annotations" / "epitome" / f"{rater}_ratings.csv")
        table = table.loc[:, ~table.columns.str.startswith("Unnamed")]
        by_post = table.drop_duplicates("sp_id").set_index("sp_id")
        for r in texts.itertuples():
            if r.sp_id not in by_post.index:
                continue
            for dim in DIMENSIONS:
                value = by_post.loc[r.sp_id, f"level_{dim}"]
                if pd.notna(value):
                    rows.append({"target": f"{r.sp_id}:{r.rp_id}", "rater": rater, "attribute": dim,
                                 "score": float(value)})
    return pd.DataFrame(rows, columns=["target", "rater", "attribute", "score"])
