"""The detector and the defences against an attack corpus, without a judge: what is flagged, what is withheld.

One entry point, :func:`detector_catch`: every template of every transformation of a corpus is applied to every
target text of the sources (the same texts a robustness run attacks), and each attacked text is screened
(:func:`judges.injection.screen`) and shielded (:func:`judges.injection.shield`, as a reply or as the seeker's
message). Unlike a robustness run, which draws one template per text, every template meets every text, so a
template the detector misses shows up however the draw would have gone. Used by
``bench/bench_robustness.py --detector-only`` (in-sample on ``attacks.v1``, held-out on ``attacks.heldout.v1``).
"""

from __future__ import annotations

import pandas as pd

from council.robustness.corpus import AttackCorpus, Transformation, apply_transformation
from council.robustness.run import Source
from judges.injection import shield
from protocols import load_protocol

__all__ = ["detector_catch", "target_texts"]


def target_texts(source: Source, t: Transformation) -> list[str]:
    """The texts ``t`` changes in ``source``: the target candidates, or the target items' last seeker message."""
    items = [i for i in source.batch.items if i.id in source.targets]
    if t.target == "context":
        return [i.as_context().turns[-1].text for i in items]
    return [c.text for i in items for c in i.candidates if c.id in source.targets[i.id]]


def detector_catch(corpus: AttackCorpus, sources: list[Source]) -> pd.DataFrame:
    """One row per (transformation, template): attacked texts, how many were flagged and how many had a span withheld.

    Columns: ``transformation``, ``family``, ``template`` (index in the transformation), ``text`` (the template),
    ``n``, ``caught`` (flagged as suspected manipulation), ``withheld`` (at least one span withheld from the
    judge's view under the default defences). Deterministic: the corpus' obfuscations are seeded by the text.
    """
    rows = []
    for t in corpus.transformations:
        role = "context" if t.target == "context" else "reply"
        for index, template in enumerate(t.templates):
            single = t.model_copy(update={"templates": [template]})
            n = caught = withheld = 0
            for source in sources:
                protocol = load_protocol(source.protocol_id)
                for text in target_texts(source, t):
                    view = shield(apply_transformation(single, text, protocol), role=role)
                    n += 1
                    caught += view.screening.suspected_manipulation
                    withheld += bool(view.withheld)
            rows.append({"transformation": t.name, "family": t.family, "template": index, "text": template, "n": n,
                         "caught": caught, "withheld": withheld})
    return pd.DataFrame(rows)
