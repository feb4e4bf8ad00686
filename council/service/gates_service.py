"""The gates part of the service core: fit, list and read confidence gates over the core's store, by owner."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from council.escalation import AgreementTarget, TierSpec, fit_and_store_gate, list_gates
from council.gating import resolve_gate
from council.store.store import Store

__all__ = ["GateFitRequest", "GatesService"]


class GateFitRequest(BaseModel):
    """Fit a gate: its tiers in escalation order, the agreement target, and the ratings to fit on."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="Gate name; versions count up per name.")
    tiers: list[TierSpec] = Field(min_length=1, max_length=5, description="Tiers in escalation order.")
    target: AgreementTarget
    dataset: str | None = Field(None, max_length=200, description="An imported dataset of this owner ...")
    batch_id: str | None = Field(None, max_length=200, description="... or a judged batch with human ratings.")
    reference: str | None = Field(None, max_length=200, description="The human rater (default: consensus/only).")
    seed: int = Field(0, ge=0, description="Seed of the split into fit and threshold halves.")

    @model_validator(mode="after")
    def _one_scope(self) -> GateFitRequest:
        if (self.dataset is None) == (self.batch_id is None):
            raise ValueError("dataset: give exactly one of dataset or batch_id")
        return self


class GatesService:
    """Gate endpoints over the core's store; every answer is JSON-ready."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def fit(self, owner: str, body: GateFitRequest) -> dict[str, Any]:
        """Fit and store the next version (cross-fitting and threshold tests run in a worker thread)."""
        info = await asyncio.to_thread(fit_and_store_gate, self.store, body.tiers, body.target, dataset=body.dataset,
                                       batch_id=body.batch_id, name=body.name, reference=body.reference,
                                       seed=body.seed, owner=owner)
        return info.model_dump(mode="json")

    async def list(self, owner: str) -> list[dict[str, Any]]:
        """Every version of this owner's gates, newest first per name."""
        return [g.model_dump(mode="json") for g in await asyncio.to_thread(list_gates, self.store, owner)]

    async def get(self, owner: str, gate: str) -> dict[str, Any]:
        """One gate by id or name (latest version), with its thresholds' evidence."""
        stored = await asyncio.to_thread(resolve_gate, self.store, gate, owner)
        return {**stored.model_dump(mode="json", exclude={"gate"}),
                "thresholds_evidence": [t.model_dump(mode="json") for t in stored.gate.thresholds],
                "training": stored.gate.training.model_dump(mode="json")}
