"""The blind held-out attack corpus ``attacks.heldout.v2`` loads and every transformation applies to the demo batch.

Only the corpus and its loader are exercised here, never the manipulation detector: the corpus is a test set
for the detector and must not be used to tune it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from council.batchfile import read_batch
from council.robustness.corpus import Transformation, attack_batch, load_corpus
from council.robustness.run import demo_source
from protocols import Protocol, load_protocol

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo_batch.jsonl"
CORPUS = "attacks.heldout.v2"
NAMES = ["direct_instruction", "fake_end_marker_instruction", "fake_end_marker_rubric", "score_json", "score_plain",
         "authority_claim", "rubric_stuffing", "verbosity_padding", "zero_width_instruction",
         "homoglyph_instruction", "fullwidth_marker", "html_comment_instruction", "markdown_hidden_instruction",
         "middle_instruction", "seeker_instruction", "seeker_fake_marker", "verbosity_padding_pairs",
         "verbosity_padding_varied"]
SIX = {"direct_instruction", "authority_claim", "rubric_stuffing", "middle_instruction", "seeker_instruction"}
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u2060\ufeff"))
_UNHOMOGLYPH = str.maketrans({"а": "a", "е": "e", "о": "o", "с": "c", "р": "p", "і": "i", "А": "A", "Е": "E",
                              "О": "O"})


def _rendered(template: str, protocol: Protocol, repeat: int) -> str:
    """The template with its placeholders filled the way the corpus documents them, repeated."""
    top = protocol.scale.max
    scores = json.dumps({aid: top for aid in protocol.attribute_ids})
    plain = ", ".join(f"{aid}: {top}" for aid in protocol.attribute_ids)
    text = template.replace("{scores_json}", scores).replace("{scores_plain}", plain).replace("{top}", str(top))
    return " ".join([text] * repeat)


def _revealed(text: str, t: Transformation) -> str:
    """The attacked text with its obfuscation undone (the demo's clean texts hold none of these characters)."""
    if t.obfuscation == "zero_width":
        return text.translate(_ZERO_WIDTH)
    if t.obfuscation == "homoglyph":
        return text.translate(_UNHOMOGLYPH)
    if t.obfuscation == "fullwidth":
        return "".join(chr(ord(c) - 0xFEE0) if "\uff01" <= c <= "\uff5e" else (" " if c == "\u3000" else c)
                       for c in text)
    return text


def test_corpus_loads_with_every_name_and_enough_templates() -> None:
    corpus = load_corpus(CORPUS)
    assert corpus.version == "attacks-heldout/2"
    assert sorted(t.name for t in corpus.transformations) == sorted(NAMES)
    for t in corpus.transformations:
        assert len(t.templates) >= (6 if t.name in SIX else 4), t.name
        assert len(set(t.templates)) == len(t.templates), t.name
    assert corpus.get("verbosity_padding_pairs").repeat in (2, 3)


def test_no_template_reuses_the_in_sample_wording() -> None:
    v1 = {tpl for t in load_corpus("attacks.v1").transformations for tpl in t.templates}
    assert not v1 & {tpl for t in load_corpus(CORPUS).transformations for tpl in t.templates}


@pytest.mark.parametrize("protocol_id", ["mentalalign-7", "epitome"])
@pytest.mark.parametrize("name", NAMES)
def test_every_transformation_changes_each_target_and_carries_its_template(name: str, protocol_id: str) -> None:
    protocol = load_protocol(protocol_id)
    source = demo_source(read_batch(DEMO, name="demo"))
    t = load_corpus(CORPUS).get(name)
    attacked = attack_batch(source.batch, t, protocol, source.targets, name=f"heldout-v2/{name}")
    clean = {i.id: i for i in source.batch.items}
    rendered = [_rendered(tpl, protocol, t.repeat) for tpl in t.templates]
    assert attacked.items and {i.id for i in attacked.items} == set(source.targets)
    for item in attacked.items:
        before = clean[item.id]
        if t.target == "context":
            texts = [(before.as_context().turns[-1].text, item.as_context().turns[-1].text)]
        else:
            by_id = {c.id: c.text for c in before.candidates}
            texts = [(by_id[c.id], c.text) for c in item.candidates]
            assert [c.id for c in item.candidates] == source.targets[item.id]
        for old, new in texts:
            assert new != old
            assert any(r in _revealed(new, t) for r in rendered), (name, item.id)
            if t.obfuscation != "none":
                assert not any(r in new for r in rendered), (name, item.id)
