"""Schemathesis against the running service's own OpenAPI spec, with a valid key: no input gives a 5xx.

Every operation of ``/openapi.json`` gets a bounded number of generated requests, valid ones (positive
mode) and invalid ones (negative mode): ``COUNCIL_FUZZ_EXAMPLES`` per operation and mode (default 10),
derandomized, no shrinking. Every 5xx is collected with a curl reproducer (schemathesis'
``not_a_server_error``, applied by hand so that one failing operation does not hide the others). Runs last
in the session: batches it manages to submit keep running in the background.
``COUNCIL_FUZZ_OPERATIONS`` (a regular expression over labels like ``POST /v1/batches``) narrows the run
when debugging.

(schemathesis' pytest integration, ``from_fixture`` + ``parametrize``, does not run under pytest 9, so
the Hypothesis tests are built here from each operation's strategy.)
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from tests.service.harness import Service

pytestmark = [pytest.mark.service, pytest.mark.service_fuzz]

EXAMPLES = int(os.environ.get("COUNCIL_FUZZ_EXAMPLES", "10"))


def _fuzz(operation: Any, mode: GenerationMode, url: str, auth: dict[str, str], failures: list[str]) -> int:
    """Send up to EXAMPLES generated requests for one operation; collect every 5xx; return how many were sent."""
    sent = 0

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def call(case: Any) -> None:
        nonlocal sent
        response = case.call(base_url=url, headers=auth, timeout=60)
        sent += 1
        if response.status_code >= 500:  # what schemathesis' not_a_server_error checks; collected, not raised
            failures.append(f"{operation.label} ({mode.value}) → {response.status_code} {response.text[:300]}"
                            f"\n  {case.as_curl_command(headers={'Authorization': 'Bearer $KEY'})}"[:3000])

    try:
        call()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        # nothing to make invalid (an operation without parameters or body)
    return sent


def test_no_input_makes_the_service_fail(service: Service, api_keys: dict[str, str]) -> None:
    schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json", timeout=30)
    auth = {"Authorization": f"Bearer {api_keys['alice']}"}
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    assert {"POST /v1/batches", "GET /v1/batches/{batch_id}/results"} <= {op.label for op in operations}
    operations = [op for op in operations if re.search(os.environ.get("COUNCIL_FUZZ_OPERATIONS", ""), op.label)]

    failures: list[str] = []
    sent = {op.label: sum(_fuzz(op, mode, service.url, auth, failures)
                          for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)) for op in operations}

    by_operation: dict[str, list[str]] = {}
    for failure in failures:
        by_operation.setdefault(failure.split(" → ")[0], []).append(failure)
    summary = [f"{op}: {len(found)} × 5xx, e.g.\n" + "\n".join(found[:2]) for op, found in by_operation.items()]
    assert not failures, "\n\n".join(summary)
    assert all(n > 0 for n in sent.values()), sent
