"""Every query parameter of every operation is bounded in its own OpenAPI declaration, so no
user can ask for unbounded work, and the 422 that refuses one can name the allowed range."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.deploy.openapi_params import Parameter, is_bounded, query_parameters

# Parameters whose upper bound depends on the others, so OpenAPI cannot state it: the app clamps
# them instead. Each is also checked below with an absurd value.
CLAMPED = {
    "step": "an index into the run, clamped to its length (bounded by n's own maximum)",
}
PARAMETERS = query_parameters()


@pytest.mark.parametrize("parameter", PARAMETERS, ids=lambda parameter: parameter.id)
def test_parameter_declares_its_bounds(parameter: Parameter) -> None:
    if parameter.name in CLAMPED:
        assert "minimum" in parameter.schema or "exclusiveMinimum" in parameter.schema
        return
    assert is_bounded(parameter.schema), (
        f"{parameter.id} accepts {parameter.schema}: give it ge/le, a Literal, or max_length"
    )


@pytest.mark.parametrize(
    "parameter",
    [parameter for parameter in PARAMETERS
     if parameter.name in CLAMPED and not parameter.path.startswith("/stream/")],
    ids=lambda parameter: parameter.id,
)
def test_clamped_parameters_survive_absurd_values(client: TestClient, parameter: Parameter) -> None:
    response = client.get(parameter.path, params={parameter.name: str(10**30)})
    assert response.status_code < 500
