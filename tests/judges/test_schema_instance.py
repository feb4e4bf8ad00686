"""The schema-instance generator behind the fake server: valid for the agents' and pydantic's schemas."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from judges.agents.domain import domain_reply_model
from judges.agents.scoring import scoring_reply_model
from judges.agents.tom import tom_reply_model
from judges.testing import schema_instance

CONVERSATION = "I lost my job last week and I cannot stop worrying about paying the rent next month."
CANDIDATE = "Losing a job is frightening, and worrying about rent makes complete sense right now."
QUOTES = {"evidence": CONVERSATION, "quote": CANDIDATE}
ToMReply = tom_reply_model(3)


def _scoring_model() -> type[BaseModel]:
    return scoring_reply_model(("empathy", "safety"), (1, 2, 3, 4, 5), ("c1", "c2"), 2)


AGENT_MODELS = {
    "tom": lambda: ToMReply,
    "domain": lambda: domain_reply_model(("h1", "h2"), ("empathy", "safety")),
    "domain_without_tom": lambda: domain_reply_model((), ("empathy", "safety")),
    "scoring": _scoring_model,
    "scoring_without_domain": lambda: scoring_reply_model(("empathy",), (1, 2, 3), ()),
}


@pytest.mark.parametrize("name", sorted(AGENT_MODELS))
@pytest.mark.parametrize("choice", ["random", "first", "last"])
def test_agent_reply_schemas_get_valid_instances(name: str, choice: str) -> None:
    model = AGENT_MODELS[name]()
    for seed in range(25):
        value = schema_instance(
            model.model_json_schema(),
            rng=random.Random(seed),
            choice=choice,  # type: ignore[arg-type]
            quotes=QUOTES,
        )
        model.model_validate(value)  # raises on any violation


def test_evidence_is_always_the_number_of_an_existing_span() -> None:
    for seed in range(25):
        reply = ToMReply.model_validate(schema_instance(ToMReply.model_json_schema(), rng=random.Random(seed)))
        assert all(1 <= h.evidence <= 3 for h in reply.hypotheses)
        assert all(1 <= r.evidence <= 3 for r in reply.risk_signals)
        value = schema_instance(_scoring_model().model_json_schema(), rng=random.Random(seed))
        assert all(0 <= value[a]["evidence"] <= 2 for a in ("empathy", "safety"))


def test_seeded_choices_are_deterministic_and_vary_across_seeds() -> None:
    schema = _scoring_model().model_json_schema()
    runs = [schema_instance(schema, rng=random.Random(seed), quotes=QUOTES) for seed in range(12)]
    again = [schema_instance(schema, rng=random.Random(seed), quotes=QUOTES) for seed in range(12)]
    assert runs == again
    assert len({r["empathy"]["score"] for r in runs}) >= 3  # scores vary with the seed


def test_fixed_choices_take_the_ends_of_every_enum() -> None:
    schema = _scoring_model().model_json_schema()
    first = schema_instance(schema, choice="first", quotes=QUOTES)
    last = schema_instance(schema, choice="last", quotes=QUOTES)
    assert (first["empathy"]["score"], first["checklist"]["c1"]) == (1, "met")
    assert (last["empathy"]["score"], last["checklist"]["c1"]) == (5, "n/a")
    assert first["flags"] == ["unsafe_advice"]  # fewest items above zero, first enum value


class _Leaf(BaseModel):
    tag: Literal["only"]
    weight: float = Field(gt=0, lt=1)
    count: int = Field(ge=3, le=7)


class _Node(BaseModel):
    name: str = Field(min_length=40, max_length=45)
    children: list[_Node] = Field(default_factory=list, max_length=3)


class _Everything(BaseModel):
    maybe: int | None
    flag: bool
    short: str = Field(max_length=4)
    long: str = Field(min_length=60)
    leaves: list[_Leaf] = Field(min_length=2, max_length=4)
    kinds: set[Literal["a", "b", "c"]] = Field(min_length=3)
    pair: tuple[int, str]
    table: dict[str, int]
    when: datetime
    tree: _Node
    ratio: float = Field(ge=-2.5, le=-1.5)


@pytest.mark.parametrize("choice", ["random", "first", "last"])
def test_pydantic_schema_forms_are_covered(choice: str) -> None:
    schema = _Everything.model_json_schema()
    for seed in range(30):
        value = schema_instance(schema, rng=random.Random(seed), choice=choice)  # type: ignore[arg-type]
        parsed = _Everything.model_validate(value)
        assert parsed.maybe is not None  # anyOf with null takes the non-null branch
        assert parsed.kinds == {"a", "b", "c"}  # uniqueItems honoured


def test_non_local_refs_are_rejected() -> None:
    with pytest.raises(ValueError, match="local"):
        schema_instance({"$ref": "https://example.org/schema.json"})
