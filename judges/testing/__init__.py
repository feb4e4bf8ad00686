"""Test and benchmark helpers that ship with the library: a fake OpenAI-compatible server we own."""

from judges.testing.fake_openai import DEFAULT_FAILURES, OUTCOMES, FakeOpenAIServer, FakeSettings, Responder
from judges.testing.openai_wire import RecordedRequest, find_schema, quote_sources
from judges.testing.schema_instance import Choice, schema_instance

__all__ = [
    "DEFAULT_FAILURES",
    "OUTCOMES",
    "Choice",
    "FakeOpenAIServer",
    "FakeSettings",
    "RecordedRequest",
    "Responder",
    "find_schema",
    "quote_sources",
    "schema_instance",
]
