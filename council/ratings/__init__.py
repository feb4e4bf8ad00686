"""Importers for human and external-judge ratings: tidy frames plus an import report, no DB writes."""

from council.ratings.importer import (
    Columns,
    Hygiene,
    ImportReport,
    ImportResult,
    RaterAttributeCounts,
    import_ratings,
    read_table,
    tidy_from_long,
)
from council.ratings.mentalalign import (
    JUDGES,
    PAPER_SELF_EXCLUSIONS,
    RATER_FAMILY,
    RESPONDER_FAMILY,
    default_mentalalign_dir,
    import_mentalalign,
)

__all__ = [
    "JUDGES",
    "PAPER_SELF_EXCLUSIONS",
    "RATER_FAMILY",
    "RESPONDER_FAMILY",
    "Columns",
    "Hygiene",
    "ImportReport",
    "ImportResult",
    "RaterAttributeCounts",
    "default_mentalalign_dir",
    "import_mentalalign",
    "import_ratings",
    "read_table",
    "tidy_from_long",
]
