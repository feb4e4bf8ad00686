"""Quote checking: exact spans pass, near-exact copies (≥ 0.9 similar) pass, paraphrases fail."""

from __future__ import annotations

from difflib import SequenceMatcher

import pytest

from judges.quotes import normalise, quote_occurs

TEXT = (
    "I have been feeling completely overwhelmed at work lately, and when I get home I just lie on the "
    "sofa and cannot bring myself to call anyone. My manager keeps adding deadlines."
)


@pytest.mark.parametrize(
    "quote",
    [
        "feeling completely overwhelmed at work lately",
        "cannot bring myself to call anyone",
        "I have been feeling completely overwhelmed at work lately, and when I get home",
        TEXT,
    ],
)
def test_exact_spans_occur(quote: str) -> None:
    assert quote_occurs(quote, TEXT)


@pytest.mark.parametrize(
    "quote",
    [
        "FEELING COMPLETELY OVERWHELMED",  # case
        "feeling   completely\noverwhelmed",  # whitespace
        "\u201cMy manager keeps adding deadlines.\u201d",  # curly quotes, punctuation around the span
        "...cannot bring myself to call anyone!",
    ],
)
def test_normalisation_tolerates_case_whitespace_and_surrounding_punctuation(quote: str) -> None:
    assert quote_occurs(quote, TEXT)


def test_normalise() -> None:
    assert normalise("  \u201cHello\u2014World\u201d!  ") == "hello-world"
    assert normalise("It\u2019s  fine.\n") == "it's fine"


@pytest.mark.parametrize(
    "quote",
    [
        "I have been feeling completly overwhelmed at work lately",  # one letter dropped
        "when I get home I just lie on the sofa and can not bring myself",  # a space added
        "feeling completely overwhelmed at work lately and when I get home",  # the comma dropped
    ],
)
def test_near_exact_copies_at_least_90_percent_similar_pass(quote: str) -> None:
    assert normalise(quote) not in normalise(TEXT)  # really not exact
    assert quote_occurs(quote, TEXT)


@pytest.mark.parametrize(
    "quote",
    [
        "I feel swamped by my job recently",  # paraphrase
        "my boss keeps piling on deadlines",  # paraphrase
        "I am overwhelmed and lonely and I want to quit",  # invented
        "the seeker feels overwhelmed at work",  # a description, not a quote
    ],
)
def test_paraphrases_are_rejected(quote: str) -> None:
    assert not quote_occurs(quote, TEXT)


def test_a_copy_just_below_the_threshold_is_rejected() -> None:
    quote = "when I get home I just lie on the sofa"
    mangled = "when I got hom I jus lay on th sofa"
    assert SequenceMatcher(None, normalise(mangled), normalise(quote)).ratio() < 0.9
    assert not quote_occurs(mangled, TEXT)
    assert quote_occurs(mangled, TEXT, threshold=0.7)  # the threshold is what decides


@pytest.mark.parametrize("quote", ["", "   ", "..."])
def test_empty_quotes_are_not_occurrences(quote: str) -> None:
    assert not quote_occurs(quote, TEXT)


def test_short_quotes_must_be_exact() -> None:
    assert quote_occurs("sofa", TEXT)
    assert not quote_occurs("sofas", TEXT)  # 0.9-similar, but too short for fuzzy matching
    assert not quote_occurs("a quote longer than the whole text it claims to come from", "short text")
