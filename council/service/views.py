"""Read-only views for the dashboard, computed in the service next to the store and cached in memory.

The dashboard draws what these return and computes nothing itself, so it works the same against a
remote cluster. Each view is a pure function of a :class:`~council.service.views_frames.Prepared` frame;
:class:`ViewsService` runs them in worker threads (statistics take seconds on MentalAlign and must not
stall the core's event loop, which also answers the judge replicas) and keeps results in an LRU keyed by
owner, scope, parameters and the scope's data version — new ratings, judgments or calibrations change
the version, so a cached answer is never stale, and a repeated request costs one small SQL query.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from council.analysis import AnalysisError, NotFoundError, resolve_scope
from council.service.views_frames import CALIBRATED, COUNCIL, Prepared, data_version, prepare_frame
from council.service.views_items import batch_item, batch_items, overview, records
from council.service.views_stats import (
    bland_altman_points,
    dataset_item,
    dataset_items,
    leaderboard,
    score_histograms,
)
from council.stats import (
    add_composites,
    agreement_report,
    bias_report,
    human_ceiling,
    pairwise_records,
    records_frame,
)
from council.stats.types import BootstrapSpec
from council.store.store import Store

__all__ = ["ViewError", "ViewsService", "agreement_view", "bias_view", "leaderboard_view"]


@dataclass(frozen=True)
class ViewError:
    """A refused view request, returned (not raised) across the Ray handle so the route can answer it.

    Analysis errors take ``(field, message)`` in their constructor, which Ray cannot rebuild when it wraps
    an exception raised in the core; a plain record crosses intact and becomes a 404/422 with its field.
    """

    status: int
    message: str
    field: str | None


def _answering(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except NotFoundError as e:
            return ViewError(404, str(e), e.field)
        except AnalysisError as e:
            return ViewError(422, str(e), e.field)

    return wrapper


def _scope_info(p: Prepared, version: str) -> dict[str, Any]:
    s = p.scope
    return {
        "kind": s.kind,
        "key": s.key,
        "attributes": s.attributes,
        "composites": s.composites,
        "scale": list(s.scale),
        "reference": p.reference,
        "judges": p.judges,
        "humans": p.humans,
        "human_ratings": int(((p.frame["rater_kind"] == "human") & p.frame["score"].notna()).sum()),
        "raters": sorted({str(r) for r in p.frame["rater"].unique()}),
        "calibration": p.calibration,
        "data_version": version,
    }


def _records(recs: list[Any]) -> list[dict[str, Any]]:
    """Flat records without ``extra``, except the responder a source-model record is about."""
    if not recs:
        return []
    df = records_frame(recs)
    df["responder"] = df.pop("extra").map(lambda e: e.get("responder") if isinstance(e, dict) else None)
    return records(df)


def agreement_view(p: Prepared, n_boot: int = 0, seed: int = 0) -> dict[str, Any]:
    """Agreement of every judge, the council (raw and calibrated) and other raters with the human reference.

    Item level, plus system level when responders are known; the human–human ceiling when there are
    several human raters; judge–judge (and judge–reference) pairwise records at item level for the
    heatmap. Without human ratings only the pairwise records are given, with a ``note`` saying why.
    """
    s, df = p.scope, p.frame
    levels = ["item"] + (["system"] if "responder" in df and df["responder"].notna().any() else [])
    boot = BootstrapSpec(n_boot=n_boot, seed=seed) if n_boot else None
    recs: list[Any] = []
    note = None
    if p.reference is not None:
        recs = agreement_report(
            df,
            p.reference,
            level=levels,
            judges=p.judges,
            include_council=False,
            bootstrap=boot,
            scale=s.int_scale,
            composites=s.composites,
        )
        recs += human_ceiling(df, p.humans, scale=s.int_scale, composites=s.composites)
    else:
        note = (
            "no human ratings here yet: import them on the Calibration page to compare the judges with "
            "humans; judge–judge agreement is shown meanwhile"
        )
    pair_raters = [*p.judges, *([p.reference] if p.reference else [])]
    pairs = (
        pairwise_records(df, pair_raters, level="item", scale=s.int_scale, composites=s.composites)
        if len(pair_raters) >= 2
        else []
    )
    return {"levels": levels, "records": _records(recs), "pairwise": _records(pairs), "note": note}


def _compared(p: Prepared) -> list[str]:
    raters = [*p.judges, COUNCIL, CALIBRATED]
    present = set(p.frame["rater"].unique())
    return [r for r in raters if r in present]


def bias_view(p: Prepared, attribute: str | None = None) -> dict[str, Any]:
    """Bias diagnostics, Bland–Altman points and score distributions.

    Source-model bias, self-preference, length and run spread records; binned Bland–Altman points of one
    attribute; the score distributions of every rater (the ceiling effect).
    """
    s = p.scope
    full = add_composites(p.frame, s.composites)
    attrs = [*s.attributes, *s.composites]
    attribute = attribute or attrs[0]
    if attribute not in attrs:
        raise AnalysisError("attribute", f"unknown attribute {attribute!r}; attributes: {attrs}")
    out: dict[str, Any] = {"attribute": attribute, "records": [], "bland_altman": [], "note": None}
    if p.reference is not None:
        raters = _compared(p)
        out["records"] = _records(
            bias_report(
                p.frame,
                p.reference,
                raters=raters,
                judges=p.judges,
                include_council=False,
                composites=s.composites,
            )
        )
        out["bland_altman"] = records(bland_altman_points(full, p.reference, raters, [attribute]))
    else:
        out["note"] = "no human ratings here yet: bias against humans needs them (Calibration page)"
    hist_raters = [*([p.reference] if p.reference else []), *_compared(p)]
    out["histograms"] = records(score_histograms(full, hist_raters, attrs))
    return out


def leaderboard_view(p: Prepared, rater: str = COUNCIL, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Responders ranked by ``rater``'s score per attribute and composite, with cluster-bootstrap CIs."""
    s = p.scope
    if rater not in set(p.frame["rater"].unique()):
        raise AnalysisError("rater", f"no scores from {rater!r}; raters: {sorted(p.frame['rater'].unique())}")
    full = add_composites(p.frame, s.composites)
    try:
        board = leaderboard(full, rater, [*s.attributes, *s.composites], n_boot=n_boot, seed=seed)
    except ValueError as e:
        raise AnalysisError("rater", str(e)) from e
    return {
        "rater": rater,
        "n_boot": n_boot,
        "seed": seed,
        "ci_method": f"cluster-bootstrap({n_boot}, seed={seed})",
        "rows": records(board),
    }


class ViewsService:
    """The dashboard's view endpoints over the core's store, scoped by owner, with an in-memory LRU."""

    def __init__(self, store: Store, max_entries: int = 64) -> None:
        self.store = store
        self.max_entries = max_entries
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._locks: dict[tuple[Any, ...], asyncio.Lock] = {}

    async def _cached(self, key: tuple[Any, ...], fn: Callable[..., Any], *args: Any) -> Any:
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        async with self._locks.setdefault(key, asyncio.Lock()):  # one computation per key, others wait
            if key not in self._cache:
                self._cache[key] = await asyncio.to_thread(fn, *args)
                while len(self._cache) > self.max_entries:
                    old, _ = self._cache.popitem(last=False)
                    self._locks.pop(old, None)
        return self._cache[key]

    async def _prepared(self, owner: str, dataset: str | None, batch_id: str | None) -> tuple[Prepared, str]:
        scope = await asyncio.to_thread(
            resolve_scope, self.store, dataset=dataset, batch_id=batch_id, owner=owner
        )
        version = await asyncio.to_thread(data_version, self.store, scope)
        prep = await self._cached(
            ("frame", owner, scope.kind, scope.key, version), prepare_frame, self.store, scope
        )
        return prep, version

    async def _view(
        self,
        name: str,
        owner: str,
        dataset: str | None,
        batch_id: str | None,
        fn: Callable[..., dict[str, Any]],
        *params: Any,
    ) -> dict[str, Any]:
        start = time.perf_counter()
        prep, version = await self._prepared(owner, dataset, batch_id)
        body = await self._cached(
            (name, owner, prep.scope.kind, prep.scope.key, version, *params), fn, prep, *params
        )
        return {
            "scope": _scope_info(prep, version),
            **body,
            "elapsed_s": round(time.perf_counter() - start, 4),
        }

    @_answering
    async def overview(self, owner: str) -> dict[str, Any]:
        """Batches and datasets of this owner (see :func:`council.service.views_items.overview`)."""
        return await asyncio.to_thread(overview, self.store, owner)

    @_answering
    async def agreement(
        self, owner: str, dataset: str | None, batch_id: str | None, n_boot: int = 0, seed: int = 0
    ) -> dict[str, Any]:
        """See :func:`agreement_view`."""
        return await self._view("agreement", owner, dataset, batch_id, agreement_view, n_boot, seed)

    @_answering
    async def bias(
        self, owner: str, dataset: str | None, batch_id: str | None, attribute: str | None = None
    ) -> dict[str, Any]:
        """See :func:`bias_view`."""
        return await self._view("bias", owner, dataset, batch_id, bias_view, attribute)

    @_answering
    async def leaderboard(
        self,
        owner: str,
        dataset: str | None,
        batch_id: str | None,
        rater: str = COUNCIL,
        n_boot: int = 1000,
        seed: int = 0,
    ) -> dict[str, Any]:
        """See :func:`leaderboard_view`."""
        return await self._view(
            "leaderboard", owner, dataset, batch_id, leaderboard_view, rater, n_boot, seed
        )

    @_answering
    async def items(self, owner: str, dataset: str | None, batch_id: str | None) -> dict[str, Any]:
        """Items ranked for review: a batch's items with disagreement and risk, or a dataset's contexts."""
        if batch_id is not None:
            return {
                "kind": "batch",
                "items": await asyncio.to_thread(batch_items, self.store, owner, batch_id),
            }

        def ranked(p: Prepared) -> dict[str, Any]:
            return {"items": records(dataset_items(p.frame, p.judges, p.reference))}

        return {"kind": "dataset", **await self._view("items", owner, dataset, None, ranked)}

    @_answering
    async def item(
        self, owner: str, item_id: str, dataset: str | None, batch_id: str | None
    ) -> dict[str, Any]:
        """One item of a batch (agents' outputs, scores, rationales) or one context of a dataset (scores)."""
        if batch_id is not None:
            return {
                "kind": "batch",
                **await asyncio.to_thread(batch_item, self.store, owner, batch_id, item_id),
            }
        prep, _ = await self._prepared(owner, dataset, None)
        try:
            table = await asyncio.to_thread(dataset_item, prep.frame, item_id, prep.judges)
        except ValueError as e:
            raise NotFoundError("item_id", str(e)) from e
        return {
            "kind": "dataset",
            "item_id": item_id,
            "judges": prep.judges,
            "reference": prep.reference,
            "scores": records(table),
        }
