"""What an analysis runs over: a named dataset or a batch, resolved into a :class:`Scope` and a tidy frame.

A dataset brings its own scale, attributes and composites (from the protocol it was imported with, or
MentalAlign's); a batch brings its stored protocol and its council's judges. Either way the statistics see
one tidy frame: one row per rating with target, rater, attribute, score and the target's context,
responder, length (batches only) and sample.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from council.analysis.errors import AnalysisError, NotFoundError
from council.store import analysis_store as db
from council.store.store import Store
from council.types import CouncilSpec
from protocols import Protocol

__all__ = ["HUMAN_CONSENSUS", "Scope", "batch_target", "ratings_frame", "resolve_scope", "pick_reference"]

HUMAN_REFERENCE = "human_expert"
HUMAN_CONSENSUS = "human_consensus"
"""A batch's derived reference when several people rated it and none is ``human_expert`` (e.g. reviewers of
the review queue): per candidate and attribute, the mean of the human ratings there are."""


class Scope(BaseModel):
    """A dataset or batch with what the statistics need to know about it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["dataset", "batch"]
    key: str
    """Dataset name or batch id."""
    owner: str
    attributes: list[str]
    composites: dict[str, list[str]]
    scale: tuple[float, float]
    council_judges: list[str] = []
    """A batch's council judge ids (the raters averaged into the council); empty for datasets."""
    families: dict[str, str] = {}
    """Judge id -> family, from the council spec (batches)."""
    own_models: dict[str, list[str]] = {}
    """Judge -> responders that are the judge's own model (the paper's self-exclusion)."""
    protocol_id: str | None = None

    @property
    def dataset(self) -> str | None:
        """The dataset name, or None for a batch."""
        return self.key if self.kind == "dataset" else None

    @property
    def batch_id(self) -> str | None:
        """The batch id, or None for a dataset."""
        return self.key if self.kind == "batch" else None

    @property
    def int_scale(self) -> tuple[int, int]:
        """The scale as integers (for κ and ceiling rates)."""
        return int(self.scale[0]), int(self.scale[1])


def batch_target(item_id: str, candidate_id: str) -> str:
    """Return the rating target of a batch candidate: ``item_id:candidate_id``."""
    return f"{item_id}:{candidate_id}"


def _check_one(dataset: str | None, batch_id: str | None) -> None:
    if (dataset is None) == (batch_id is None):
        raise AnalysisError("dataset", "give exactly one of dataset or batch_id")


def _batch_scope(store: Store, batch_id: str, owner: str) -> Scope:
    row = db.batch_row(store, batch_id)
    if row is None or row["owner"] != owner:
        raise NotFoundError("batch_id", f"no batch {batch_id!r}")
    protocol = Protocol.model_validate(json.loads(row["protocol"]))
    council = CouncilSpec.model_validate(json.loads(row["council"]))
    own: dict[str, list[str]] = {}
    responders = store.query("SELECT DISTINCT responder FROM candidates WHERE batch_id = ?", [batch_id])[
        "responder"
    ]
    for j in council.judges:
        names = {j.id, j.model, j.model.rsplit("/", 1)[-1]}
        own[j.id] = sorted(r for r in responders if r in names)
    return Scope(
        kind="batch",
        key=batch_id,
        owner=owner,
        attributes=protocol.attribute_ids,
        composites={k: list(v) for k, v in protocol.composites.items()},
        scale=(protocol.scale.min, protocol.scale.max),
        council_judges=[j.id for j in council.judges],
        families={j.id: j.family for j in council.judges if j.family},
        own_models=own,
        protocol_id=protocol.id,
    )


def resolve_scope(
    store: Store, *, dataset: str | None = None, batch_id: str | None = None, owner: str = "local"
) -> Scope:
    """Look up a dataset or batch of this owner.

    Raises:
        AnalysisError: Unless exactly one of ``dataset`` and ``batch_id`` is given.
        NotFoundError: If this owner has no such dataset or batch.

    """
    _check_one(dataset, batch_id)
    if batch_id is not None:
        return _batch_scope(store, batch_id, owner)
    row = db.dataset_row(store, owner, str(dataset))
    if row is None:
        raise NotFoundError("dataset", f"no dataset {dataset!r} (import ratings into it first)")
    meta = json.loads(row["meta"])
    return Scope(
        kind="dataset",
        key=str(dataset),
        owner=owner,
        attributes=json.loads(row["attributes"]),
        composites=json.loads(row["composites"]),
        scale=(row["scale_min"], row["scale_max"]),
        own_models=meta.get("own_models", {}),
        protocol_id=row["protocol_id"],
    )


def _responder_family(scope: Scope, responders: pd.Series) -> pd.Series:
    """Map candidates to families: a council judge's family for its own model's responses, else the name."""
    fam = {r: scope.families[j] for j, rs in scope.own_models.items() if j in scope.families for r in rs}
    return responders.map(lambda r: fam.get(r, r))


def _batch_frame(store: Store, scope: Scope, paper_compatible: bool) -> pd.DataFrame:
    j = db.read_judgments(store, scope.key)
    judged = pd.DataFrame(
        {
            "target": [batch_target(i, c) for i, c in zip(j["item_id"], j["candidate_id"], strict=True)],
            "rater": j["judge_id"],
            "rater_kind": "judge",
            "rater_family": j["judge_id"].map(scope.families),
            "attribute": j["attribute_id"],
            "score": j["score"].astype(float),
            "context": j["item_id"],
            "responder": j["responder"],
            "responder_family": _responder_family(scope, j["responder"]),
            "length": j["length"].astype(float),
            "sample": j["sample"],
        }
    )
    imported = db.read_ratings(store, scope.owner, batch_id=scope.key, paper_compatible=paper_compatible)
    if imported.empty:
        return judged
    cands = store.query(
        "SELECT item_id, candidate_id, responder, length(text) AS length FROM candidates WHERE batch_id = ?",
        [scope.key],
    )
    info = {
        batch_target(r.item_id, r.candidate_id): (r.item_id, r.responder, float(r.length))
        for r in cands.itertuples()
    }
    imported = imported.assign(
        context=imported["target"].map(lambda t: info[t][0]),
        responder=imported["target"].map(lambda t: info[t][1]),
        length=imported["target"].map(lambda t: info[t][2]),
    )
    imported["responder_family"] = _responder_family(scope, imported["responder"])
    return pd.concat([judged, imported[judged.columns], _consensus(imported[judged.columns])], ignore_index=True)


def _consensus(imported: pd.DataFrame) -> pd.DataFrame:
    """The :data:`HUMAN_CONSENSUS` rows of a batch's imported ratings (empty unless it is needed as reference).

    Needed when two or more human raters rated the batch and none is ``human_expert``: the reference is then
    the humans' mean per candidate and attribute over the ratings there are (one reviewer's score where one
    rated, the mean of two where two did). Its kind is ``external``, so the human–human ceiling is measured
    between the people themselves, never against their own mean.
    """
    humans = imported.loc[imported["rater_kind"] == "human"]
    names = set(humans["rater"])
    if len(names) < 2 or HUMAN_REFERENCE in names:
        return imported.iloc[0:0]
    scored = humans.dropna(subset=["score"])
    keys = ["target", "attribute"]
    info = scored.drop_duplicates(keys).set_index(keys)
    mean = scored.groupby(keys, sort=False)["score"].mean()
    return info.drop(columns="score").assign(score=mean, rater=HUMAN_CONSENSUS, rater_kind="external",
                                             rater_family="human", sample=0).reset_index()[list(imported.columns)]


def ratings_frame(
    store: Store,
    *,
    dataset: str | None = None,
    batch_id: str | None = None,
    owner: str = "local",
    paper_compatible: bool = False,
    scope: Scope | None = None,
) -> pd.DataFrame:
    """Return the tidy rating frame of a dataset or batch (one row per rating) for :mod:`council.stats`.

    For a batch: every judgment of the council's judges (per sample; abstentions as NaN) with target
    ``item_id:candidate_id``, context = item id, the candidate's responder and text length, plus the
    human and external ratings imported for that batch. For a dataset: its imported ratings. Default
    hygiene turns out-of-scale values into NaN and drops excluded targets (empty responses ...);
    ``paper_compatible`` keeps every value as given. ``length`` and ``sample`` are left out when they
    carry no information (no texts; a single sample).

    Raises:
        AnalysisError: Unless exactly one of ``dataset`` and ``batch_id`` is given.
        NotFoundError: If this owner has no such dataset or batch.

    """
    scope = scope or resolve_scope(store, dataset=dataset, batch_id=batch_id, owner=owner)
    if scope.kind == "batch":
        df = _batch_frame(store, scope, paper_compatible)
    else:
        df = db.read_ratings(store, scope.owner, dataset=scope.key, paper_compatible=paper_compatible)
    df["score"] = df["score"].astype(float)
    if df["length"].isna().all():
        df = df.drop(columns=["length"])
    if df.empty or not (df["sample"].fillna(0) > 0).any():
        df = df.drop(columns=["sample"])
    else:
        df["sample"] = df["sample"].astype(int)
    return df.reset_index(drop=True)


def raters_by_kind(df: pd.DataFrame) -> dict[str, list[str]]:
    """Rater ids per kind (human, judge, external), in frame order."""
    pairs = df[["rater", "rater_kind"]].drop_duplicates("rater")
    return {
        k: [str(r) for r in pairs.loc[pairs["rater_kind"] == k, "rater"]]
        for k in ("human", "judge", "external")
    }


def pick_reference(df: pd.DataFrame, reference: str | None) -> str:
    """Pick the reference rater: the one asked for, else ``human_expert``, else the only human, else the consensus.

    The consensus (:data:`HUMAN_CONSENSUS`) exists only in a batch that several people rated.

    Raises:
        AnalysisError: If the asked rater is absent, or there is no single obvious human reference.

    """
    humans = raters_by_kind(df)["human"]
    if reference is not None:
        if reference not in set(df["rater"]):
            raise AnalysisError(
                "reference", f"rater {reference!r} has no ratings here; raters: {sorted(set(df['rater']))}"
            )
        return reference
    if HUMAN_REFERENCE in humans:
        return HUMAN_REFERENCE
    if len(humans) == 1:
        return humans[0]
    if HUMAN_CONSENSUS in set(df["rater"]):
        return HUMAN_CONSENSUS
    if not humans:
        raise AnalysisError(
            "reference",
            "no human ratings here: import human ratings first "
            "(council ratings import FILE --dataset NAME | --batch ID)",
        )
    raise AnalysisError("reference", f"several human raters {humans}; name the reference")


def judges_in(scope: Scope, df: pd.DataFrame) -> list[str]:
    """Raters averaged into the council: a batch's council judges, or a dataset's external judges."""
    kinds = raters_by_kind(df)
    if scope.kind == "batch":
        present = set(kinds["judge"])
        return [j for j in scope.council_judges if j in present]
    return kinds["external"] + kinds["judge"]


def nan_to_none(value: Any) -> Any:
    """NaN -> None (JSON null), anything else unchanged."""
    return None if isinstance(value, float) and np.isnan(value) else value
