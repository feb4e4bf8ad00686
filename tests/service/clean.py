"""What no response body of the service may contain: tracebacks, file paths, pids, IP addresses, actor ids."""

from __future__ import annotations

import re

import httpx

LEAKS = {
    "traceback": re.compile(r"Traceback|File \"|line \d+, in |RayTaskError|ray::|\.py\b"),
    "path": re.compile(r"(?<![\w.:/])/(?:home|tmp|work|usr|opt|root|var|proc|etc|site-packages)/"),
    "pid": re.compile(r"\bpid[=: ]\s*\d+", re.IGNORECASE),
    "ip": re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"),
    "actor": re.compile(r"\b(?:actor|Actor)[ _]?(?:id|ID)?[=: ]*[0-9a-f]{16,}|\b[0-9a-f]{32,}\b"),
}


def leaks(text: str) -> list[str]:
    """Names of the internal details found in ``text``."""
    return [name for name, pattern in LEAKS.items() if pattern.search(text)]


def assert_clean_error(r: httpx.Response, status: int | None = None, field: str | None = None) -> dict:
    """An error answer under the contract: JSON {error, field?, correlation_id} matching the header, no leaks."""
    if status is not None:
        assert r.status_code == status, (r.status_code, r.text[:2000])
    assert r.status_code >= 400, (r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("application/json"), r.headers
    body = r.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    assert not leaks(r.text), (leaks(r.text), r.text[:2000])
    assert len(r.content) < 20_000, len(r.content)
    assert body.get("correlation_id") and body["correlation_id"] == r.headers.get("x-correlation-id"), body
    if field is not None:
        assert body.get("field") == field, body
    return dict(body)
