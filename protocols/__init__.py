"""Rubric protocols as versioned data: one YAML file per protocol, validated by :class:`Protocol`.

The protocol renders the rubric text that judges read *and* produces the JSON schema their scores
must satisfy, so the prompt and the parser cannot drift apart.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from importlib import resources
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "Attribute",
    "Protocol",
    "ProtocolError",
    "Scale",
    "list_protocols",
    "load_protocol",
    "parse_protocol",
]

Dimension = Literal["affective", "cognitive"]


class ProtocolError(ValueError):
    """A protocol file or document is missing, malformed or inconsistent."""


class Scale(BaseModel):
    """An integer rating scale, inclusive at both ends."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min: int
    """Lowest score on the scale."""
    max: int
    """Highest score on the scale."""

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        if self.max <= self.min:
            raise ValueError(f"scale.max ({self.max}) must be greater than scale.min ({self.min})")
        return self

    @property
    def points(self) -> list[int]:
        """Every score on the scale, lowest first."""
        return list(range(self.min, self.max + 1))


class Attribute(BaseModel):
    """One rated attribute of a candidate response, with an anchor text for every scale point."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    """Stable identifier used in stored judgments (lowercase, underscores)."""
    name: str
    """Human-readable name."""
    dimension: Dimension
    """Whether the attribute measures affective or cognitive support."""
    definition: str
    """What the attribute measures, in one or two sentences."""
    anchors: dict[int, str]
    """Description of a response deserving each score."""
    needs_tom: bool = True
    """Whether reading the seeker's mind (ToM) is expected to help score this attribute."""
    exemplars: dict[int, list[Annotated[str, Field(min_length=1, max_length=400)]]] = Field(default_factory=dict)
    """Optional example replies per scale point (at most 3 each), shown under the anchors in judges' prompts.
    Written for the protocol, never taken from data the judges are measured on."""


class Protocol(BaseModel):
    """A rubric: a scale, anchored attributes and composites of attributes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    """Identifier used by batches and the API."""
    version: str
    """Version of the rubric text; bump it whenever wording changes."""
    name: str
    """Human-readable title."""
    description: str = ""
    """What the rubric is for."""
    citation: str = ""
    """Where the rubric comes from."""
    scale: Scale
    """The rating scale shared by every attribute."""
    attributes: list[Attribute] = Field(min_length=1)
    """The rated attributes, in display order."""
    composites: dict[str, list[str]] = Field(default_factory=dict)
    """Named means of attributes, such as a cognitive and an affective score."""
    reliability_notes: str = ""
    """Known reliability and bias of judges on this rubric, from the literature."""

    @model_validator(mode="after")
    def _consistent(self) -> Protocol:
        ids = [a.id for a in self.attributes]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"attributes: duplicate ids {duplicates}")
        for attribute in self.attributes:
            if sorted(attribute.anchors) != self.scale.points:
                raise ValueError(
                    f"attributes[{attribute.id}].anchors: need exactly one anchor for each score "
                    f"{self.scale.points}, got {sorted(attribute.anchors)}"
                )
            odd = [p for p, texts in attribute.exemplars.items() if p not in attribute.anchors or len(texts) > 3]
            if odd:
                raise ValueError(f"attributes[{attribute.id}].exemplars: keys must be scale points with at most 3 "
                                 f"examples each; check {odd}")
        for name, members in self.composites.items():
            unknown = [m for m in members if m not in ids]
            if unknown or not members:
                raise ValueError(f"composites.{name}: unknown or missing attributes {unknown}")
        return self

    @property
    def attribute_ids(self) -> list[str]:
        """Attribute ids in display order."""
        return [a.id for a in self.attributes]

    def attribute(self, attribute_id: str) -> Attribute:
        """Return the attribute with this id, or raise :class:`ProtocolError`."""
        for attribute in self.attributes:
            if attribute.id == attribute_id:
                return attribute
        raise ProtocolError(f"protocol {self.id!r} has no attribute {attribute_id!r}")

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON of the protocol; stored with every judgment."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def rubric_text(self) -> str:
        """Render the rubric as the text a scoring agent reads."""
        lines = [f"Rubric: {self.name} (version {self.version}); scale {self.scale.min}-{self.scale.max}."]
        for a in self.attributes:
            lines.append(f"\n[{a.id}] {a.name} ({a.dimension}): {a.definition}")
            for score, text in sorted(a.anchors.items()):
                lines.append(f"  {score} = {text}")
                lines.extend(f'      e.g. "{example}"' for example in a.exemplars.get(score, []))
        return "\n".join(lines)

    def composite_of(self, scores: dict[str, float | None]) -> dict[str, float | None]:
        """Mean of each composite's attributes; None when any member score is missing."""
        out: dict[str, float | None] = {}
        for name, members in self.composites.items():
            values = [scores.get(m) for m in members]
            out[name] = None if any(v is None for v in values) else sum(values) / len(values)  # type: ignore[arg-type]
        return out


def parse_protocol(document: str | dict) -> Protocol:
    """Validate a protocol given as YAML text or as a mapping.

    Raises:
        ProtocolError: naming the offending field when the document is not a valid protocol.
    """
    try:
        data = yaml.safe_load(document) if isinstance(document, str) else document
    except yaml.YAMLError as e:
        raise ProtocolError(f"protocol is not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ProtocolError("protocol must be a mapping with id, version, scale, attributes")
    try:
        return Protocol.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in e.errors()
        )
        raise ProtocolError(f"invalid protocol {data.get('id', '?')!r}: {problems}") from e


def list_protocols() -> list[str]:
    """Ids of the protocols shipped with the package."""
    files = resources.files(__name__).iterdir()
    return sorted(f.name.removesuffix(".yaml") for f in files if f.name.endswith(".yaml"))


def load_protocol(protocol_id: str) -> Protocol:
    """Load and validate a shipped protocol by id.

    Raises:
        ProtocolError: if no such protocol is shipped or its file is invalid.
    """
    if protocol_id not in list_protocols():
        raise ProtocolError(f"unknown protocol {protocol_id!r}; shipped: {', '.join(list_protocols())}")
    text = resources.files(__name__).joinpath(f"{protocol_id}.yaml").read_text(encoding="utf-8")
    return parse_protocol(text)
