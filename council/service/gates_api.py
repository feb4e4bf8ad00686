"""HTTP routes of confidence gates: ``/v1/gates`` (bearer auth, scoped by owner).

A gate is fitted on the owner's own human ratings (a dataset or a judged batch) and stored as the next
version of its name; a batch names it in its ``gate`` field. Routes validate and forward to the core
deployment's ``gates_call`` (:class:`council.service.gates_service.GatesService`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from council.service.gates_service import GateFitRequest
from council.service.http import Owner, call_core, valid_text

__all__ = ["router"]

router = APIRouter(prefix="/v1/gates", tags=["gates"], dependencies=[Depends(valid_text)])

GateId = Annotated[str, Path(min_length=1, max_length=200, description="A gate id (gate_...) or name (latest).")]


@router.post("", status_code=201)
async def fit_gate(request: Request, body: GateFitRequest, owner: Owner) -> dict[str, Any]:
    """Fit a tiered confidence gate on a dataset's or batch's human ratings; store it as the next version.

    Thresholds are chosen by fixed-sequence testing so that the accepted items' agreement with the human
    reference is at least ``target.level`` with probability ≥ 1 − ``target.risk`` (Jung et al. 2025).
    """
    return await call_core(request, "gates_call", "fit", owner, body)


@router.get("")
async def list_gates(request: Request, owner: Owner) -> list[dict[str, Any]]:
    """This owner's gates (every version), without their fitted parameters."""
    return await call_core(request, "gates_call", "list", owner)


@router.get("/{gate}")
async def get_gate(request: Request, gate: GateId, owner: Owner) -> dict[str, Any]:
    """One gate: target, tiers, thresholds with their fixed-sequence evidence, training data."""
    return await call_core(request, "gates_call", "get", owner, gate)
