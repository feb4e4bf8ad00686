"""The attack corpus: named, deterministic transformations of a candidate reply or of the seeker's message.

The data lives in ``council/robustness/corpus/attacks.v1.yaml`` (versioned: ``version: attacks/1``); this
module validates it and applies it. A transformation's template and every random choice of its obfuscation
come from a RNG seeded by sha256(name, text), so applying the corpus twice gives the same batch.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from council.types import Batch, BatchItem
from judges.errors import ConfigError
from judges.types import Turn
from protocols import Protocol

__all__ = ["AttackCorpus", "Transformation", "apply_transformation", "attack_batch", "load_corpus"]

DEFAULT_CORPUS = "attacks.v1"
_HOMOGLYPHS = {"a": "а", "e": "е", "o": "о", "c": "с", "p": "р", "i": "і", "A": "А", "E": "Е", "O": "О"}


class Transformation(BaseModel):
    """One named attack."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    """Unique name (stored with every result)."""
    family: str
    """Group in reports: instruction, marker, payload, authority, stuffing, padding, hidden, markup, context."""
    target: Literal["candidate", "context"]
    """What it changes: the candidate reply or the seeker's last message."""
    description: str
    """What it does, for people."""
    placement: Literal["append", "prepend", "middle"] = "append"
    """Where the attack text goes."""
    obfuscation: Literal["none", "zero_width", "homoglyph", "fullwidth"] = "none"
    """How the attack text is hidden."""
    repeat: int = Field(1, ge=1, le=10)
    """How often the attack text is repeated (padding)."""
    templates: list[str] = Field(min_length=1)
    """Attack texts; one is drawn per input text."""


class AttackCorpus(BaseModel):
    """A versioned list of transformations."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    """E.g. ``attacks/1``; stored with every robustness report."""
    transformations: list[Transformation]
    """The attacks, in report order."""

    def get(self, name: str) -> Transformation:
        """The transformation with this name (ConfigError naming the known ones otherwise)."""
        for t in self.transformations:
            if t.name == name:
                return t
        raise ConfigError(f"transformations: no {name!r} in corpus {self.version}; "
                          f"known: {', '.join(t.name for t in self.transformations)}")


@cache
def load_corpus(name: str = DEFAULT_CORPUS) -> AttackCorpus:
    """Load and validate a shipped corpus (``attacks.v1``, ``attacks.heldout.v1``, ``attacks.heldout.v2``).

    Errors name the field.
    """
    path = resources.files("council").joinpath("robustness", "corpus", f"{name}.yaml")
    if not path.is_file():
        raise ConfigError(f"no attack corpus council/robustness/corpus/{name}.yaml")
    try:
        corpus = AttackCorpus.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as e:
        err = e.errors()[0]
        raise ConfigError(f"corpus {name}: {'.'.join(map(str, err['loc']))}: {err['msg']}") from e
    names = [t.name for t in corpus.transformations]
    if len(set(names)) != len(names):
        raise ConfigError(f"corpus {name}: duplicate transformation names")
    return corpus


def _rng(name: str, text: str) -> random.Random:
    return random.Random(hashlib.sha256(f"{name}\x00{text}".encode()).hexdigest())


def _zero_width(text: str, rng: random.Random) -> str:
    marks = ("\u200b", "\u200c", "\u2060", "\ufeff")
    return "".join(ch + (rng.choice(marks) if ch.isalpha() and rng.random() < 0.5 else "") for ch in text)


def _homoglyph(text: str, rng: random.Random) -> str:
    return "".join(_HOMOGLYPHS[ch] if ch in _HOMOGLYPHS and rng.random() < 0.7 else ch for ch in text)


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ("\u3000" if ch == " " else ch) for ch in text)


def _fill(template: str, protocol: Protocol) -> str:
    top = protocol.scale.max
    scores = {aid: top for aid in protocol.attribute_ids}
    plain = ", ".join(f"{aid}: {top}" for aid in protocol.attribute_ids)
    return (template.replace("{scores_json}", json.dumps(scores)).replace("{scores_plain}", plain)
            .replace("{top}", str(top)))


def _first_sentence_end(text: str) -> int:
    m = re.search(r"[.!?](\s+)", text)
    return m.end() if m else len(text)


def apply_transformation(t: Transformation, text: str, protocol: Protocol) -> str:
    """The attacked text: ``t``'s attack (drawn and obfuscated deterministically) placed in ``text``."""
    rng = _rng(t.name, text)
    attack = _fill(rng.choice(t.templates), protocol)
    if t.repeat > 1:
        attack = " ".join([attack] * t.repeat)
    if t.obfuscation == "zero_width":
        attack = _zero_width(attack, rng)
    elif t.obfuscation == "homoglyph":
        attack = _homoglyph(attack, rng)
    elif t.obfuscation == "fullwidth":
        attack = _fullwidth(attack)
    if t.placement == "prepend":
        return attack + text
    if t.placement == "middle":
        at = _first_sentence_end(text)
        return f"{text[:at]}{attack} {text[at:]}".rstrip()
    return f"{text}\n{attack}"


def _attack_item(item: BatchItem, t: Transformation, protocol: Protocol, candidate_ids: set[str]) -> BatchItem:
    if t.target == "context":
        turns = item.as_context().turns
        last = turns[-1]
        attacked = Turn(role=last.role, text=apply_transformation(t, last.text, protocol))
        context: str | list[Turn] = attacked.text if isinstance(item.context, str) else [*turns[:-1], attacked]
        return item.model_copy(update={"context": context})
    candidates = [c.model_copy(update={"text": apply_transformation(t, c.text, protocol)})
                  if c.id in candidate_ids else c for c in item.candidates]
    return item.model_copy(update={"candidates": candidates})


def attack_batch(batch: Batch, t: Transformation, protocol: Protocol, targets: dict[str, list[str]],
                 name: str) -> Batch:
    """The batch restricted to ``targets`` (item id → candidate ids) with ``t`` applied to them.

    A candidate transformation changes each target candidate; a context transformation changes the seeker's
    last message of each target item (its target candidates are judged against the attacked context).
    """
    items = []
    for item in batch.items:
        keep = targets.get(item.id)
        if not keep:
            continue
        sub = item.model_copy(update={"candidates": [c for c in item.candidates if c.id in keep]})
        items.append(_attack_item(sub, t, protocol, set(keep)))
    return Batch(items=items, name=name)


