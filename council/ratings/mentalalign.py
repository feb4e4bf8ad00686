"""Loader for MentalAlign-70k (Badawi et al. 2025): one human expert and four frontier judges.

The data stay outside the repository (``../shared/data/mentalalign``); this module only reads them.
See that folder's README for the anomalies handled here (0 = "no response", 6 out of scale,
empty responses, 19 contexts whose human row is shifted).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from council.ratings.importer import Hygiene, ImportResult, tidy_from_long

DATASET = "mentalalign"
HUMAN = "human_expert"
SOURCE_ATTRIBUTES: tuple[str, ...] = (
    "Guidance",
    "Informativeness",
    "Relevance",
    "Safety",
    "Empathy",
    "Helpfulness",
    "Understanding",
)
JUDGES: tuple[str, ...] = (
    "claude-3-7-sonnet-20250219",
    "gemini-2.5-flash-preview-04-17",
    "gpt-4o",
    "o4-mini",
)
RATER_FAMILY: dict[str, str] = {
    HUMAN: "human",
    "claude-3-7-sonnet-20250219": "anthropic",
    "gemini-2.5-flash-preview-04-17": "google",
    "gpt-4o": "openai",
    "o4-mini": "openai",
}
RESPONDER_FAMILY: dict[str, str] = {
    "original": "human",
    "claude": "anthropic",
    "gemini": "google",
    "gpt4o": "openai",
    "gpt4omini": "openai",
    "ds_llama": "ds_llama",
    "ds_qwen": "ds_qwen",
    "llama_3": "llama_3",
    "qwen_2": "qwen_2",
    "qwen_3": "qwen_3",
}
#: The authors' own exclusions: each judge loses only its own model's responses (n = 9 systems),
#: which differs from family exclusion for the two OpenAI judges (n = 8).
PAPER_SELF_EXCLUSIONS: dict[str, tuple[str, ...]] = {
    "claude-3-7-sonnet-20250219": ("claude",),
    "gemini-2.5-flash-preview-04-17": ("gemini",),
    "gpt-4o": ("gpt4o",),
    "o4-mini": ("gpt4omini",),
}
ENV_VAR = "MENTALALIGN_DIR"


def default_mentalalign_dir() -> Path:
    """``$MENTALALIGN_DIR`` if set, else ``<repo>/../shared/data/mentalalign``."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mentalalign"


def _raw_long(rows: list[dict], include_overall: bool) -> pd.DataFrame:
    keys = SOURCE_ATTRIBUTES + (("Overall",) if include_overall else ())
    base = pd.DataFrame(
        {
            "context": [r["conv_id"] for r in rows],
            "responder": [r["responder"] for r in rows],
            "mismatch": [bool(r["context_mismatch"]) for r in rows],
            "empty": [bool(r["judge_saw_empty_response"]) for r in rows],
        }
    )
    parts = []
    for rater in (HUMAN, *JUDGES):
        objs = [r.get(rater) for r in rows]
        for key in keys:
            if rater == HUMAN and key == "Overall":
                continue
            score = pd.Series([None if o is None else o.get(key) for o in objs], dtype=object)
            parts.append(base.assign(rater=rater, attribute=key.lower(), score=score))
    raw = pd.concat(parts, ignore_index=True)
    raw["target"] = raw["context"].astype(str) + ":" + raw["responder"]
    raw["rater_family"] = raw["rater"].map(RATER_FAMILY)
    raw["responder_family"] = raw["responder"].map(RESPONDER_FAMILY)
    return raw


def import_mentalalign(
    directory: str | Path | None = None,
    *,
    paper_compatible: bool = False,
    drop_empty_responses: bool | None = None,
    drop_context_mismatch: bool | None = None,
    include_overall: bool = False,
) -> ImportResult:
    """Load MentalAlign-70k as a tidy frame: rater ``human_expert`` plus the four judges.

    Targets are ``mentalalign:<conv_id>:<responder>``; ``context`` is the conv id; families come
    from :data:`RATER_FAMILY` and :data:`RESPONDER_FAMILY`.

    Args:
        directory: Folder holding ``ratings.jsonl``; default :func:`default_mentalalign_dir`.
        paper_compatible: Keep every value as given (0s and 6s included) and drop nothing unless
            asked, as the authors' analysis did.
        drop_empty_responses: Drop the 148 responses the judges saw as empty; default True unless
            ``paper_compatible``.
        drop_context_mismatch: Drop the 19 contexts (190 responses) whose human row is misaligned;
            default True unless ``paper_compatible``.
        include_overall: Keep the judges' own ``Overall`` score as attribute ``overall`` (not one of
            the seven; the human expert has none).

    Returns:
        :class:`ImportResult` (frame, report).

    Raises:
        FileNotFoundError: If ``ratings.jsonl`` is absent.

    """
    directory = Path(directory) if directory is not None else default_mentalalign_dir()
    path = directory / "ratings.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (set ${ENV_VAR} to the MentalAlign folder)")
    with path.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    raw = _raw_long(rows, include_overall)
    drop_empty = (not paper_compatible) if drop_empty_responses is None else drop_empty_responses
    drop_mismatch = (not paper_compatible) if drop_context_mismatch is None else drop_context_mismatch
    masks = {}
    if drop_empty:
        masks["judge_saw_empty_response"] = raw["empty"]
    if drop_mismatch:
        masks["context_mismatch"] = raw["mismatch"]
    notes = [
        "human_expert has one score set per response and no rater id",
        "blank judge cells are outputs that failed to parse as JSON (recorded, not defaulted)",
        "0 means 'no response' in the human file; it is out of scale and NaN unless paper_compatible",
    ]
    hygiene = Hygiene(paper_compatible=paper_compatible, drop_empty_responses=drop_empty)
    return tidy_from_long(
        raw.drop(columns=["mismatch", "empty"]),
        hygiene,
        source=str(path),
        dataset=DATASET,
        drop_masks=masks,
        notes=notes,
    )
