"""Every size a request controls, bounded in one place: the limits, their defaults, and the checks.

Each limit is checked before anything is allocated for the request (no scale is materialised, no file
parsed, no batch stored); crossing one answers 422 (413 for bodies) naming the field. The service takes
them as Serve args / ``council serve`` flags (:class:`council.service.config.ServiceArgs` inherits
:class:`Limits`); the README's limits table lists the same names and defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from council.service.errors import RequestError

__all__ = ["Limits", "check_batch", "check_import_content", "check_protocol_document", "check_ratings_upload"]


class Limits(BaseModel):
    """Request limits of the service (all per request)."""

    max_body_bytes: int = Field(20 * 1024 * 1024, ge=1024, description="Largest request body accepted (413 above).")
    max_items: int = Field(10_000, ge=1, description="Items per batch.")
    max_candidates: int = Field(32, ge=1, description="Candidates per item.")
    max_turns: int = Field(200, ge=1, description="Turns of one item's conversation.")
    max_judges: int = Field(16, ge=1, description="Judges of an inline council.")
    max_samples: int = Field(5, ge=1, description="Scoring samples per judge and candidate (inline councils).")
    max_calls: int = Field(200_000, ge=1, description="LLM calls one batch may need (judges × items × (2 + "
                                                      "candidates × samples)).")
    max_scale_points: int = Field(101, ge=2, description="Points of a protocol's scale (max - min + 1).")
    max_attributes: int = Field(64, ge=1, description="Attributes of a protocol.")
    max_composites: int = Field(64, ge=0, description="Composites of a protocol.")
    max_text_chars: int = Field(20_000, ge=100, description="Characters of one protocol text (definition, anchor).")
    max_id_chars: int = Field(200, ge=8, description="Characters of any id or name a client chooses.")
    max_import_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="Bytes of one ratings file.")
    max_import_rows: int = Field(500_000, ge=1, description="Rows (lines) of one ratings file.")
    max_import_columns: int = Field(200, ge=1, description="Columns of one ratings file and entries of its "
                                                          "column/attribute/family mappings.")
    max_bootstrap: int = Field(5_000, ge=10, description="Bootstrap replicates of one agreement report.")
    max_raters: int = Field(200, ge=2, description="Raters in the scope of one agreement report or view "
                                                  "(pairwise records grow with their square).")
    max_page: int = Field(100_000, ge=100, description="Rows of one results page (`limit` above it: 422).")

    def of(self) -> Limits:
        """Only the limits (a :class:`ServiceArgs` carries more)."""
        return Limits.model_validate(self.model_dump(include=set(Limits.model_fields)))


def _too_many(field: str, n: int, limit: int, what: str) -> RequestError:
    return RequestError(f"{field}: {n} {what}, at most {limit}", field=field)


def _check_id(field: str, value: Any, limits: Limits) -> None:
    if isinstance(value, str) and len(value) > limits.max_id_chars:
        raise RequestError(f"{field}: longer than {limits.max_id_chars} characters", field=field)


def check_batch(request: Any, limits: Limits) -> None:
    """Items, candidates, turns, judges, samples and total calls of a batch request (a ``BatchRequest``)."""
    if len(request.items) > limits.max_items:
        raise _too_many("items", len(request.items), limits.max_items, "items")
    candidates = 0
    for i, item in enumerate(request.items):
        if len(item.candidates) > limits.max_candidates:
            raise _too_many(f"items.{i}.candidates", len(item.candidates), limits.max_candidates, "candidates")
        if isinstance(item.context, list) and len(item.context) > limits.max_turns:
            raise _too_many(f"items.{i}.context", len(item.context), limits.max_turns, "turns")
        for c, candidate in enumerate(item.candidates):
            _check_id(f"items.{i}.candidates.{c}.responder", candidate.responder, limits)
        candidates += len(item.candidates)
    council = request.council
    if isinstance(council, str):
        _check_id("council", council, limits)
        return
    if len(council.judges) > limits.max_judges:
        raise _too_many("council.judges", len(council.judges), limits.max_judges, "judges")
    calls = 0
    for j, judge in enumerate(council.judges):
        _check_id(f"council.judges.{j}.id", judge.id, limits)
        _check_id(f"council.judges.{j}.model", judge.model, limits)
        if judge.samples > limits.max_samples:
            raise _too_many(f"council.judges.{j}.samples", judge.samples, limits.max_samples, "samples")
        calls += 2 * len(request.items) + candidates * judge.samples
    if calls > limits.max_calls:
        raise _too_many("items", calls, limits.max_calls, "LLM calls needed")


def _check_attribute(i: int, attribute: Any, limits: Limits) -> None:
    where = f"attributes.{i}"
    if not isinstance(attribute, Mapping):
        return  # the protocol's own validation names it
    for key in ("id", "name"):
        _check_id(f"{where}.{key}", attribute.get(key), limits)
    definition = attribute.get("definition")
    if isinstance(definition, str) and len(definition) > limits.max_text_chars:
        raise RequestError(f"{where}.definition: longer than {limits.max_text_chars} characters",
                           field=f"{where}.definition")
    anchors = attribute.get("anchors")
    if isinstance(anchors, Mapping):
        if len(anchors) > limits.max_scale_points:
            raise _too_many(f"{where}.anchors", len(anchors), limits.max_scale_points, "anchors")
        for key, text in anchors.items():
            if isinstance(text, str) and len(text) > limits.max_text_chars:
                raise RequestError(f"{where}.anchors.{str(key)[:20]}: longer than {limits.max_text_chars} "
                                   "characters", field=f"{where}.anchors")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def check_protocol_document(document: Mapping[str, Any], limits: Limits) -> None:
    """Scale span, attribute, anchor and composite counts, id and text lengths of a posted protocol.

    Runs on the raw document, before the protocol model is built (which materialises every scale point).
    """
    for key in ("id", "version", "name"):
        _check_id(key, document.get(key), limits)
    for key in ("description", "citation", "reliability_notes"):
        value = document.get(key)
        if isinstance(value, str) and len(value) > limits.max_text_chars:
            raise RequestError(f"{key}: longer than {limits.max_text_chars} characters", field=key)
    scale = document.get("scale")
    if isinstance(scale, Mapping):
        low, high = _number(scale.get("min")), _number(scale.get("max"))
        if low is not None and high is not None and (high - low + 1 > limits.max_scale_points
                                                     or abs(low) > 1e6 or abs(high) > 1e6):
            raise RequestError(f"scale: at most {limits.max_scale_points} points (max - min + 1)", field="scale")
    attributes = document.get("attributes")
    if isinstance(attributes, list):
        if len(attributes) > limits.max_attributes:
            raise _too_many("attributes", len(attributes), limits.max_attributes, "attributes")
        for i, attribute in enumerate(attributes):
            _check_attribute(i, attribute, limits)
    composites = document.get("composites")
    if isinstance(composites, Mapping):
        if len(composites) > limits.max_composites:
            raise _too_many("composites", len(composites), limits.max_composites, "composites")
        for name, members in composites.items():
            _check_id("composites", name, limits)
            if isinstance(members, list) and len(members) > limits.max_attributes:
                raise _too_many(f"composites.{str(name)[:50]}", len(members), limits.max_attributes, "members")


def check_ratings_upload(body: Any, limits: Limits) -> None:
    """Bytes, rows and mapping sizes of a ratings upload (a ``RatingsUpload``), before it is parsed."""
    size = len(body.content.encode())
    if size > limits.max_import_bytes:
        raise RequestError(f"content: {size} bytes, at most {limits.max_import_bytes}", field="content",
                           status=413)
    rows = body.content.count("\n") + 1
    if rows > limits.max_import_rows + 1:  # + the header line
        raise _too_many("content", rows, limits.max_import_rows, "lines")
    for name in ("columns", "attributes", "families"):
        value = getattr(body, name)
        if value is not None and len(value) > limits.max_import_columns:
            raise _too_many(name, len(value), limits.max_import_columns, "entries")


def check_import_content(content: str, limits: Limits) -> None:
    """Bytes and lines of an uploaded file's text (e.g. human pairwise preferences), before it is parsed."""
    size = len(content.encode())
    if size > limits.max_import_bytes:
        raise RequestError(f"content: {size} bytes, at most {limits.max_import_bytes}", field="content", status=413)
    rows = content.count("\n") + 1
    if rows > limits.max_import_rows + 1:  # + the header line
        raise _too_many("content", rows, limits.max_import_rows, "lines")


def check_bootstrap(bootstrap: Mapping[str, Any] | None, limits: Limits) -> None:
    """Replicates of an agreement report's bootstrap."""
    if not bootstrap:
        return
    n = bootstrap.get("n_boot")
    if isinstance(n, int) and (n > limits.max_bootstrap or n < 0):
        raise RequestError(f"bootstrap.n_boot: between 0 and {limits.max_bootstrap}", field="bootstrap.n_boot")
