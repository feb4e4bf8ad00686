"""Stored, versioned gates (table ``escalation_gates``, migration 010), scoped by owner like calibrations."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from council.analysis.errors import AnalysisError, NotFoundError
from council.analysis.scope import Scope, pick_reference, ratings_frame, resolve_scope
from council.escalation.gate import fit_gate
from council.escalation.types import AgreementTarget, EscalationGate, TierSpec
from council.store import analysis_store as db
from council.store.store import Store

__all__ = ["GateInfo", "StoredGate", "fit_and_store_gate", "gate_frame", "get_gate", "latest_gate", "list_gates",
           "save_gate"]


class GateInfo(BaseModel):
    """A stored gate without its parameters."""

    model_config = ConfigDict(frozen=True)

    gate_id: str
    owner: str
    name: str
    version: int
    target: AgreementTarget
    tiers: list[TierSpec]
    thresholds: list[float | None] = Field(description="Per tier, in order (None: the tier accepts nothing).")
    dataset: str | None
    batch_id: str | None
    created_at: datetime


class StoredGate(GateInfo):
    """A stored gate with the fitted :class:`EscalationGate`."""

    gate: EscalationGate


def save_gate(store: Store, gate: EscalationGate, *, name: str, owner: str = "local", dataset: str | None = None,
              batch_id: str | None = None) -> GateInfo:
    """Store ``gate`` as the next version of (owner, name) and return its info.

    Raises:
        AnalysisError: On an empty name (field ``name``).

    """
    if not name.strip():
        raise AnalysisError("name", "a gate needs a name")
    gate_id, created = db.new_id("gate"), db.now()
    tiers = [m.tier.model_dump() for m in gate.tiers]
    with store.transaction() as con:
        version = con.execute(
            "SELECT coalesce(max(version), 0) + 1 FROM escalation_gates WHERE owner = ? AND name = ?", [owner, name]
        ).fetchone()[0]
        con.execute(
            "INSERT INTO escalation_gates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [gate_id, owner, name, version, gate.target.criterion, gate.target.k, gate.target.level,
             gate.target.risk, json.dumps(tiers), json.dumps([t.model_dump() for t in gate.thresholds]),
             gate.to_json(), gate.training.model_dump_json(), dataset, batch_id, created],
        )
    return _info(_rows(store, owner, "gate_id", gate_id)[0])


def _rows(store: Store, owner: str, key: str | None = None, value: str | None = None) -> list[dict[str, Any]]:
    where, params = "owner = ?", [owner]
    if key is not None:
        where, params = f"owner = ? AND {key} = ?", [owner, value]
    df = store.query(f"SELECT * FROM escalation_gates WHERE {where} ORDER BY name, version DESC", params)
    return df.to_dict("records")


def _info(row: dict[str, Any]) -> GateInfo:
    thresholds = json.loads(row["thresholds"])
    return GateInfo(
        gate_id=row["gate_id"], owner=row["owner"], name=row["name"], version=int(row["version"]),
        target=AgreementTarget(criterion=row["criterion"], k=int(row["k"]), level=row["level"], risk=row["risk"]),
        tiers=[TierSpec.model_validate(t) for t in json.loads(row["tiers"])],
        thresholds=[t["threshold"] for t in thresholds],
        dataset=row["dataset"] if isinstance(row["dataset"], str) else None,
        batch_id=row["batch_id"] if isinstance(row["batch_id"], str) else None,
        created_at=row["created_at"],
    )


def get_gate(store: Store, gate_id: str, owner: str = "local") -> StoredGate:
    """Return a stored gate with its fitted parameters.

    Raises:
        NotFoundError: If this owner has no such gate (field ``gate_id``).

    """
    rows = _rows(store, owner, "gate_id", gate_id)
    if not rows:
        raise NotFoundError("gate_id", f"no gate {gate_id!r}")
    return StoredGate(**_info(rows[0]).model_dump(), gate=EscalationGate.from_json(rows[0]["parameters"]))


def latest_gate(store: Store, name: str, owner: str = "local") -> StoredGate:
    """Return the highest version of the owner's gate ``name``.

    Raises:
        NotFoundError: If this owner has no gate of that name (field ``name``).

    """
    rows = _rows(store, owner, "name", name)
    if not rows:
        raise NotFoundError("name", f"no gate named {name!r}")
    return get_gate(store, rows[0]["gate_id"], owner)


def list_gates(store: Store, owner: str = "local") -> list[GateInfo]:
    """The owner's gates (every version), by name then newest version first, without parameters."""
    return [_info(r) for r in _rows(store, owner)]


def gate_frame(store: Store, scope: Scope) -> pd.DataFrame:
    """The scope's tidy rating frame with each judgment's stored score distribution (``distribution``, JSON).

    A gate's confidence reads the judges' distributions over the scale points where probability-weighted
    scoring stored them (:mod:`council.escalation.features`); datasets carry none, and judge rows without one
    fall back to the written score.
    """
    df = ratings_frame(store, scope=scope)
    if scope.kind != "batch":
        return df
    dist = store.query("SELECT item_id || ':' || candidate_id AS target, judge_id AS rater, attribute_id AS attribute, "
                       "sample, distribution FROM judgments WHERE batch_id = ? AND distribution IS NOT NULL",
                       [scope.key])
    if dist.empty:
        return df
    keys = ["target", "rater", "attribute"] + (["sample"] if "sample" in df.columns else [])
    if "sample" not in df.columns:
        dist = dist[dist["sample"] == 0].drop(columns=["sample"])
    return df.merge(dist, on=keys, how="left")


def fit_and_store_gate(
    store: Store,
    tiers: Sequence[TierSpec],
    target: AgreementTarget,
    *,
    dataset: str | None = None,
    batch_id: str | None = None,
    name: str | None = None,
    reference: str | None = None,
    seed: int = 0,
    owner: str = "local",
) -> GateInfo:
    """Fit a gate on a dataset's or batch's ratings (default hygiene) and store it as the next version.

    This is the "refit from the new ratings" action: after reviewers rated items of a batch, call it with
    the batch id (or the dataset that pools the ratings) and the same name to get the next version.

    Raises:
        AnalysisError: Naming the field when the data cannot support a gate (e.g. ``ratings``).
        NotFoundError: If the dataset or batch does not exist for this owner.

    """
    scope = resolve_scope(store, dataset=dataset, batch_id=batch_id, owner=owner)
    df = gate_frame(store, scope)
    ref = pick_reference(df, reference)
    description = f"{scope.kind} {scope.key}; reference {ref}; default hygiene"
    try:
        gate = fit_gate(df, tiers, target, reference=ref, scale=scope.scale, seed=seed, description=description)
    except ValueError as e:
        field = str(e).split(":", 1)[0] if ":" in str(e) else "ratings"
        raise AnalysisError(field, str(e).split(":", 1)[-1].strip()) from e
    return save_gate(store, gate, name=name or f"{scope.key}-gate", owner=owner, dataset=scope.dataset,
                     batch_id=scope.batch_id)
