"""The schema-guided decoder against a scripted model that wants to write a given JSON text in its own tokens.

The scripted model's vocabulary has fused punctuation tokens (``"},`` ``"]`` ``{"`` …) like real BPE
vocabularies: a decoder that forces ``}`` as a token of its own and then asks "``,`` or ``]``?" would read the
model wrong. Each test states what the model wants and checks what the decoder wrote and what it cost.
"""

import json

import numpy as np
import pytest

from judges.local.guided import Choice, GuidedDecoder, ListOf, ObjectOf, Text, VocabTables, compile_plan

WORDS = ["hypotheses", "content", "evidence", "kind", "note", "tired", "sad", "lonely", "very", "and", "of",
         "low", "high", "medium", "self", "_harm", "medical", "emotion", "belief"]
PUNCT = ['{"', '"},', '"}]', '"}', '"]', '",', '":', ' "', '"', "{", "}", "]", "[", ",", ":", " ", '}]', '},', "],"]
PIECES = sorted({*WORDS, *(" " + w for w in WORDS), *PUNCT, *"abcdefghijklmnopqrstuvwxyz0123456789_'"},
                key=lambda p: (len(p), p))
VOCAB = [p.encode() for p in PIECES] + [b""]  # the last id is a special token (no text)


def tokenize(text: str) -> list[int]:
    """Greedy longest match, like a BPE merge table that prefers long pieces."""
    ids, i = [], 0
    while i < len(text):
        piece = max((p for p in PIECES if text.startswith(p, i)), key=len)
        ids.append(PIECES.index(piece))
        i += len(piece)
    return ids


class ScriptedModel:
    """Puts most of its probability on the longest token that continues ``target`` from what was evaluated.

    Like a real model it is thrown by a tokenisation it would not have produced: when what was evaluated
    does not end on a boundary of its own tokenisation of ``target``, it would rather close the list.
    """

    def __init__(self, target: str) -> None:
        self.target = target
        self.boundaries = {0}
        for token in tokenize(target):
            self.boundaries.add(max(self.boundaries) + len(PIECES[token]))
        self.evaluated: list[int] = []
        self.batches = 0

    def text(self) -> str:
        return b"".join(VOCAB[t] for t in self.evaluated[1:]).decode()  # after the one prompt token

    def evaluate(self, tokens: list[int]) -> np.ndarray:
        self.batches += 1
        self.evaluated += tokens
        written = self.text()
        logits = np.full(len(VOCAB), -12.0)
        if self.target.startswith(written):
            rest = self.target[len(written):]
            fits = [i for i, p in enumerate(PIECES) if rest.startswith(p)]
            for i in fits:
                logits[i] = -4.0
            if fits:
                logits[max(fits, key=lambda i: len(PIECES[i]))] = 2.0
            if len(written) not in self.boundaries:
                logits[PIECES.index("]")] = 3.0
        return logits - np.log(np.exp(logits).sum())


def decode(plan, target: str, **kwargs):
    model = ScriptedModel(target)
    decoder = GuidedDecoder(model.evaluate, tokenize, lambda t: VOCAB[t], VocabTables(VOCAB),
                            temperature=0.0, seed=0, max_tokens=kwargs.pop("max_tokens", 200),
                            prompt_tail=[PIECES.index(" ")])
    finished = decoder.run(plan)
    return decoder, b"".join(s.text for s in decoder.steps).decode(), finished, model


TOM_SCHEMA = {
    "$defs": {"H": {"type": "object", "properties": {
        "kind": {"type": "string", "enum": ["emotion", "belief"]},
        "content": {"type": "string", "minLength": 3, "maxLength": 30},
        "evidence": {"type": "integer", "enum": [1, 2, 3]}}, "required": ["kind", "content", "evidence"]}},
    "type": "object",
    "properties": {"hypotheses": {"type": "array", "items": {"$ref": "#/$defs/H"}, "minItems": 1, "maxItems": 3},
                   "note": {"type": "string", "maxLength": 40},
                   "risk": {"type": "array", "items": {"type": "string", "enum": ["self_harm", "medical"]},
                            "maxItems": 2}},
    "required": ["hypotheses", "note", "risk"],
}


def test_a_reply_the_model_wants_comes_out_exactly_with_lists_of_several_items():
    want = ('{"hypotheses": [{"kind": "emotion", "content": "tired and sad", "evidence": 2}, '
            '{"kind": "belief", "content": "lonely", "evidence": 3}, {"kind": "emotion", "content": "low", '
            '"evidence": 1}], "note": "very low", "risk": ["self_harm", "medical"]}')
    decoder, text, finished, _ = decode(compile_plan(TOM_SCHEMA), want)
    assert finished and text == want
    assert decoder.model_steps < len(tokenize(want)) / 2  # keys and punctuation cost no model step


def test_the_model_closes_a_list_after_one_item_and_leaves_an_optional_list_empty():
    want = '{"hypotheses": [{"kind": "belief", "content": "tired", "evidence": 1}], "note": "sad", "risk": []}'
    _, text, finished, _ = decode(compile_plan(TOM_SCHEMA), want)
    assert finished and text == want


def test_forced_text_is_evaluated_in_batches_not_token_by_token():
    want = '{"hypotheses": [{"kind": "belief", "content": "tired", "evidence": 1}], "note": "sad", "risk": []}'
    decoder, _, _, model = decode(compile_plan(TOM_SCHEMA), want)
    assert model.batches == decoder.evaluations
    assert model.batches < len(tokenize(want)) / 2


def test_a_string_never_exceeds_max_length_and_never_ends_inside_a_word():
    plan = ObjectOf((("note", Text(0, 12)),))
    _, text, finished, _ = decode(plan, '{"note": "tired and very lonely"}')
    assert finished and json.loads(text) == {"note": "tired and"}


def test_a_string_keeps_writing_until_min_length():
    plan = ObjectOf((("note", Text(5, 30)),))
    _, text, _, _ = decode(plan, '{"note": "sad"}')
    assert len(json.loads(text)["note"]) >= 5 and json.loads(text)["note"].startswith("sad")


def test_an_enum_option_that_is_a_prefix_of_others_can_be_chosen():
    plan = ObjectOf((("evidence", Choice(("1", "10", "11"))),))
    assert json.loads(decode(plan, '{"evidence": 1}')[1]) == {"evidence": 1}
    assert json.loads(decode(plan, '{"evidence": 11}')[1]) == {"evidence": 11}


def test_every_step_of_the_reply_is_accounted_for():
    want = '{"hypotheses": [{"kind": "belief", "content": "tired", "evidence": 1}], "note": "sad", "risk": []}'
    decoder, text, _, _ = decode(compile_plan(TOM_SCHEMA), want)
    chosen = [s for s in decoder.steps if s.alternatives is not None]
    assert len(chosen) == decoder.model_steps
    assert all(s.logprob <= 0 and s.alternatives[0][1] >= s.logprob for s in chosen)  # greedy


def test_the_token_budget_ends_the_reply_early():
    want = '{"note": "tired and very lonely"}'
    decoder, text, finished, _ = decode(ObjectOf((("note", Text(0, None)),)), want, max_tokens=2)
    assert not finished and decoder.model_steps <= 3
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"x": {"type": "integer"}}},  # a free number
    {"type": "object", "properties": {"x": {"anyOf": [{"type": "string"}, {"type": "null"}]}}},
    {"type": "object"},  # open object
    {"type": "string", "pattern": "^a+$"},
])
def test_schemas_the_plan_does_not_cover_are_left_to_the_grammar(schema):
    assert compile_plan(schema) is None


def test_the_plan_follows_refs_keeps_key_order_and_reads_bounds():
    plan = compile_plan(TOM_SCHEMA)
    assert [key for key, _ in plan.fields] == ["hypotheses", "note", "risk"]
    hypotheses = plan.fields[0][1]
    assert isinstance(hypotheses, ListOf) and (hypotheses.low, hypotheses.high) == (1, 3)
    assert hypotheses.item.fields[0][1] == Choice(('"emotion"', '"belief"'))
    assert hypotheses.item.fields[2][1] == Choice(("1", "2", "3"))
