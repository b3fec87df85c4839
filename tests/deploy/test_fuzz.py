"""Property-based fuzzing of every operation in /openapi.json with schemathesis.

schemathesis is pinned to the 4.x line (pyproject.toml): its Python API (`openapi.from_asgi`,
`schema.parametrize`, `case.call_and_validate(checks=...)`) changed shape between majors, and a
fuzzer whose strategies shift under us would turn a green suite red for no change of ours.

Each operation gets a bounded number of cases (positive and negative data) against the ASGI app
in-process: zero 5xx, every documented response matches its schema and content type, and data
that breaks the schema is refused with a 4xx. Two kinds of operation are left out, with reasons:
- event streams (/stream/...): a case would hold a connection for a whole play; they carry the
  same data as the JSON API, which is fuzzed, and their parameters share its validation;
- lab measurements (real C races, GIL timings, other interpreters): each case costs seconds of
  real cores. tests/deploy/test_lab_validation.py fuzzes their parameters instead, proving that
  bad ones are refused before any work starts.
"""

from __future__ import annotations

import re

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
)

from app.main import create_app
from app.web.settings import Settings

CASES_PER_OPERATION = 40
STREAMS = r"^/stream/"
LAB_MEASUREMENTS = r"^/api/(native|gil|versions)/"
EXCLUDED = re.compile(f"{STREAMS}|{LAB_MEASUREMENTS}")

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(Settings())).exclude(
    path_regex=EXCLUDED.pattern
)


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
