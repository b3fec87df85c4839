"""Every query parameter of every operation is bounded in its own OpenAPI declaration, so no
user can ask for unbounded work, and the 422 that refuses one can name the allowed range."""

from __future__ import annotations

import pytest

from tests.deploy.openapi_params import Parameter, is_bounded, query_parameters

PARAMETERS = query_parameters()


@pytest.mark.parametrize("parameter", PARAMETERS, ids=lambda parameter: parameter.id)
def test_parameter_declares_its_bounds(parameter: Parameter) -> None:
    assert is_bounded(parameter.schema), (
        f"{parameter.id} accepts {parameter.schema}: give it ge/le, a Literal, or max_length"
    )
