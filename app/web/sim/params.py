"""Query parameters shared by the simulator's pages and its JSON API, and how both run an
exploration: the bounds and the descriptions that 422s and /docs show are written once."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import Query

from app.lab.jobs import JobRunner
from app.sim import MAX_INTERVAL, MAX_N_EXPLORE, MAX_N_SIMULATE, Exploration, Mode, Scenario
from app.sim import explore as explore_exactly
from app.sim.permalink import MAX_SEED

MAX_SCHEDULE_CHARS = 4000  # a whole run at n = MAX_N_SIMULATE, spelled letter by letter
EXPLORE_TIMEOUT_S = 30.0

ScenarioQuery = Annotated[Scenario, Query(description="Which calls the two threads make.")]
ModeQuery = Annotated[
    Mode,
    Query(
        description="How the reference count is protected; biased and immortal are "
        "free-threaded CPython 3.13t's biased reference counting and immortal objects."
    ),
]
SimNQuery = Annotated[int, Query(ge=1, le=MAX_N_SIMULATE, description="Calls per thread.")]
ExploreNQuery = Annotated[int, Query(ge=1, le=MAX_N_EXPLORE, description="Calls per thread.")]
IntervalQuery = Annotated[
    int | None,
    Query(ge=1, le=MAX_INTERVAL, description="GIL switch interval in steps (mode gil only)."),
]
ScheduleQuery = Annotated[
    str | None,
    Query(
        max_length=MAX_SCHEDULE_CHARS,
        description="Who takes each step: letters (ABBA) or run-length form (A1B2A1).",
    ),
]
SeedQuery = Annotated[
    int | None,
    Query(ge=0, le=MAX_SEED, description="Random choices after the schedule runs out."),
]

async def explore(scenario: Scenario, mode: Mode, n: int, *, runner: JobRunner) -> Exploration:
    """The explorer, off the event loop and out of the server's process, on the app's bounded
    runner for explorations (each worker keeps the core's cache of results)."""
    job = partial(explore_exactly, Scenario(scenario), Mode(mode), n)
    return await runner.run(job, timeout=EXPLORE_TIMEOUT_S)
