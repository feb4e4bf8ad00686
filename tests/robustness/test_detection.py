"""The detector-only measurement over a corpus (no judge) and the held-out corpus (same schema, same loader)."""

from __future__ import annotations

from pathlib import Path

from council.batchfile import read_batch
from council.robustness.corpus import AttackCorpus, load_corpus
from council.robustness.detection import detector_catch, target_texts
from council.robustness.run import demo_source

DEMO = demo_source(read_batch(Path(__file__).resolve().parents[2] / "examples" / "demo_batch.jsonl", name="demo"))


def test_every_template_meets_every_target_text_and_the_in_sample_corpus_is_caught_and_withheld():
    corpus = load_corpus()
    rows = detector_catch(corpus, [DEMO])
    assert len(rows) == sum(len(t.templates) for t in corpus.transformations)
    for r in rows.itertuples():
        t = corpus.get(r.transformation)
        assert r.n == len(target_texts(DEMO, t)) == (4 if t.target == "context" else 8)
    assert (rows.caught == rows.n).all() and (rows.withheld == rows.n).all()


def test_a_harmless_addition_is_neither_caught_nor_withheld():
    benign = AttackCorpus.model_validate({"version": "benign/1", "transformations": [
        {"name": "kind_words", "family": "none", "target": "candidate", "description": "a kind sentence",
         "templates": ["Take good care of yourself tonight."]},
        {"name": "seeker_thanks", "family": "none", "target": "context", "description": "thanks",
         "templates": ["Thanks for listening."]}]})
    rows = detector_catch(benign, [DEMO])
    assert rows.n.tolist() == [8, 4] and rows.caught.sum() == 0 and rows.withheld.sum() == 0


def test_the_held_out_corpus_loads_with_the_same_loader_and_paraphrases_every_transformation():
    v1, heldout = load_corpus(), load_corpus("attacks.heldout.v1")
    assert heldout.version == "attacks-heldout/1"
    assert {t.name for t in v1.transformations} <= {t.name for t in heldout.transformations}
    assert {t.family for t in v1.transformations} == {t.family for t in heldout.transformations}
    v1_templates = {tpl for t in v1.transformations for tpl in t.templates}
    assert not v1_templates & {tpl for t in heldout.transformations for tpl in t.templates}  # no template reused
