"""Untrusted text against a judge: hidden characters, a deterministic manipulation detector, text defences.

Entry points: :func:`screen` (is this text trying to steer a judge? findings with spans) and :func:`shield`
(the judge's view of an untrusted text under :class:`Defences`: what addresses the judge withheld from any
untrusted text, authority claims, stuffed sentences and repeated or near-duplicate sentences withheld from a
candidate reply, each replaced by a label that names what was withheld). Modules: ``text`` (hidden characters),
``detect`` (the patterns, :data:`DETECTOR_VERSION`), ``content`` (stuffing and padding, found by counting),
``defend`` (the judge's view). No model, no I/O.
"""

from judges.injection.defend import (
    DEFAULT_DEFENCES,
    LABELS,
    NO_DEFENCES,
    WITHHELD,
    WITHHELD_AUTHORITY,
    WITHHELD_REPEATED,
    WITHHELD_RUBRIC,
    Defences,
    Role,
    Shielded,
    shield,
)
from judges.injection.detect import (
    DETECTOR_VERSION,
    REMOVABLE,
    REPLY_REMOVABLE,
    Finding,
    FindingKind,
    Screening,
    screen,
)
from judges.injection.text import hidden_characters, skeleton, visible_text

__all__ = ["DEFAULT_DEFENCES", "DETECTOR_VERSION", "LABELS", "NO_DEFENCES", "REMOVABLE", "REPLY_REMOVABLE", "WITHHELD",
           "WITHHELD_AUTHORITY", "WITHHELD_REPEATED", "WITHHELD_RUBRIC", "Defences", "Finding", "FindingKind", "Role",
           "Screening", "Shielded", "hidden_characters", "screen", "shield", "skeleton", "visible_text"]
