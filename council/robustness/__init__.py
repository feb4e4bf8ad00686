"""Adversarial robustness: the attack corpus, flags of suspected manipulation, and the robustness run.

- :mod:`council.robustness.corpus` — the versioned attack corpus (``corpus/attacks.v1.yaml``) and how it is applied;
- :mod:`council.robustness.flags` — screening a batch, the ``manipulation_flags`` rows, routing to human review;
- :mod:`council.robustness.run` — ``run_robustness``: clean vs attacked batches judged by a council, measured
  per judge, per transformation, stored as a report (:mod:`council.robustness.report`).

The detector and the text defences themselves live in :mod:`judges.injection` (judges/ never imports council/).
"""

from council.robustness.corpus import AttackCorpus, Transformation, apply_transformation, attack_batch, load_corpus
from council.robustness.flags import Flag, flag_batch, flagged_scores, flags_frame, route_flags, screen_batch

__all__ = ["AttackCorpus", "Flag", "Transformation", "apply_transformation", "attack_batch", "flag_batch",
           "flagged_scores", "flags_frame", "load_corpus", "route_flags", "screen_batch"]
