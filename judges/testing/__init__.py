"""Test and benchmark helpers that ship with the library: a fake OpenAI-compatible server we own.

The server's names are imported lazily so that ``python -m judges.testing.fake_openai`` does not import
that module twice (once through this package, once as ``__main__``).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from judges.testing.instances import Choice, schema_instance
from judges.testing.openai_wire import RecordedRequest, find_schema, quote_sources

if TYPE_CHECKING:
    from judges.testing.fake_openai import (
        DEFAULT_FAILURES,
        OUTCOMES,
        FakeOpenAIServer,
        FakeSettings,
        OutcomeHook,
        Responder,
    )

__all__ = [
    "DEFAULT_FAILURES",
    "OUTCOMES",
    "Choice",
    "FakeOpenAIServer",
    "FakeSettings",
    "OutcomeHook",
    "RecordedRequest",
    "Responder",
    "find_schema",
    "quote_sources",
    "schema_instance",
]

_LAZY = {"DEFAULT_FAILURES", "OUTCOMES", "FakeOpenAIServer", "FakeSettings", "OutcomeHook", "Responder"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'judges.testing' has no attribute {name!r}")
    return getattr(import_module("judges.testing.fake_openai"), name)
