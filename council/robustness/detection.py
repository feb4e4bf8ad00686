"""The detector and the defences against an attack corpus, without a judge: what is flagged, what is withheld.

Two entry points. :func:`detector_catch`: every template of every transformation of a corpus is applied to every
target text of the sources (the same texts a robustness run attacks), and each attacked text is screened
(:func:`judges.injection.screen`) and shielded (:func:`judges.injection.shield`, as a reply or as the seeker's
message). Unlike a robustness run, which draws one template per text, every template meets every text, so a
template the detector misses shows up however the draw would have gone. Used by
``bench/bench_robustness.py --detector-only`` (in-sample on ``attacks.v1``, held-out on ``attacks.heldout.v1``).
:func:`clean_reference_texts`: the clean texts the false-flag rate is measured on (the demo batch, the
empathy-experts texts, the MentalAlign contexts), each with the role it plays in a judge's prompt.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from council.empathy_experts import EMPATHY_EXPERTS
from council.ratings.mentalalign import default_mentalalign_dir
from council.robustness.corpus import AttackCorpus, Transformation, apply_transformation
from council.robustness.run import Source
from council.types import Batch
from judges.injection import shield
from protocols import load_protocol

__all__ = ["clean_reference_texts", "detector_catch", "target_texts"]


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


def clean_reference_texts(demo: Batch | None = None, experts_dir: Path = EMPATHY_EXPERTS,
                          mentalalign_dir: Path | None = None) -> pd.DataFrame:
    """Clean texts for false-flag rates: ``source``, ``dataset``, ``role`` (``reply`` or ``context``), ``text``.

    Sources: ``demo`` (every turn and candidate of ``demo``, when given), ``empathy-experts`` (datasets
    ``epitome`` posts and replies, ``empatheticdialogues`` utterances, ``lend_an_ear`` conversations) and
    ``mentalalign-contexts``. Shared data is read in place; a source whose files are absent is left out.
    """
    rows: list[tuple[str, str, str, str]] = []
    for item in demo.items if demo is not None else []:
        rows += [("demo", "demo", "context", t.text) for t in item.as_context().turns]
        rows += [("demo", "demo", "reply", c.text) for c in item.candidates]
    texts = experts_dir / "texts"
    if texts.is_dir():
        epitome = pd.read_csv(texts / "sample_epitome.csv")
        rows += [("empathy-experts", "epitome", "context", str(t)) for t in epitome.seeker_post]
        rows += [("empathy-experts", "epitome", "reply", str(t)) for t in epitome.response_post]
        dialogues = pd.read_csv(texts / "sample_empatheticdialogues.csv")
        rows += [("empathy-experts", "empatheticdialogues", "context", str(t).replace("_comma_", ","))
                 for t in dialogues.utterance]
        ear = pd.read_csv(texts / "sample_lend_an_ear_conversations.csv")
        rows += [("empathy-experts", "lend_an_ear", "context", str(t)) for t in ear.full_conversation]
    contexts = (mentalalign_dir or default_mentalalign_dir()) / "contexts.jsonl"
    if contexts.is_file():
        rows += [("mentalalign-contexts", "mentalalign", "context", json.loads(line)["context"])
                 for line in contexts.read_text().splitlines()]
    return pd.DataFrame(rows, columns=["source", "dataset", "role", "text"])
