"""Gated batches: a council's tiers judge in turn, each later tier only what the earlier ones could not accept.

Entry point :func:`run_gated_batch` (the CLI's ``--gate`` and the service's ``gate`` field): tier 1's judges
judge every candidate; the stored confidence gate (:mod:`council.escalation`) accepts the candidate ×
attribute items whose calibrated confidence clears tier 1's threshold; the next tier's judges are called on
the candidates with an item escalated to them, and so on; what no tier accepts, and every candidate flagged
unsafe or in a high-risk context whatever its score, goes to the human review queue (:mod:`council.review`).
Each item's decision is stored (``gate_decisions``, migration 012) beside the judgments. :func:`refit_gate`
refits a batch's gate from the human ratings its reviewers added (the review page's "refit" action).
"""

from council.gating.decisions import gate_decisions, gate_summary
from council.gating.refit import refit_gate
from council.gating.run import GatedRun, resolve_gate, run_gated_batch

__all__ = ["GatedRun", "gate_decisions", "gate_summary", "refit_gate", "resolve_gate", "run_gated_batch"]
