"""Untrusted text against a judge: hidden characters, a deterministic manipulation detector, text defences.

Entry points: :func:`screen` (is this text trying to steer a judge? findings with spans) and :func:`shield`
(the judge's view of an untrusted text under :class:`Defences`). No model, no I/O.
"""

from judges.injection.defend import DEFAULT_DEFENCES, NO_DEFENCES, WITHHELD, Defences, Shielded, shield
from judges.injection.detect import DETECTOR_VERSION, REMOVABLE, Finding, FindingKind, Screening, screen
from judges.injection.text import hidden_characters, skeleton, visible_text

__all__ = ["DEFAULT_DEFENCES", "DETECTOR_VERSION", "NO_DEFENCES", "REMOVABLE", "WITHHELD", "Defences", "Finding",
           "FindingKind", "Screening", "Shielded", "hidden_characters", "screen", "shield", "skeleton",
           "visible_text"]
