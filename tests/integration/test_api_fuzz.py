"""The whole HTTP API fuzzed from its own OpenAPI description (schemathesis): whatever a
client sends, with a valid credential or none, no request gets a 500 or hangs."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from tests.integration.conftest import Worker

pytestmark = pytest.mark.integration
EXAMPLES_PER_OPERATION = 25


def test_no_input_makes_any_operation_fail_with_a_server_error(worker: Worker) -> None:
    schema = schemathesis.openapi.from_url(worker.api + "/openapi.json")
    headers = {"Authorization": f"Bearer {worker.tokens.issue('dispatch-center')}"}
    operations = [result.ok() for result in schema.get_all_operations()
                  if isinstance(result, Ok)]
    assert len(operations) >= 10
    checked: dict[str, int] = {}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz(operation, mode, worker.api, headers, checked)
    print(f"operations {len(checked)}, requests {sum(checked.values())} (valid and"
          " invalid), server errors 0")
    assert len(checked) == len(operations)


def fuzz(operation: Any, mode: GenerationMode, base_url: str, headers: dict[str, str],
         checked: dict[str, int]) -> None:
    """Valid requests (positive) and requests that break the schema (negative)."""
    label = f"{operation.method.upper()} {operation.path}"

    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        assert response.status_code < 500, (label, response.status_code, response.text)
        checked[label] = checked.get(label, 0) + 1

    try:
        call()
    except Unsatisfiable:
        # Nothing can break the schema of an operation without inputs (GET /healthz).
        assert mode is GenerationMode.NEGATIVE, label
