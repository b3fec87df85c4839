"""Property-based fuzzing of every operation in /openapi.json with schemathesis.

schemathesis is pinned to the 4.x line (pyproject.toml): its Python API (`openapi.from_asgi`,
`schema.parametrize`, `case.call_and_validate(checks=...)`) changed shape between majors, and a
fuzzer whose strategies shift under us would turn a green suite red for no change of ours.

Each operation gets a bounded number of cases (positive and negative data) against the ASGI app
in-process: zero 5xx, every documented response matches its schema and content type, and data
that breaks the schema is refused with a 4xx. Left out, with reasons:
- event streams (/stream/...): a case would hold a connection for a whole play; they carry the
  same data as the JSON API, which is fuzzed, and their parameters share its validation;
- the lab areas (operations tagged as in LAB_TAGS: real C races, GIL timings, other
  interpreters, and the pages that show them): each case costs seconds of real cores.
  tests/deploy/test_lab_validation.py fuzzes their parameters instead, proving that bad ones
  are refused before any work starts;
- explorations above EXPLORE_N_CAP: exact counts of up to 10^35 interleavings take seconds
  each; n past the maximum is still sent (and refused at once), and test_event_loop.py runs a
  large one against a real server.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
)

from app.main import create_app
from app.sim import MAX_N_EXPLORE
from app.web.infra.settings import Settings
from tests.deploy.openapi_params import LAB_TAGS, STREAMS

CASES_PER_OPERATION = 30
EXPLORE_N_CAP = 6

schema = (
    schemathesis.openapi.from_asgi("/openapi.json", create_app(Settings()))
    .exclude(path_regex=STREAMS)
    .exclude(tag=list(LAB_TAGS))
)


@schema.hook
def filter_query(context: schemathesis.HookContext, query: dict[str, Any] | None) -> bool:
    operation = context.operation
    if operation is None or "explore" not in operation.path or not query:
        return True
    try:
        n = int(query.get("n", 1))
    except (TypeError, ValueError):
        return True  # not a number: refused at once, keep it
    return not EXPLORE_N_CAP < n <= MAX_N_EXPLORE


@schema.parametrize()
@settings(
    max_examples=CASES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same cases every run: a red suite is reproducible, never flaky
)
def test_operation_never_fails_and_keeps_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(
        checks=[
            not_a_server_error,
            response_schema_conformance,
            content_type_conformance,
            negative_data_rejection,
        ]
    )
