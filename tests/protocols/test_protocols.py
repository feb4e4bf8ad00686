"""Protocol files: the shipped ones validate; malformed ones are rejected with the field named."""

import copy

import pytest
import yaml

from protocols import ProtocolError, list_protocols, load_protocol, parse_protocol


def test_shipped_protocols_load():
    assert {"mentalalign-7", "epitome"} <= set(list_protocols())
    ma = load_protocol("mentalalign-7")
    assert ma.scale.points == [1, 2, 3, 4, 5]
    assert ma.attribute_ids == ["guidance", "informativeness", "relevance", "safety", "empathy", "helpfulness",
                                "understanding"]
    assert ma.composites == {"cognitive_support": ["guidance", "informativeness", "relevance", "safety"],
                             "affective_resonance": ["empathy", "helpfulness", "understanding"]}
    assert {a.id for a in ma.attributes if a.dimension == "affective"} == {"empathy", "helpfulness", "understanding"}
    ep = load_protocol("epitome")
    assert ep.scale.points == [0, 1, 2]
    assert [a.dimension for a in ep.attributes] == ["affective", "cognitive", "cognitive"]


def test_rubric_text_has_every_anchor():
    ma = load_protocol("mentalalign-7")
    text = ma.rubric_text()
    for attribute in ma.attributes:
        for score, anchor in attribute.anchors.items():
            assert f"{score} = {anchor}" in text


def test_content_hash_changes_with_content_only():
    ep = load_protocol("epitome")
    again = load_protocol("epitome")
    assert ep.content_hash == again.content_hash and len(ep.content_hash) == 64
    changed = parse_protocol({**ep.model_dump(mode="json"), "version": "9.9"})
    assert changed.content_hash != ep.content_hash


def _doc():
    return copy.deepcopy(load_protocol("epitome").model_dump(mode="json"))


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d["attributes"][0]["anchors"].pop("2"), "attributes[emotional_reactions].anchors"),
    (lambda d: d["attributes"][1].update(dimension="spiritual"), "attributes.1.dimension"),
    (lambda d: d.update(scale={"min": 3, "max": 1}), "scale.max"),
    (lambda d: d["composites"].update(bogus=["nope"]), "composites.bogus"),
    (lambda d: d["attributes"].append(d["attributes"][0]), "duplicate ids"),
    (lambda d: d.pop("version"), "version"),
])
def test_invalid_protocols_name_the_field(mutate, field):
    doc = _doc()
    # as the API receives it: JSON, so anchor keys are strings
    doc = yaml.safe_load(yaml.safe_dump(doc))
    mutate(doc)
    with pytest.raises(ProtocolError, match=field.replace("[", r"\[").replace("]", r"\]")):
        parse_protocol(doc)


def test_unknown_protocol():
    with pytest.raises(ProtocolError, match="unknown protocol 'nope'"):
        load_protocol("nope")


def test_yaml_text_accepted():
    text = yaml.safe_dump(load_protocol("epitome").model_dump(mode="json"))
    assert parse_protocol(text).id == "epitome"
