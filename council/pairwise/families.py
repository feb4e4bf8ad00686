"""Model families of a pairwise batch's judges and responders, for the self-preference check.

Self-preference asks whether a judge lets its own family's responders win more often than other judges do,
so both sides need a family. The rules, in this order (pure functions; the report reads the inputs from the
store):

- **Judges**: the council spec's ``family`` of each judge (:class:`judges.types.JudgeSpec`). A judge
  without one is skipped.
- **Responders**:
  1. *declared*: an item's ``meta.responder_families`` object, ``{"responder": "family", ...}``. A
     responder declared with two different families is refused (:class:`ValueError` naming the field).
  2. *judge model*: a responder named like a council judge's ``id``, its ``model`` string or the model's
     last path part (``openai/gpt-4o-mini`` → ``gpt-4o-mini``) takes that judge's family (the rule the
     absolute analyses use for a batch's own models, :mod:`council.analysis.scope`).
  3. *prefix*: a responder named ``FAMILY/…`` whose ``FAMILY`` is the family of some council judge
     (``qwen/qwen2.5-7b-instruct`` with a ``qwen`` judge).
  A responder matched by none (people, unknown models, ``demo:empathic``) has no family and is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from judges.types import JudgeSpec

__all__ = ["META_KEY", "FamilySource", "Families", "declared_families", "resolve_families"]

META_KEY = "responder_families"
"""The item ``meta`` key declaring responder families: ``{"responder": "family"}``."""

FamilySource = Literal["declared", "judge_model", "prefix"]


class Families(BaseModel):
    """Who has a family in a pairwise batch, how each responder's was found, and who is skipped."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    judges: dict[str, str] = Field(description="judge_id → family (the council spec's `family`).")
    responders: dict[str, str] = Field(description="responder → family.")
    responder_sources: dict[str, FamilySource] = Field(
        description="How each responder's family was found: declared (item meta.responder_families), judge_model "
                    "(named like a judge's id or model) or prefix (FAMILY/…).")
    judges_without_family: list[str] = Field(description="Judges skipped by the self-preference check.")
    responders_without_family: list[str] = Field(description="Responders no rule gives a family (never 'own').")


def declared_families(metas: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Responder families declared in the items' ``meta.responder_families`` (merged over items).

    Raises:
        ValueError: A declaration that is not an object of strings, or one responder given two families.

    """
    out: dict[str, str] = {}
    for meta in metas:
        declared = meta.get(META_KEY) if isinstance(meta, Mapping) else None
        if declared is None:
            continue
        if not isinstance(declared, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) and v for k, v in declared.items()):
            raise ValueError(f"meta.{META_KEY}: expected an object of responder → family strings")
        for responder, family in declared.items():
            if out.setdefault(responder, family) != family:
                raise ValueError(f"meta.{META_KEY}: responder {responder[:100]!r} is declared as both "
                                 f"{out[responder][:100]!r} and {family[:100]!r}")
    return out


def _judge_model_names(judge: JudgeSpec) -> set[str]:
    return {judge.id, judge.model, judge.model.rsplit("/", 1)[-1]}


def resolve_families(judges: Iterable[JudgeSpec], responders: Iterable[str],
                     declared: Mapping[str, str] | None = None) -> Families:
    """Apply the module's rules to a council's judges and a batch's responders.

    Args:
        judges: The council's judge specs.
        responders: Every responder of the batch.
        declared: :func:`declared_families` of the batch's items (wins over the name rules).

    """
    judges = list(judges)
    declared = declared or {}
    judge_family = {j.id: j.family for j in judges if j.family}
    families = set(judge_family.values())
    by_name = {name: j.family for j in judges if j.family for name in _judge_model_names(j)}
    found: dict[str, str] = {}
    source: dict[str, FamilySource] = {}
    missing = []
    for r in sorted(set(responders)):
        prefix = r.split("/", 1)[0] if "/" in r else None
        if r in declared:
            found[r], source[r] = declared[r], "declared"
        elif r in by_name:
            found[r], source[r] = by_name[r], "judge_model"
        elif prefix in families:
            found[r], source[r] = str(prefix), "prefix"
        else:
            missing.append(r)
    return Families(judges=judge_family, responders=found, responder_sources=source,
                    judges_without_family=sorted(j.id for j in judges if not j.family),
                    responders_without_family=missing)
