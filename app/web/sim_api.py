"""JSON API of the simulator and the explorer (`/api/sim`, `/api/explore`)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from app.lab.jobs import JobRunner
from app.sim import (
    MAX_INTERVAL,
    MAX_N_EXPLORE,
    MAX_N_SIMULATE,
    Config,
    Exploration,
    Mode,
    Run,
    Scenario,
    explore,
    simulate,
)
from app.sim.permalink import DEFAULT_N, MAX_SEED

router = APIRouter(prefix="/api", tags=["simulator"])

# Explorations cost up to a few seconds of CPU: run them off the event loop, a few at a time.
_explorations = JobRunner(workers=2, queue=16)
EXPLORE_TIMEOUT_S = 30.0

ThreadName = Literal["A", "B"]


class Registers(BaseModel):
    A: int | None
    B: int | None


class StepModel(BaseModel):
    index: int = Field(description="1-based; the permalink's step=index shows the state after it")
    thread: ThreadName
    op: str = Field(description="the micro-step: read, add, write, check, test, free, lock, ...")
    line: int = Field(description="1-based line of the thread's C function that the step executes")
    rc: int = Field(description="the reference count right after the step")
    reg: Registers
    lock: ThreadName | None = Field(description="the thread holding the mutex, if any")
    gil: ThreadName | None = Field(description="the thread holding the GIL (mode gil)")
    freed: bool
    events: list[str] = Field(
        description="lost-update, use-after-free, double-free, failed-check, freed"
    )


class OutcomeModel(BaseModel):
    final_rc: int
    freed: bool
    use_after_free: int
    double_free: int
    lost_updates: int
    correct: bool


class SimResponse(BaseModel):
    scenario: Scenario
    mode: Mode
    n: int
    interval: int | None = Field(description="switch interval in steps (mode gil only)")
    schedule: str = Field(description="the whole run's schedule, canonical run-length form")
    steps: list[StepModel]
    outcome: OutcomeModel

    @classmethod
    def of(cls, run: Run) -> SimResponse:
        config = run.config
        return cls(
            scenario=config.scenario,
            mode=config.mode,
            n=config.n,
            interval=config.interval,
            schedule=run.schedule,
            steps=[
                StepModel(
                    index=step.index,
                    thread=step.thread.value,
                    op=step.op.value,
                    line=step.line,
                    rc=step.rc,
                    reg=Registers(A=step.reg_a, B=step.reg_b),
                    lock=step.lock.value if step.lock else None,
                    gil=step.gil.value if step.gil else None,
                    freed=step.freed,
                    events=[event.value for event in step.events],
                )
                for step in run.steps
            ],
            outcome=OutcomeModel(
                **{name: getattr(run.outcome, name) for name in OutcomeModel.model_fields}
            ),
        )


class ExploreOutcome(BaseModel):
    final_rc: int
    freed: bool
    use_after_free: bool = Field(description="some access touched freed memory")
    double_free: bool = Field(description="the object was freed twice")
    count: int = Field(description="exact number of complete schedules reaching this outcome")
    witness: str = Field(description="a canonical schedule that reaches it")
    correct: bool = Field(description="it is the scenario's correct outcome")


class ExploreResponse(BaseModel):
    scenario: Scenario
    mode: Mode
    n: int
    total: int = Field(description="exact number of complete schedules")
    states: int = Field(description="distinct merged states the explorer visited")
    outcomes: list[ExploreOutcome]

    @classmethod
    def of(cls, exploration: Exploration) -> ExploreResponse:
        config = exploration.config
        return cls(
            scenario=config.scenario,
            mode=config.mode,
            n=config.n,
            total=exploration.total,
            states=exploration.states,
            outcomes=[
                ExploreOutcome(
                    final_rc=o.final_rc,
                    freed=o.freed,
                    use_after_free=o.use_after_free,
                    double_free=o.double_free,
                    count=o.count,
                    witness=o.witness,
                    correct=o.correct,
                )
                for o in exploration.outcomes
            ],
        )


ScenarioQuery = Annotated[Scenario, Query(description="which functions the threads call")]
ModeQuery = Annotated[Mode, Query(description="how the reference count is protected")]


@router.get("/sim", summary="Simulate one interleaving step by step")
def api_sim(
    scenario: ScenarioQuery = Scenario.INC_INC,
    mode: ModeQuery = Mode.NONE,
    n: Annotated[int, Query(ge=1, le=MAX_N_SIMULATE, description="calls per thread")] = DEFAULT_N,
    schedule: Annotated[
        str | None,
        Query(
            max_length=4000,
            description="who takes each step: letters (ABBA) or run-length form (A1B2A1)",
        ),
    ] = None,
    seed: Annotated[
        int | None, Query(ge=0, le=MAX_SEED, description="chooses the steps after the schedule")
    ] = None,
    interval: Annotated[
        int | None, Query(ge=1, le=MAX_INTERVAL, description="GIL switch interval in steps")
    ] = None,
) -> SimResponse:
    config = Config(scenario=scenario, mode=mode, n=n, interval=interval)
    return SimResponse.of(simulate(config, schedule, seed))


@router.get("/explore", summary="Count every interleaving exactly, grouped by outcome")
async def api_explore(
    scenario: ScenarioQuery = Scenario.INC_INC,
    mode: ModeQuery = Mode.NONE,
    n: Annotated[int, Query(ge=1, le=MAX_N_EXPLORE, description="calls per thread")] = DEFAULT_N,
) -> ExploreResponse:
    exploration = await _explorations.run(
        lambda: explore(scenario, mode, n), timeout=EXPLORE_TIMEOUT_S
    )
    return ExploreResponse.of(exploration)
