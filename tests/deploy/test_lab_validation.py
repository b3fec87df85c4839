"""Lab endpoints (real C races, GIL timings, other interpreters) cost seconds per call, so the
schema fuzzer leaves them out. Here hypothesis throws values that break each parameter's
documented rules at them, and every one must be refused (a 422 naming the parameter from the
API, a 400 page naming it from a page) before any experiment is queued: JobRunner.run, the only
way lab work starts, must never be reached."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.lab.jobs import JobRunner
from app.main import create_app
from app.web.infra.settings import Settings
from tests.deploy.openapi_params import LAB_TAGS, Parameter, invalid_values, query_parameters

LAB_PARAMETERS = [
    parameter for parameter in query_parameters()
    if LAB_TAGS & set(parameter.tags) and invalid_values(parameter.schema) is not None
]


class _NoWorkAllowed(AssertionError):
    pass


@pytest.fixture(scope="module")
def guarded() -> Iterator[TestClient]:
    async def forbidden(self: JobRunner, *args: Any, **kwargs: Any) -> Any:
        raise _NoWorkAllowed("a lab job was started for a request that should have been refused")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(JobRunner, "run", forbidden)
        with TestClient(create_app(Settings()), raise_server_exceptions=True) as client:
            yield client


@pytest.mark.parametrize("parameter", LAB_PARAMETERS, ids=lambda parameter: parameter.id)
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_bad_lab_parameters_are_refused_before_any_work(
    guarded: TestClient, parameter: Parameter, data: st.DataObject
) -> None:
    strategy = invalid_values(parameter.schema)
    assert strategy is not None
    value = data.draw(strategy, label=parameter.name)
    response = guarded.get(parameter.path, params={parameter.name: value})
    if parameter.path.startswith(("/api/", "/stream/")):
        assert response.status_code == 422, (value, response.text)
        locations = [error["loc"] for error in response.json()["detail"]]
        assert ["query", parameter.name] in locations, (value, locations)
    else:  # a page: a readable 400 that names the parameter (app/web/infra/errors.py)
        assert response.status_code == 400, (value, response.status_code)
        assert f"{parameter.name}:" in response.text, value
