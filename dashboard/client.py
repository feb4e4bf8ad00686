"""The dashboard's only way to data: a typed httpx client of the service's HTTP API, with cached reads.

Configured by ``COUNCIL_URL`` (default ``http://127.0.0.1:8000``) and ``COUNCIL_API_KEY`` (default: the
key ``council serve`` saved for the local owner), so the same app works against a remote cluster. GET
answers are cached by Streamlit for ``CACHE_TTL_S`` (keyed by URL, key and parameters; ``st.cache_resource``,
so a hit hands out the parsed answer without copying it: pages treat answers as read-only); the service
caches the computation itself per data version, so a reload never recomputes statistics.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import streamlit as st

__all__ = ["ApiError", "Client", "client", "clear_cache"]

CACHE_TTL_S = 300
TIMEOUT_S = 600.0  # a first agreement view on a large dataset computes for tens of seconds on a busy machine


class ApiError(RuntimeError):
    """The service answered with an error body (``{"error": ..., "field": ...}``) or could not be reached."""

    def __init__(self, message: str, status: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


def _key() -> str | None:
    key = os.environ.get("COUNCIL_API_KEY")
    if key:
        return key
    from council.service.cli import local_api_key  # reads $COUNCIL_HOME/local_api_key only

    return local_api_key()


def _raise_for(r: httpx.Response) -> None:
    if r.status_code < 400:
        return
    try:
        body = r.json()
        raise ApiError(str(body.get("error", r.text)), r.status_code, body.get("field"))
    except ValueError:
        raise ApiError(r.text[:500], r.status_code) from None


@st.cache_resource(ttl=CACHE_TTL_S, show_spinner=False, max_entries=256)
def _cached_get(url: str, key: str | None, path: str, params: tuple[tuple[str, Any], ...]) -> Any:
    try:
        r = httpx.get(url + path, params=dict(params), headers=_headers(key), timeout=TIMEOUT_S)
    except httpx.HTTPError as e:
        raise ApiError(f"cannot reach the service at {url}: {e}") from e
    _raise_for(r)
    return r.json()


def _headers(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


@dataclass(frozen=True)
class Client:
    """Typed calls of the API routes the dashboard uses."""

    url: str
    key: str | None

    def get(self, path: str, **params: Any) -> Any:
        """GET a route (cached); ``None`` parameters are left out."""
        clean = tuple(sorted((k, v) for k, v in params.items() if v is not None))
        return _cached_get(self.url, self.key, path, clean)

    def get_fresh(self, path: str, **params: Any) -> Any:
        """GET a route, never cached (answers that change with every call, or that assign work)."""
        clean = {k: v for k, v in params.items() if v is not None}
        try:
            r = httpx.get(self.url + path, params=clean, headers=_headers(self.key), timeout=TIMEOUT_S)
        except httpx.HTTPError as e:
            raise ApiError(f"cannot reach the service at {self.url}: {e}") from e
        _raise_for(r)
        return r.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        """POST a route (never cached); clears the read cache, since the data changed."""
        try:
            r = httpx.post(self.url + path, json=body, headers=_headers(self.key), timeout=TIMEOUT_S)
        except httpx.HTTPError as e:
            raise ApiError(f"cannot reach the service at {self.url}: {e}") from e
        _raise_for(r)
        clear_cache()
        return r.json()

    def health(self) -> dict[str, Any]:
        """``GET /healthz`` (uncached)."""
        r = httpx.get(self.url + "/healthz", timeout=30)
        _raise_for(r)
        return dict(r.json())

    def overview(self) -> dict[str, Any]:
        """Batches, datasets, per-judge abstention rates."""
        return dict(self.get("/v1/views/overview"))

    def agreement(self, scope: dict[str, str], n_boot: int = 0) -> dict[str, Any]:
        """Agreement records (and pairwise) of a dataset or batch."""
        return dict(self.get("/v1/views/agreement", n_boot=n_boot or None, **scope))

    def bias(self, scope: dict[str, str], attribute: str | None) -> dict[str, Any]:
        """Bias records, Bland–Altman points of one attribute, histograms."""
        return dict(self.get("/v1/views/bias", attribute=attribute, **scope))

    def leaderboard(self, scope: dict[str, str], rater: str, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
        """Responders ranked with cluster-bootstrap CIs."""
        return dict(self.get("/v1/views/leaderboard", rater=rater, n_boot=n_boot, seed=seed, **scope))

    def pairwise(self, batch_id: str, absolute_batch: str | None = None, n_boot: int = 1000,
                 seed: int = 0) -> dict[str, Any]:
        """A pairwise batch's report: BT leaderboards, judges' position and self-preference, τ vs absolute."""
        return dict(self.get(f"/v1/batches/{quote(batch_id, safe='')}/pairwise", absolute_batch=absolute_batch,
                             n_boot=n_boot, seed=seed))

    def items(self, scope: dict[str, str]) -> dict[str, Any]:
        """Items with disagreement and risk."""
        return dict(self.get("/v1/views/items", **scope))

    def item(self, scope: dict[str, str], item_id: str) -> dict[str, Any]:
        """One item in detail."""
        return dict(self.get(f"/v1/views/items/{quote(item_id, safe='')}", **scope))

    def calibrations(self) -> list[dict[str, Any]]:
        """This key's calibrations."""
        return list(self.get("/v1/calibrations"))

    def review_next(self, reviewer: str, batch_id: str | None = None) -> dict[str, Any] | None:
        """The reviewer's next queued candidate (assigned to them; uncached), or None when nothing is left."""
        return self.get_fresh("/v1/review/next", reviewer=reviewer, batch_id=batch_id)["item"]

    def review_queue(self, batch_id: str | None = None) -> dict[str, Any]:
        """Queue counts per reason and reviewer (uncached)."""
        return dict(self.get_fresh("/v1/review/queue", batch_id=batch_id))

    def review_scores(self, queue_id: str) -> dict[str, Any]:
        """The judges' scores of a queued candidate (asked for by the reviewer)."""
        return dict(self.get_fresh(f"/v1/review/{quote(queue_id, safe='')}/scores"))

    def review_submit(self, queue_id: str, reviewer: str, scores: dict[str, int], note: str | None) -> dict[str, Any]:
        """Store a reviewer's scores of a queued candidate."""
        return dict(self.post(f"/v1/review/{quote(queue_id, safe='')}/ratings",
                              {"reviewer": reviewer, "scores": scores, "note": note or None}))

    def review_enqueue(self, batch_id: str, reasons: list[str], min_uncertainty: float = 0.5) -> dict[str, Any]:
        """Queue a batch's flagged candidates."""
        return dict(self.post("/v1/review/enqueue", {"batch_id": batch_id, "reasons": reasons,
                                                     "min_uncertainty": min_uncertainty}))

    def review_refit(self, batch_ids: list[str]) -> dict[str, Any]:
        """Refit the calibration and the gate's thresholds from all human ratings of the batches."""
        return dict(self.post("/v1/review/refit", {"batch_ids": batch_ids}))


def client() -> Client:
    """The client for ``COUNCIL_URL`` with ``COUNCIL_API_KEY`` (or the local key)."""
    return Client(os.environ.get("COUNCIL_URL", "http://127.0.0.1:8000").rstrip("/"), _key())


def clear_cache() -> None:
    """Forget every cached answer (after a write, or when the user asks to refresh)."""
    _cached_get.clear()
