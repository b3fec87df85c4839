"""Links built from typed state (app.web.infra.urls)."""

from __future__ import annotations

import pytest

from app.sim import Config, Mode, Permalink, Scenario, simulate
from app.web.infra import urls


@pytest.mark.parametrize("embed", [False, True])
@pytest.mark.parametrize(
    "extra", [{}, {"from": "lab", "run": "2", "runs": "3"}, {"predict": "1", "score": "3/4"}]
)
def test_the_links_to_every_step_of_a_run_are_its_permalinks(
    embed: bool, extra: dict[str, str]
) -> None:
    """`sim_steps` encodes the query once for a whole run: each link is `sim`'s, byte for byte."""
    config = Config(scenario=Scenario.INC_DEC, mode=Mode.GIL, n=4, interval=3)
    run = simulate(config, None, 9)
    link = Permalink.of(run, 5)
    at = urls.sim_steps(link, embed=embed, **extra)
    for step in range(len(run.steps) + 1):
        assert at(step) == urls.sim(link.at(step), embed=embed, **extra)
